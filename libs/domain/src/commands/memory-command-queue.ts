import { GlobalPosition } from '../event-store/event-store.port';
import {
  checkCommandLimit,
  checkLeaseRequest,
  commandChangesApplied,
  commandCountsOf,
  commandPageOf,
  commandRecordOf,
  CommandRow,
  commandRowKey,
  compareCommandDispatch,
  holdsLease,
  isLeasable,
  leasedRowOf,
  parseCommandCursor,
  releasedRowOf,
} from './command-queue-support';
import { CommandQueue } from './command-queue.port';

/**
 * A {@link CommandQueue} held in process memory, for tests and the in-memory profile: nothing
 * outlives the queue object. It behaves as the durable queues do (the contract suite
 * `describeCommandQueueContract` of @esflow/testing runs against all of them), through the same
 * shared rules (`command-queue-support`): it keeps each command as the row the SQL queues store;
 * `lease` and `release` finish before any other call starts, so two callers never lease one
 * command; `apply` checks every change before it changes anything, so a change it rejects (a time
 * that is not an ISO-8601 instant with its zone, an unknown status) leaves the queue and its
 * checkpoint as they were. Dispatch order is by instant, then revision, then command id in
 * code-point order, which is the UTF-8 byte order the SQL queues use. `list` takes a `limit` of 1
 * or more; an `after` that is not a `next` of a command queue is rejected as MALFORMED_REQUEST.
 */
export function createMemoryCommandQueue(): CommandQueue {
  const rows = new Map<string, CommandRow>();
  let checkpoint: GlobalPosition | undefined;

  const sortedWhere = (keep: (row: CommandRow) => boolean): CommandRow[] =>
    [...rows.values()]
      .filter(keep)
      .sort((a, b) => compareCommandDispatch(commandRowKey(a), commandRowKey(b)));

  return {
    async apply(changes, position) {
      for (const row of commandChangesApplied(changes, (id) => rows.get(id)))
        rows.set(row.command_id, row);
      checkpoint = { commit: position.commit, prepare: position.prepare };
    },

    async checkpoint() {
      return checkpoint;
    },

    async lease(request) {
      const lease = checkLeaseRequest(request);
      const taken = sortedWhere((row) => isLeasable(row, lease))
        .slice(0, lease.max)
        .map((row) => leasedRowOf(row, lease));
      for (const row of taken) rows.set(row.command_id, row);
      return taken.map(commandRecordOf);
    },

    async release(commandId, owner, availableAt, error) {
      const released = releasedRowOf(rows.get(commandId), owner, availableAt, error);
      if (released) rows.set(commandId, released);
      return released !== undefined;
    },

    async holds(commandId, owner, now) {
      return holdsLease(rows.get(commandId), owner, now);
    },

    async get(commandId) {
      const row = rows.get(commandId);
      return row && commandRecordOf(row);
    },

    async list(query) {
      checkCommandLimit(query.limit, 1);
      const after = query.after === undefined ? undefined : parseCommandCursor(query.after);
      const matching = sortedWhere(
        (row) =>
          (query.status === undefined || row.status === query.status) &&
          (query.commandType === undefined || row.command_type === query.commandType) &&
          (query.workflow === undefined || row.workflow === query.workflow) &&
          (query.instanceId === undefined || row.instance_id === query.instanceId) &&
          (query.incidentId === undefined || row.incident_id === query.incidentId) &&
          (after === undefined || compareCommandDispatch(commandRowKey(row), after) > 0),
      );
      return commandPageOf(matching, query.limit);
    },

    async counts() {
      return commandCountsOf(Array.from(rows.values(), ({ status }) => ({ status, count: 1 })));
    },

    async clear() {
      rows.clear();
      checkpoint = undefined;
    },
  };
}
