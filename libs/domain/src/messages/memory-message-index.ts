import { GlobalPosition } from '../event-store/event-store.port';
import {
  checkMessageLimit,
  messageChangesApplied,
  messageCountsOf,
  messageInstantMs,
  messagePageOf,
  messageRecordOf,
  parseMessageCursor,
  StoredMessageKeyRow,
  StoredMessageRow,
} from './message-index-support';
import { MessageIndex, MessageStatus } from './message-index.port';

/**
 * A {@link MessageIndex} held in process memory, for tests and the in-memory profile: nothing
 * outlives the index object. It behaves as the durable indexes do (the contract suite
 * `describeMessageIndexContract` of @esflow/testing runs against all of them), through the same
 * shared rules (`message-index-support`): it keeps each message as the row the SQL indexes store,
 * with an arrival sequence assigned when it is first recorded, and each instance key with the
 * sequence of when it was learnt; `apply` checks every change before it changes anything, so a
 * change it rejects (an instant that is not ISO-8601 with its zone, an unknown status) leaves the
 * index and its checkpoint as they were. `list` takes a `limit` of 1 or more, the other reads of
 * 0 or more; an `after` that is not a `next` of a message index is rejected as MALFORMED_REQUEST.
 */
export function createMemoryMessageIndex(): MessageIndex {
  const messages = new Map<string, StoredMessageRow>();
  /** Workflow → instance id → its key rows. */
  const keys = new Map<string, Map<string, StoredMessageKeyRow[]>>();
  let checkpoint: GlobalPosition | undefined;
  let lastSeq = 0;

  const keysOf = (workflow: string, instanceId: string): readonly StoredMessageKeyRow[] =>
    keys.get(workflow)?.get(instanceId) ?? [];

  const setKeysOf = (workflow: string, instanceId: string, rows: StoredMessageKeyRow[]) => {
    let instances = keys.get(workflow);
    if (!instances) keys.set(workflow, (instances = new Map()));
    if (rows.length > 0) instances.set(instanceId, rows);
    else instances.delete(instanceId);
  };

  /** Messages in arrival order that `keep` selects. */
  const arrivedWhere = (keep: (row: StoredMessageRow) => boolean): StoredMessageRow[] =>
    [...messages.values()].filter(keep).sort((a, b) => a.seq - b.seq);

  const isBuffered = (row: StoredMessageRow) => row.status === MessageStatus.Buffered;

  /** The least of `pick` over the buffered messages, as a Date. */
  const earliestBuffered = (pick: (row: StoredMessageRow) => number | null) => {
    let earliest: number | undefined;
    for (const row of messages.values()) {
      const ms = isBuffered(row) ? pick(row) : null;
      if (ms !== null && (earliest === undefined || ms < earliest)) earliest = ms;
    }
    return earliest === undefined ? undefined : new Date(earliest);
  };

  return {
    async apply(changes, position) {
      // messageChangesApplied checks the whole batch before anything is changed here.
      const writes = messageChangesApplied(
        changes,
        (id) => messages.get(id),
        (workflow, instanceId) => keysOf(workflow, instanceId),
      );
      for (const row of writes.messages)
        messages.set(row.message_id, {
          ...row,
          seq: messages.get(row.message_id)?.seq ?? ++lastSeq,
        });
      for (const removed of writes.removedKeys)
        setKeysOf(
          removed.workflow,
          removed.instance_id,
          keysOf(removed.workflow, removed.instance_id).filter(
            (row) => row.key_name !== removed.key_name,
          ),
        );
      for (const added of writes.addedKeys)
        setKeysOf(added.workflow, added.instance_id, [
          ...keysOf(added.workflow, added.instance_id),
          { ...added, seq: ++lastSeq },
        ]);
      checkpoint = { commit: position.commit, prepare: position.prepare };
    },

    async checkpoint() {
      return checkpoint;
    },

    async get(messageId) {
      const row = messages.get(messageId);
      return row && messageRecordOf(row);
    },

    async list(query) {
      checkMessageLimit(query.limit, 1);
      const after = query.after === undefined ? undefined : parseMessageCursor(query.after);
      const matching = arrivedWhere(
        (row) =>
          (query.status === undefined || row.status === query.status) &&
          (query.name === undefined || row.name === query.name) &&
          (query.correlationKey === undefined || row.correlation_key === query.correlationKey) &&
          (query.workflow === undefined || row.workflow === query.workflow) &&
          (query.instanceId === undefined || row.instance_id === query.instanceId) &&
          (after === undefined || row.seq > after),
      );
      return messagePageOf(matching, query.limit);
    },

    async instancesByKey(workflow, keyName, value, limit) {
      checkMessageLimit(limit, 0);
      const found: StoredMessageKeyRow[] = [];
      for (const rows of keys.get(workflow)?.values() ?? [])
        for (const row of rows)
          if (row.key_name === keyName && row.key_value === value) found.push(row);
      return found
        .sort((a, b) => a.seq - b.seq)
        .slice(0, limit)
        .map((row) => row.instance_id);
    },

    async bufferedFor(workflow, instanceId, limit) {
      checkMessageLimit(limit, 0);
      const declared = new Map(keysOf(workflow, instanceId).map((row) => [row.key_name, row]));
      return arrivedWhere(
        (row) =>
          isBuffered(row) &&
          row.workflow === workflow &&
          declared.get(row.key_name)?.key_value === row.correlation_key,
      )
        .slice(0, limit)
        .map(messageRecordOf);
    },

    async expired(now, limit) {
      checkMessageLimit(limit, 0);
      const nowMs = messageInstantMs(now, 'now');
      return arrivedWhere(
        (row) => isBuffered(row) && row.expires_at_ms !== null && row.expires_at_ms <= nowMs,
      )
        .slice(0, limit)
        .map(messageRecordOf);
    },

    async nextExpiry() {
      return earliestBuffered((row) => row.expires_at_ms);
    },

    async counts() {
      return messageCountsOf(Array.from(messages.values(), ({ status }) => ({ status, count: 1 })));
    },

    async oldestBuffered() {
      return earliestBuffered((row) => row.received_at_ms);
    },

    async clear() {
      messages.clear();
      keys.clear();
      checkpoint = undefined;
    },
  };
}
