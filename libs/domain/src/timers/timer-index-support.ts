import { ErrorCode, EsflowError } from '../errors/esflow-error';
import {
  TIMER_STATUSES,
  TimerChange,
  TimerPage,
  TimerRecord,
  TimerStatus,
} from './timer-index.port';

// What every timer index adapter checks and encodes the same way, so that the memory, SQLite and
// PostgreSQL indexes cannot drift apart: the checks of what `apply`, `due` and `list` are given
// (with the same errors and messages), the `next`/`after` page cursor, and the mapping between a
// TimerRecord and the snake_case columns of the SQL indexes' `esflow_timers` table. Pure
// functions: no I/O, no clock.

/**
 * Where a timer sorts in every timer index: by due instant (epoch ms), then by timer id. Also
 * what a page cursor names: the last timer of a page.
 */
export interface TimerDueKey {
  /** The timer's `dueAt` as epoch milliseconds. */
  readonly dueMs: number;
  readonly timerId: string;
}

/** An ISO-8601 date-time with its zone (`Z` or `±hh:mm`): without one it would read as local time. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The due instant of `timer` as epoch ms. Guarantees that `timer.dueAt` is an ISO-8601 date-time
 * with its zone (`Z` or `±hh:mm`) that names a real instant; throws an INTERNAL
 * {@link EsflowError} naming the timer otherwise (a date without a zone would read as local time).
 */
export function timerDueMs(timer: Pick<TimerRecord, 'timerId' | 'dueAt'>): number {
  const dueMs = ISO_INSTANT.test(timer.dueAt) ? Date.parse(timer.dueAt) : NaN;
  if (Number.isNaN(dueMs))
    throw new EsflowError(
      ErrorCode.Internal,
      `timer index: timer ${timer.timerId} is due at ${JSON.stringify(timer.dueAt)}, not an ISO-8601 instant`,
    );
  return dueMs;
}

/**
 * Guarantees that `status` is one of {@link TIMER_STATUSES} (what the SQL indexes' CHECK
 * constraint allows); throws an INTERNAL {@link EsflowError} naming timer `timerId` otherwise.
 */
export function checkTimerStatus(timerId: string, status: string): void {
  if (!(TIMER_STATUSES as readonly string[]).includes(status))
    throw new EsflowError(
      ErrorCode.Internal,
      `timer index: timer ${timerId} has status ${JSON.stringify(status)}, not one of ${TIMER_STATUSES.join(', ')}`,
    );
}

/**
 * Guarantees that `limit` is a safe integer of at least `least` (0 for `due`, 1 for `list`);
 * throws an INTERNAL {@link EsflowError} otherwise.
 */
export function checkTimerLimit(limit: number, least: number): void {
  if (!Number.isSafeInteger(limit) || limit < least)
    throw new EsflowError(
      ErrorCode.Internal,
      `timer index: limit ${limit} is not a whole number of at least ${least}`,
    );
}

/**
 * `date` as epoch ms. Guarantees a valid Date; throws an INTERNAL {@link EsflowError} that names
 * the argument (`what`, e.g. `at` or `dueBefore`) for an invalid one.
 */
export function timerInstantMs(date: Date, what: string): number {
  const ms = date.getTime();
  if (Number.isNaN(ms))
    throw new EsflowError(ErrorCode.Internal, `timer index: ${what} is an invalid Date`);
  return ms;
}

/**
 * The page cursor every timer index gives as `next`: `dueMs/timerId`. The same key gives the same
 * text in every adapter, and {@link parseTimerCursor} reads it back exactly.
 */
export function formatTimerCursor(key: TimerDueKey): string {
  return `${key.dueMs}/${key.timerId}`;
}

/**
 * Reads an `after` given to `list`: the key of the last timer of the previous page. Accepts any
 * text {@link formatTimerCursor} gives (a timer id may hold `/` and any character); throws a
 * MALFORMED_REQUEST {@link EsflowError} for any text that is not of that form.
 */
export function parseTimerCursor(text: string): TimerDueKey {
  const match = /^(-?\d{1,16})\/([\s\S]*)$/.exec(text);
  if (!match)
    throw new EsflowError(
      ErrorCode.MalformedRequest,
      `timer index: ${JSON.stringify(text)} is not the next of a page of timers`,
    );
  return { dueMs: Number(match[1]), timerId: match[2]! };
}

/**
 * A page of `list` from the timers that match its query, in due order, starting after its cursor
 * (at least `limit + 1` of them when there are that many, so that it can tell whether a next page
 * exists). Guarantees at most `limit` timers, the first `limit` of `candidates` in their order,
 * and a `next` (the cursor of the page's last timer) exactly when more candidates follow.
 */
export function timerPageOf<T>(
  candidates: readonly T[],
  limit: number,
  recordOf: (candidate: T) => TimerRecord,
  keyOf: (candidate: T) => TimerDueKey,
): TimerPage {
  const page = candidates.slice(0, limit);
  const last = page[page.length - 1];
  const timers = page.map(recordOf);
  return candidates.length > page.length && last !== undefined
    ? { timers, next: formatTimerCursor(keyOf(last)) }
    : { timers };
}

/**
 * What `counts` returns, from (status, count) pairs such as a `GROUP BY status` gives: every
 * status of {@link TIMER_STATUSES} is present, 0 unless counted; the counts of a status given
 * more than once are added up.
 */
export function timerCountsOf(
  rows: Iterable<{ readonly status: TimerStatus; readonly count: number }>,
): Record<TimerStatus, number> {
  const counts = Object.fromEntries(TIMER_STATUSES.map((status) => [status, 0])) as Record<
    TimerStatus,
    number
  >;
  for (const { status, count } of rows) counts[status] = (counts[status] ?? 0) + count;
  return counts;
}

/**
 * `timer` as a `settled` change leaves it: its status, settlement time and revision, lateness and
 * `settledBy` taken from `change`, every other field as it was. A fresh object; it neither checks
 * nor requires that `timer` is pending (the index decides whether a change applies).
 */
export function settledTimerOf(
  timer: TimerRecord,
  change: Extract<TimerChange, { kind: 'settled' }>,
): TimerRecord {
  return {
    ...timer,
    status: change.status,
    settledAt: change.settledAt,
    settledRevision: change.settledRevision,
    latenessMs: change.latenessMs,
    settledBy: change.settledBy,
  };
}

/**
 * A row of the SQL indexes' `esflow_timers` table: a {@link TimerRecord} in snake_case columns,
 * with `settledBy` spread over three nullable columns and the due instant kept twice, as written
 * (`due_at`, read back exactly) and as epoch ms (`due_at_ms`, ordered exactly). `DueMs` is how the
 * driver reads `due_at_ms` back: a number, or text for a BIGINT read by `pg`.
 */
export interface TimerRow<DueMs extends number | string = number> {
  readonly timer_id: string;
  readonly workflow: string;
  readonly instance_id: string;
  readonly event_type: string;
  readonly due_at: string;
  readonly due_at_ms: DueMs;
  readonly scheduled_at: string;
  readonly scheduled_revision: number;
  readonly status: TimerStatus;
  readonly settled_at: string | null;
  readonly settled_revision: number | null;
  readonly lateness_ms: number | null;
  readonly settled_by_event_id: string | null;
  readonly settled_by_event_type: string | null;
  readonly settled_by_revision: number | null;
}

/** The columns a `settled` change writes, with the id of the timer it settles. */
export type TimerSettleRow = Pick<
  TimerRow,
  | 'timer_id'
  | 'status'
  | 'settled_at'
  | 'settled_revision'
  | 'lateness_ms'
  | 'settled_by_event_id'
  | 'settled_by_event_type'
  | 'settled_by_revision'
>;

/**
 * The row that stores `timer`. Checks it as the table's constraints would, status first, then
 * due time: throws an INTERNAL {@link EsflowError} for a status not in {@link TIMER_STATUSES} or a
 * `dueAt` that is not an ISO-8601 instant with its zone (see {@link timerDueMs}). Guarantees
 * `timerRecordOf(timerColumnsOf(timer))` equals `timer` field by field.
 */
export function timerColumnsOf(timer: TimerRecord): TimerRow {
  checkTimerStatus(timer.timerId, timer.status);
  return {
    timer_id: timer.timerId,
    workflow: timer.workflow,
    instance_id: timer.instanceId,
    event_type: timer.eventType,
    due_at: timer.dueAt,
    due_at_ms: timerDueMs(timer),
    scheduled_at: timer.scheduledAt,
    scheduled_revision: timer.scheduledRevision,
    status: timer.status,
    ...settlementColumnsOf(timer),
  };
}

/**
 * The columns a `settled` change writes to its timer's row. Checks its status (an INTERNAL
 * {@link EsflowError} for one not in {@link TIMER_STATUSES}) whether or not the change would
 * touch a row, so a bad change is rejected the same way in every index.
 */
export function settledTimerColumnsOf(
  change: Extract<TimerChange, { kind: 'settled' }>,
): TimerSettleRow {
  checkTimerStatus(change.timerId, change.status);
  return {
    timer_id: change.timerId,
    status: change.status,
    ...settlementColumnsOf(change),
  };
}

/** How a timer was settled, in columns: what a record and a `settled` change both carry. */
function settlementColumnsOf(
  settlement: Pick<TimerRecord, 'settledAt' | 'settledRevision' | 'latenessMs' | 'settledBy'>,
): Omit<TimerSettleRow, 'timer_id' | 'status'> {
  const { settledBy } = settlement;
  return {
    settled_at: settlement.settledAt,
    settled_revision: settlement.settledRevision,
    lateness_ms: settlement.latenessMs,
    settled_by_event_id: settledBy?.eventId ?? null,
    settled_by_event_type: settledBy?.eventType ?? null,
    settled_by_revision: settledBy?.revision ?? null,
  };
}

/**
 * The {@link TimerRecord} a row stores, as it was written (`dueAt` from `due_at`, not from the
 * epoch ms); `settledBy` is null exactly when `settled_by_event_id` is. A fresh, unfrozen object.
 */
export function timerRecordOf(row: TimerRow<number | string>): TimerRecord {
  return {
    timerId: row.timer_id,
    workflow: row.workflow,
    instanceId: row.instance_id,
    eventType: row.event_type,
    dueAt: row.due_at,
    scheduledAt: row.scheduled_at,
    scheduledRevision: row.scheduled_revision,
    status: row.status,
    settledAt: row.settled_at,
    settledRevision: row.settled_revision,
    latenessMs: row.lateness_ms,
    settledBy:
      row.settled_by_event_id === null
        ? null
        : {
            eventId: row.settled_by_event_id,
            eventType: row.settled_by_event_type!,
            revision: row.settled_by_revision!,
          },
  };
}

/** Where a row sorts (see {@link TimerDueKey}); `due_at_ms` read back as text is made a number. */
export function timerRowKey(row: TimerRow<number | string>): TimerDueKey {
  return { dueMs: Number(row.due_at_ms), timerId: row.timer_id };
}
