import { GlobalPosition } from '../event-store/event-store.port';
import {
  checkTimerLimit,
  checkTimerStatus,
  parseTimerCursor,
  settledTimerOf,
  TimerDueKey,
  timerCountsOf,
  timerDueMs,
  timerInstantMs,
  timerPageOf,
} from './timer-index-support';
import { TimerChange, TimerIndex, TimerRecord, TimerStatus } from './timer-index.port';

interface IndexedTimer extends TimerDueKey {
  readonly record: TimerRecord;
}

/**
 * A {@link TimerIndex} held in process memory, for tests and the in-memory profile: nothing
 * outlives the index object. It behaves as the durable indexes do (the contract suite
 * `describeTimerIndexContract` of @esflow/testing runs against all of them): due times are
 * ordered as instants, not as text; ties go by timer id in code-point order, which is the UTF-8
 * byte order the SQL indexes use; `apply` checks every change before it changes anything, so a
 * change it rejects (a `dueAt` that is not an ISO-8601 instant with its zone, an unknown status)
 * leaves the index and its checkpoint as they were. `due` takes a `limit` of 0 or more, `list` of
 * 1 or more; an `after` that is not a `next` of this index is rejected as MALFORMED_REQUEST.
 */
export function createMemoryTimerIndex(): TimerIndex {
  const timers = new Map<string, IndexedTimer>();
  let checkpoint: GlobalPosition | undefined;

  const sortedWhere = (keep: (timer: IndexedTimer) => boolean): IndexedTimer[] =>
    [...timers.values()].filter(keep).sort(compareDue);

  const settle = (change: Extract<TimerChange, { kind: 'settled' }>) => {
    const current = timers.get(change.timerId);
    if (current?.record.status !== TimerStatus.Pending) return;
    const record = frozenRecord(settledTimerOf(current.record, change));
    timers.set(change.timerId, { ...current, record });
  };

  return {
    async apply(changes, position) {
      // Every change is checked before the first is applied: a rejected batch changes nothing.
      const dueTimes = changes.map(checkChange);
      changes.forEach((change, i) => {
        if (change.kind === 'settled') settle(change);
        else if (!timers.has(change.timer.timerId))
          timers.set(change.timer.timerId, {
            dueMs: dueTimes[i]!,
            timerId: change.timer.timerId,
            record: frozenRecord(change.timer),
          });
      });
      checkpoint = { commit: position.commit, prepare: position.prepare };
    },

    async checkpoint() {
      return checkpoint;
    },

    async due(at, limit) {
      checkTimerLimit(limit, 0);
      const atMs = timerInstantMs(at, 'at');
      return sortedWhere((t) => t.record.status === TimerStatus.Pending && t.dueMs <= atMs)
        .slice(0, limit)
        .map((t) => t.record);
    },

    async nextDueAt() {
      let earliest: number | undefined;
      for (const { record, dueMs } of timers.values())
        if (record.status === TimerStatus.Pending && (earliest === undefined || dueMs < earliest))
          earliest = dueMs;
      return earliest === undefined ? undefined : new Date(earliest);
    },

    async get(timerId) {
      return timers.get(timerId)?.record;
    },

    async list(query) {
      checkTimerLimit(query.limit, 1);
      const dueBeforeMs = query.dueBefore && timerInstantMs(query.dueBefore, 'dueBefore');
      const after = query.after === undefined ? undefined : parseTimerCursor(query.after);
      const matching = sortedWhere(
        (t) =>
          (query.status === undefined || t.record.status === query.status) &&
          (dueBeforeMs === undefined || t.dueMs < dueBeforeMs) &&
          (query.workflow === undefined || t.record.workflow === query.workflow) &&
          (query.instanceId === undefined || t.record.instanceId === query.instanceId) &&
          (after === undefined || compareDue(t, after) > 0),
      );
      return timerPageOf(
        matching,
        query.limit,
        (t) => t.record,
        (t) => t,
      );
    },

    async counts() {
      return timerCountsOf(
        Array.from(timers.values(), ({ record }) => ({ status: record.status, count: 1 })),
      );
    },

    async clear() {
      timers.clear();
      checkpoint = undefined;
    },
  };
}

/** Checks a change the way the SQL indexes' constraints would; returns a timer's due instant. */
function checkChange(change: TimerChange): number | undefined {
  if (change.kind === 'settled') {
    checkTimerStatus(change.timerId, change.status);
    return undefined;
  }
  checkTimerStatus(change.timer.timerId, change.timer.status);
  return timerDueMs(change.timer);
}

/** Only the fields of a {@link TimerRecord}, frozen: records are handed out as they are stored. */
function frozenRecord(timer: TimerRecord): TimerRecord {
  return Object.freeze({
    timerId: timer.timerId,
    workflow: timer.workflow,
    instanceId: timer.instanceId,
    eventType: timer.eventType,
    dueAt: timer.dueAt,
    scheduledAt: timer.scheduledAt,
    scheduledRevision: timer.scheduledRevision,
    status: timer.status,
    settledAt: timer.settledAt,
    settledRevision: timer.settledRevision,
    latenessMs: timer.latenessMs,
    settledBy: timer.settledBy && Object.freeze({ ...timer.settledBy }),
  });
}

function compareDue(a: TimerDueKey, b: TimerDueKey): number {
  if (a.dueMs !== b.dueMs) return a.dueMs - b.dueMs;
  return compareCodePoints(a.timerId, b.timerId);
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
