import { ErrorCode, EsflowError } from '../errors/esflow-error';
import {
  COMMAND_STATUSES,
  CommandChange,
  CommandPage,
  CommandStatus,
  LeaseRequest,
  QueuedCommand,
} from './command-queue.port';

// What every command queue adapter decides and encodes the same way, so that the memory, SQLite
// and PostgreSQL queues cannot drift apart: what each change, lease and release does to a command
// (the adapters only find, lock and store the rows), the checks of what they are given (with the
// same errors and messages), the dispatch order and its `next`/`after` page cursor, and the
// mapping between a QueuedCommand and the snake_case columns of the `esflow_commands` table the
// memory queue keeps in a Map and the SQL queues in their databases. Pure functions: no I/O, no
// clock.

/**
 * Where a command sorts in every command queue (its dispatch order): by dispatch instant (epoch
 * ms), then by the revision it was dispatched at, then by command id in code-point order (UTF-8
 * byte order). Also what a page cursor names: the last command of a page.
 */
export interface CommandDispatchKey {
  /** The command's `dispatchedAt` as epoch milliseconds. */
  readonly dispatchedMs: number;
  readonly dispatchedRevision: number;
  readonly commandId: string;
}

/**
 * A row of the `esflow_commands` table: a {@link QueuedCommand} in snake_case columns, with two
 * instants kept as epoch ms beside the text read back: `dispatched_at_ms` (ordered exactly) and
 * `ready_at_ms`, when `lease` may take the command (its `availableAt` while pending, its
 * `leaseUntil` while leased, null otherwise). `Ms` is how the driver reads those back: a number,
 * or text for a BIGINT read by `pg`.
 */
export interface CommandRow<Ms extends number | string = number> {
  readonly command_id: string;
  readonly command_type: string;
  readonly workflow: string;
  readonly instance_id: string;
  readonly payload_json: string;
  readonly dispatched_at: string;
  readonly dispatched_at_ms: Ms;
  readonly dispatched_revision: number;
  readonly status: CommandStatus;
  readonly attempts: number;
  readonly available_at: string;
  readonly lease_owner: string | null;
  readonly lease_until: string | null;
  readonly ready_at_ms: Ms | null;
  readonly last_error: string | null;
  readonly incident_id: string | null;
}

/** A {@link LeaseRequest} checked by {@link checkLeaseRequest}, with the lease it grants. */
export interface CheckedLease {
  readonly commandTypes: readonly string[];
  readonly owner: string;
  readonly max: number;
  /** `now` as epoch ms: a command is taken when its `ready_at_ms` is at or before it. */
  readonly nowMs: number;
  /** `now + leaseMs` as an ISO-8601 instant in UTC. */
  readonly leaseUntil: string;
}

/** An ISO-8601 date-time with its zone (`Z` or `±hh:mm`): without one it would read as local time. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const fault = (message: string) => new EsflowError(ErrorCode.Internal, `command queue: ${message}`);

/**
 * The instant `text` names, as epoch ms. Guarantees that `text` is an ISO-8601 date-time with its
 * zone that names a real instant; throws an INTERNAL {@link EsflowError} naming command
 * `commandId` and its field (`what`) otherwise.
 */
function isoInstantMs(text: string, commandId: string, what: string): number {
  const ms = typeof text === 'string' && ISO_INSTANT.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms))
    throw fault(
      `command ${commandId} has ${what} ${JSON.stringify(text)}, not an ISO-8601 instant`,
    );
  return ms;
}

/**
 * `date` as epoch ms. Guarantees a valid Date; throws an INTERNAL {@link EsflowError} that names
 * the argument (`what`, e.g. `now` or `availableAt`) for an invalid one.
 */
export function commandInstantMs(date: Date, what: string): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (Number.isNaN(ms)) throw fault(`${what} is an invalid Date`);
  return ms;
}

/**
 * Guarantees that `limit` is a safe integer of at least `least` (1 for `list`); throws an
 * INTERNAL {@link EsflowError} naming it (`what`) otherwise.
 */
export function checkCommandLimit(limit: number, least: number, what = 'limit'): void {
  if (!Number.isSafeInteger(limit) || limit < least)
    throw fault(`${what} ${limit} is not a whole number of at least ${least}`);
}

/**
 * Checks what `lease` is given: an owner that is not empty, a `leaseMs` of at least 1, a `max` of
 * 0 or more, a valid `now`; throws an INTERNAL {@link EsflowError} otherwise. Guarantees a lease
 * ending exactly `leaseMs` after `now`.
 */
export function checkLeaseRequest(request: LeaseRequest): CheckedLease {
  if (typeof request.owner !== 'string' || request.owner === '')
    throw fault('a lease needs an owner');
  checkCommandLimit(request.leaseMs, 1, 'leaseMs');
  checkCommandLimit(request.max, 0, 'max');
  const nowMs = commandInstantMs(request.now, 'now');
  const until = new Date(nowMs + request.leaseMs);
  commandInstantMs(until, 'now + leaseMs'); // beyond the year 275760 otherwise
  return {
    commandTypes: [...request.commandTypes],
    owner: request.owner,
    max: request.max,
    nowMs,
    leaseUntil: until.toISOString(),
  };
}

/**
 * The row that stores `command`. Checks it as the table's constraints would: throws an INTERNAL
 * {@link EsflowError} for a status not in {@link COMMAND_STATUSES}, a `dispatchedRevision` or
 * `attempts` that is not a whole number of at least 0, a `dispatchedAt`,
 * `availableAt` or `leaseUntil` that is not an ISO-8601 instant with its zone, or a `leased`
 * command without its owner and `leaseUntil`. Guarantees `commandRecordOf(commandColumnsOf(c))`
 * equals `c` field by field.
 */
export function commandColumnsOf(command: QueuedCommand): CommandRow {
  const id = command.commandId;
  if (!(COMMAND_STATUSES as readonly string[]).includes(command.status))
    throw fault(
      `command ${id} has status ${JSON.stringify(command.status)}, not one of ${COMMAND_STATUSES.join(', ')}`,
    );
  const dispatchedMs = isoInstantMs(command.dispatchedAt, id, 'dispatchedAt');
  const availableMs = isoInstantMs(command.availableAt, id, 'availableAt');
  const leaseUntilMs =
    command.leaseUntil === null ? null : isoInstantMs(command.leaseUntil, id, 'leaseUntil');
  for (const [what, count] of [
    ['dispatchedRevision', command.dispatchedRevision],
    ['attempts', command.attempts],
  ] as const)
    if (!Number.isSafeInteger(count) || count < 0)
      throw fault(`command ${id} has ${what} ${count}, not a whole number of at least 0`);
  if (
    command.status === CommandStatus.Leased &&
    (command.leaseOwner === null || leaseUntilMs === null)
  )
    throw fault(`command ${id} is leased without a lease owner and leaseUntil`);
  const readyMs =
    command.status === CommandStatus.Pending
      ? availableMs
      : command.status === CommandStatus.Leased
        ? leaseUntilMs
        : null;
  return {
    command_id: id,
    command_type: command.commandType,
    workflow: command.workflow,
    instance_id: command.instanceId,
    payload_json: command.payloadJson,
    dispatched_at: command.dispatchedAt,
    dispatched_at_ms: dispatchedMs,
    dispatched_revision: command.dispatchedRevision,
    status: command.status,
    attempts: command.attempts,
    available_at: command.availableAt,
    lease_owner: command.leaseOwner,
    lease_until: command.leaseUntil,
    ready_at_ms: readyMs,
    last_error: command.lastError,
    incident_id: command.incidentId,
  };
}

/** The {@link QueuedCommand} a row stores, as it was written. A fresh, unfrozen object. */
export function commandRecordOf(row: CommandRow<number | string>): QueuedCommand {
  return {
    commandId: row.command_id,
    commandType: row.command_type,
    workflow: row.workflow,
    instanceId: row.instance_id,
    payloadJson: row.payload_json,
    dispatchedAt: row.dispatched_at,
    dispatchedRevision: row.dispatched_revision,
    status: row.status,
    attempts: row.attempts,
    availableAt: row.available_at,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    lastError: row.last_error,
    incidentId: row.incident_id,
  };
}

/** Where a row sorts (see {@link CommandDispatchKey}); `dispatched_at_ms` read as text is made a number. */
export function commandRowKey(row: CommandRow<number | string>): CommandDispatchKey {
  return {
    dispatchedMs: Number(row.dispatched_at_ms),
    dispatchedRevision: row.dispatched_revision,
    commandId: row.command_id,
  };
}

/** Orders commands by dispatch (see {@link CommandDispatchKey}), as `Array.prototype.sort` expects. */
export function compareCommandDispatch(a: CommandDispatchKey, b: CommandDispatchKey): number {
  if (a.dispatchedMs !== b.dispatchedMs) return a.dispatchedMs - b.dispatchedMs;
  if (a.dispatchedRevision !== b.dispatchedRevision)
    return a.dispatchedRevision - b.dispatchedRevision;
  return compareCodePoints(a.commandId, b.commandId);
}

/**
 * Code-point order, which is UTF-8 byte order (SQLite's BINARY, PostgreSQL's "C" collation); plain
 * `<` compares UTF-16 units and puts U+10000 and above before U+E000–U+FFFF.
 */
function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++)
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.codePointAt(i)! - b.codePointAt(i)!;
  return a.length - b.length;
}

/**
 * What `apply` writes: the rows of the commands `changes` leave different, as the changes, applied
 * in order to what `current` gives (the stored row of a command id, or undefined), leave them; a
 * command changed several times appears once, in its final state. Every change is checked (a
 * `dispatched` command as {@link commandColumnsOf} does, the `availableAt` of `retried` as an
 * ISO-8601 instant, for an unknown command too) before this returns, so an adapter that writes
 * the result only after it returns writes all of a batch or, when this throws, none of it.
 * `current` is asked about each command id once, before any change to it.
 */
export function commandChangesApplied(
  changes: readonly CommandChange[],
  current: (commandId: string) => CommandRow<number | string> | undefined,
): CommandRow[] {
  const known = new Map<string, QueuedCommand | undefined>();
  const changed = new Map<string, CommandRow>();
  for (const change of changes) {
    const id = change.kind === 'dispatched' ? change.command.commandId : change.commandId;
    if (!known.has(id)) {
      const row = current(id);
      known.set(id, row && commandRecordOf(row));
    }
    const before = known.get(id);
    const after = changedCommand(before, change);
    if (after === before || after === undefined) continue;
    known.set(id, after);
    changed.set(id, commandColumnsOf(after));
  }
  return [...changed.values()];
}

/** What one change makes of a command: the same object when it leaves it as it is. */
function changedCommand(
  command: QueuedCommand | undefined,
  change: CommandChange,
): QueuedCommand | undefined {
  switch (change.kind) {
    case 'dispatched':
      commandColumnsOf(change.command); // checked even when the command is queued already
      return command ?? change.command;
    case 'completed':
    case 'resolved':
    case 'failed':
    case 'withdrawn': {
      const status = SETTLED_BY[change.kind];
      if (!command || command.status === status) return command;
      return {
        ...command,
        status,
        leaseOwner: null,
        leaseUntil: null,
        ...(change.kind === 'failed' ? { lastError: change.error } : {}),
      };
    }
    case 'incident':
      if (!command || isSettled(command)) return command;
      return {
        ...command,
        status: CommandStatus.Incident,
        incidentId: change.incidentId,
        lastError: change.error,
        leaseOwner: null,
        leaseUntil: null,
      };
    case 'retried':
      isoInstantMs(change.availableAt, change.commandId, 'availableAt');
      if (command?.status !== CommandStatus.Incident) return command;
      return {
        ...command,
        status: CommandStatus.Pending,
        availableAt: change.availableAt,
        attempts: 0,
      };
  }
}

/** The status each settling change leaves a command in. */
const SETTLED_BY = {
  completed: CommandStatus.Completed,
  resolved: CommandStatus.Resolved,
  failed: CommandStatus.Failed,
  withdrawn: CommandStatus.Withdrawn,
} as const;

const SETTLED: ReadonlySet<CommandStatus> = new Set(Object.values(SETTLED_BY));

const isSettled = (command: QueuedCommand) => SETTLED.has(command.status);

/**
 * Whether `lease` may take the command a row stores: one of its types, and pending and available,
 * or leased with an expired lease, at its `now`. The SQL queues select by the same condition.
 */
export function isLeasable(row: CommandRow<number | string>, lease: CheckedLease): boolean {
  return (
    (row.status === CommandStatus.Pending || row.status === CommandStatus.Leased) &&
    row.ready_at_ms !== null &&
    Number(row.ready_at_ms) <= lease.nowMs &&
    lease.commandTypes.includes(row.command_type)
  );
}

/** The row of a command `lease` takes (see {@link isLeasable}): leased to its owner, one attempt more. */
export function leasedRowOf(row: CommandRow<number | string>, lease: CheckedLease): CommandRow {
  return commandColumnsOf({
    ...commandRecordOf(row),
    status: CommandStatus.Leased,
    attempts: row.attempts + 1,
    leaseOwner: lease.owner,
    leaseUntil: lease.leaseUntil,
  });
}

/**
 * The row of a command `owner` gives back, pending again at `availableAt` with `error` as its last
 * error; undefined (nothing to write) unless it is leased by `owner`, expired or not. Throws an
 * INTERNAL {@link EsflowError} for an invalid `availableAt`, held by `owner` or not.
 */
export function releasedRowOf(
  row: CommandRow<number | string> | undefined,
  owner: string,
  availableAt: Date,
  error: string,
): CommandRow | undefined {
  commandInstantMs(availableAt, 'availableAt');
  if (row?.status !== CommandStatus.Leased || row.lease_owner !== owner) return undefined;
  return commandColumnsOf({
    ...commandRecordOf(row),
    status: CommandStatus.Pending,
    availableAt: availableAt.toISOString(),
    lastError: error,
    leaseOwner: null,
    leaseUntil: null,
  });
}

/**
 * Whether `owner` holds an unexpired lease on the command a row stores at `now`: it is leased to
 * `owner` until after `now`. Throws an INTERNAL {@link EsflowError} for an invalid `now`.
 */
export function holdsLease(
  row: CommandRow<number | string> | undefined,
  owner: string,
  now: Date,
): boolean {
  const nowMs = commandInstantMs(now, 'now');
  return (
    row?.status === CommandStatus.Leased &&
    row.lease_owner === owner &&
    row.ready_at_ms !== null &&
    Number(row.ready_at_ms) > nowMs
  );
}

/**
 * The page cursor every command queue gives as `next`: `dispatchedMs/dispatchedRevision/commandId`.
 * The same key gives the same text in every adapter, and {@link parseCommandCursor} reads it back
 * exactly.
 */
export function formatCommandCursor(key: CommandDispatchKey): string {
  return `${key.dispatchedMs}/${key.dispatchedRevision}/${key.commandId}`;
}

/**
 * Reads an `after` given to `list`: the key of the last command of the previous page. Accepts any
 * text {@link formatCommandCursor} gives (a command id may hold `/` and any character); throws a
 * MALFORMED_REQUEST {@link EsflowError} for any text that is not of that form.
 */
export function parseCommandCursor(text: string): CommandDispatchKey {
  const match = /^(-?\d{1,16})\/(-?\d{1,16})\/([\s\S]*)$/.exec(text);
  if (!match)
    throw new EsflowError(
      ErrorCode.MalformedRequest,
      `command queue: ${JSON.stringify(text)} is not the next of a page of commands`,
    );
  return {
    dispatchedMs: Number(match[1]),
    dispatchedRevision: Number(match[2]),
    commandId: match[3]!,
  };
}

/**
 * A page of `list` from the rows that match its query, in dispatch order, starting after its
 * cursor (at least `limit + 1` of them when there are that many, so that it can tell whether a
 * next page exists). Guarantees at most `limit` commands, the first `limit` rows in their order,
 * and a `next` (the cursor of the page's last command) exactly when more rows follow.
 */
export function commandPageOf(
  rows: readonly CommandRow<number | string>[],
  limit: number,
): CommandPage {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const commands = page.map(commandRecordOf);
  return rows.length > page.length && last !== undefined
    ? { commands, next: formatCommandCursor(commandRowKey(last)) }
    : { commands };
}

/**
 * What `counts` returns, from (status, count) pairs such as a `GROUP BY status` gives: every
 * status of {@link COMMAND_STATUSES} is present, 0 unless counted; the counts of a status given
 * more than once are added up.
 */
export function commandCountsOf(
  rows: Iterable<{ readonly status: CommandStatus; readonly count: number }>,
): Record<CommandStatus, number> {
  const counts = Object.fromEntries(COMMAND_STATUSES.map((status) => [status, 0])) as Record<
    CommandStatus,
    number
  >;
  for (const { status, count } of rows) counts[status] = (counts[status] ?? 0) + count;
  return counts;
}
