import { ErrorCode, EsflowError } from '../errors/esflow-error';
import {
  IndexedMessage,
  MESSAGE_STATUSES,
  MessageIndexChange,
  MessagePage,
  MessageStatus,
} from './message-index.port';

// What every message index adapter decides and encodes the same way, so that the memory, SQLite
// and PostgreSQL indexes cannot drift apart: what each change does to a message and to an
// instance's keys (the adapters only find and store the rows), the checks of what they are given
// (with the same errors and messages), the arrival-order `next`/`after` page cursor, and the
// mapping between an IndexedMessage and the snake_case columns of the `esflow_messages` and
// `esflow_message_keys` tables the memory index keeps in Maps and the SQL indexes in their
// databases. Pure functions: no I/O, no clock.

/**
 * A row of the `esflow_messages` table: an {@link IndexedMessage} in snake_case columns, with two
 * instants kept as epoch ms beside the text read back: `received_at_ms` (for `oldestBuffered`)
 * and `expires_at_ms` (for `expired` and `nextExpiry`; null exactly when `expires_at` is). What
 * is written; the store adds the arrival sequence (see {@link StoredMessageRow}). `Ms` is how the
 * driver reads the epoch ms back: a number, or text for a BIGINT read by `pg`.
 */
export interface MessageRow<Ms extends number | string = number> {
  readonly message_id: string;
  readonly name: string;
  readonly workflow: string;
  readonly key_name: string;
  readonly correlation_key: string;
  readonly status: MessageStatus;
  readonly reason: string | null;
  readonly detail: string | null;
  readonly instance_id: string | null;
  readonly revision: number | null;
  readonly source: string;
  readonly received_at: string;
  readonly received_at_ms: Ms;
  readonly expires_at: string | null;
  readonly expires_at_ms: Ms | null;
  readonly updated_at: string;
  readonly attempts: number;
}

/**
 * A {@link MessageRow} as the store reads it back, with `seq`: its place in arrival order, a whole
 * number the store assigns when the message is first inserted and never changes afterwards;
 * later arrivals have greater ones.
 */
export interface StoredMessageRow<Ms extends number | string = number> extends MessageRow<Ms> {
  readonly seq: Ms;
}

/**
 * A row of the `esflow_message_keys` table: one correlation key (`key_name` = `key_value`) that
 * instance `instance_id` of `workflow` declares; an instance has at most one row per key name.
 * What is written; the store adds the sequence (see {@link StoredMessageKeyRow}).
 */
export interface MessageKeyRow {
  readonly workflow: string;
  readonly instance_id: string;
  readonly key_name: string;
  readonly key_value: string;
}

/**
 * A {@link MessageKeyRow} as the store reads it back, with `seq`: the order the index learnt of
 * the key, assigned when the row is inserted (a key an instance declares again, with the same
 * value, keeps its row and its place).
 */
export interface StoredMessageKeyRow<Ms extends number | string = number> extends MessageKeyRow {
  readonly seq: Ms;
}

/** What `apply` writes, as {@link messageChangesApplied} decides it. */
export interface MessageIndexWrites {
  /**
   * The rows of the messages the changes leave different, each once, in its final state: the new
   * ones in the order they were first recorded (their arrival order: a store assigns their
   * sequence in this order), the ones already stored keeping their sequence.
   */
  readonly messages: readonly MessageRow[];
  /** Key rows to delete (as stored): the keys an instance no longer declares, or with another value. */
  readonly removedKeys: readonly MessageKeyRow[];
  /** Key rows to insert, after the removals, in the order they were declared. */
  readonly addedKeys: readonly MessageKeyRow[];
}

/** The messages and the instances a batch of changes touches, for a store to read them first. */
export interface MessageChangeTargets {
  readonly messageIds: readonly string[];
  readonly instances: readonly { readonly workflow: string; readonly instanceId: string }[];
}

/** An ISO-8601 date-time with its zone (`Z` or `±hh:mm`): without one it would read as local time. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const fault = (message: string) => new EsflowError(ErrorCode.Internal, `message index: ${message}`);

/**
 * The instant `text` names, as epoch ms. Guarantees that `text` is an ISO-8601 date-time with its
 * zone that names a real instant; throws an INTERNAL {@link EsflowError} naming message
 * `messageId` and its field (`what`) otherwise.
 */
function isoInstantMs(text: string, messageId: string, what: string): number {
  const ms = typeof text === 'string' && ISO_INSTANT.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms))
    throw fault(
      `message ${messageId} has ${what} ${JSON.stringify(text)}, not an ISO-8601 instant`,
    );
  return ms;
}

/** Guarantees a status of {@link MESSAGE_STATUSES}; throws an INTERNAL {@link EsflowError} otherwise. */
function checkStatus(status: string, messageId: string): void {
  if (!(MESSAGE_STATUSES as readonly string[]).includes(status))
    throw fault(
      `message ${messageId} has status ${JSON.stringify(status)}, not one of ${MESSAGE_STATUSES.join(', ')}`,
    );
}

/** Guarantees null or a whole number of at least 0; throws an INTERNAL {@link EsflowError} otherwise. */
function checkCount(count: number | null, messageId: string, what: string): void {
  if (count !== null && (!Number.isSafeInteger(count) || count < 0))
    throw fault(`message ${messageId} has ${what} ${count}, not a whole number of at least 0`);
}

/**
 * `date` as epoch ms. Guarantees a valid Date; throws an INTERNAL {@link EsflowError} that names
 * the argument (`what`, e.g. `now`) for an invalid one.
 */
export function messageInstantMs(date: Date, what: string): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (Number.isNaN(ms)) throw fault(`${what} is an invalid Date`);
  return ms;
}

/**
 * Guarantees that `limit` is a safe integer of at least `least` (1 for `list`, 0 for the other
 * reads); throws an INTERNAL {@link EsflowError} naming it (`what`) otherwise.
 */
export function checkMessageLimit(limit: number, least: number, what = 'limit'): void {
  if (!Number.isSafeInteger(limit) || limit < least)
    throw fault(`${what} ${limit} is not a whole number of at least ${least}`);
}

/**
 * The row that stores `message`. Checks it as the table's constraints would: throws an INTERNAL
 * {@link EsflowError} for a status not in {@link MESSAGE_STATUSES}, a `receivedAt`, `updatedAt`
 * or `expiresAt` that is not an ISO-8601 instant with its zone, or an `attempts` or `revision`
 * that is not a whole number of at least 0. A message that is not `buffered` has no expiry: its
 * `expiresAt` is stored as null whatever it was. Guarantees `messageRecordOf(messageColumnsOf(m))`
 * equals `m` field by field, but for that expiry.
 */
export function messageColumnsOf(message: IndexedMessage): MessageRow {
  const id = message.messageId;
  checkStatus(message.status, id);
  const receivedMs = isoInstantMs(message.receivedAt, id, 'receivedAt');
  isoInstantMs(message.updatedAt, id, 'updatedAt');
  const expiresMs =
    message.expiresAt === null ? null : isoInstantMs(message.expiresAt, id, 'expiresAt');
  checkCount(message.attempts, id, 'attempts');
  checkCount(message.revision, id, 'revision');
  const buffered = message.status === MessageStatus.Buffered;
  return {
    message_id: id,
    name: message.name,
    workflow: message.workflow,
    key_name: message.keyName,
    correlation_key: message.correlationKey,
    status: message.status,
    reason: message.reason,
    detail: message.detail,
    instance_id: message.instanceId,
    revision: message.revision,
    source: message.source,
    received_at: message.receivedAt,
    received_at_ms: receivedMs,
    expires_at: buffered ? message.expiresAt : null,
    expires_at_ms: buffered ? expiresMs : null,
    updated_at: message.updatedAt,
    attempts: message.attempts,
  };
}

/** The {@link IndexedMessage} a row stores, as it was written. A fresh, unfrozen object. */
export function messageRecordOf(row: MessageRow<number | string>): IndexedMessage {
  return {
    messageId: row.message_id,
    name: row.name,
    workflow: row.workflow,
    keyName: row.key_name,
    correlationKey: row.correlation_key,
    status: row.status,
    reason: row.reason,
    detail: row.detail,
    instanceId: row.instance_id,
    revision: row.revision,
    source: row.source,
    receivedAt: row.received_at,
    expiresAt: row.expires_at,
    updatedAt: row.updated_at,
    attempts: row.attempts,
  };
}

/** The message id a change is about; undefined for `instanceKeys`. */
function messageIdOf(change: MessageIndexChange): string | undefined {
  if (change.kind === 'recorded') return change.message.messageId;
  if (change.kind === 'outcome') return change.messageId;
  return undefined;
}

const instanceSlot = (workflow: string, instanceId: string) =>
  JSON.stringify([workflow, instanceId]);

/**
 * The messages and instances `changes` touch, each once, in the order they first appear: what a
 * store reads (and locks) before {@link messageChangesApplied} asks for them.
 */
export function messageChangeTargets(changes: readonly MessageIndexChange[]): MessageChangeTargets {
  const messageIds = new Set<string>();
  const instances = new Map<string, { workflow: string; instanceId: string }>();
  for (const change of changes) {
    const id = messageIdOf(change);
    if (id !== undefined) messageIds.add(id);
    else if (change.kind === 'instanceKeys')
      instances.set(instanceSlot(change.workflow, change.instanceId), {
        workflow: change.workflow,
        instanceId: change.instanceId,
      });
  }
  return { messageIds: [...messageIds], instances: [...instances.values()] };
}

/**
 * What `apply` writes: the message rows and key rows that `changes`, applied in order to what the
 * store holds, leave different (see {@link MessageIndexWrites}). `current` gives the stored row
 * of a message id (or undefined), `currentKeys` the stored key rows of an instance; each is asked
 * about each message id and instance once, before any change to it. The rules:
 * - `recorded` inserts the message if it is absent (the first record wins, even a different one);
 * - `outcome` is ignored for an unknown message and for a `discarded` one (discarding is final);
 *   otherwise it sets the status, reason, detail, instance, revision, expiry and `updatedAt` (its
 *   `at`), and adds one to `attempts` unless the new status is `discarded`;
 * - a message that is not `buffered` has a null expiry, whatever a change says;
 * - `instanceKeys` replaces the instance's keys (an empty record removes them); a key it declares
 *   again with the same value keeps its stored row, so the order the index learnt of it stays.
 *
 * Every change is checked (a `recorded` message as {@link messageColumnsOf} does, also when it is
 * indexed already; an `outcome`'s status, instants and revision, also for an unknown message; an
 * `instanceKeys`' values as text) before this returns, so an adapter that writes the result only
 * after it returns writes all of a batch or, when this throws an INTERNAL {@link EsflowError}, none.
 */
export function messageChangesApplied(
  changes: readonly MessageIndexChange[],
  current: (messageId: string) => MessageRow<number | string> | undefined,
  currentKeys: (workflow: string, instanceId: string) => readonly MessageKeyRow[],
): MessageIndexWrites {
  const known = new Map<string, IndexedMessage | undefined>();
  const changed = new Map<string, MessageRow>();
  const declared = new Map<string, Extract<MessageIndexChange, { kind: 'instanceKeys' }>>();
  for (const change of changes) {
    if (change.kind === 'instanceKeys') {
      checkInstanceKeys(change);
      declared.set(instanceSlot(change.workflow, change.instanceId), change);
      continue;
    }
    const id = change.kind === 'recorded' ? change.message.messageId : change.messageId;
    if (!known.has(id)) {
      const row = current(id);
      known.set(id, row && messageRecordOf(row));
    }
    const before = known.get(id);
    const after = changedMessage(before, change);
    if (after === before || after === undefined) continue;
    const row = messageColumnsOf(after);
    known.set(id, messageRecordOf(row));
    changed.set(id, row);
  }
  const removedKeys: MessageKeyRow[] = [];
  const addedKeys: MessageKeyRow[] = [];
  for (const { workflow, instanceId, keys } of declared.values()) {
    const stored = new Map(
      currentKeys(workflow, instanceId).map((row) => [row.key_name, row] as const),
    );
    const wanted = new Map(Object.entries(keys));
    for (const [name, row] of stored)
      if (wanted.get(name) !== row.key_value)
        removedKeys.push({
          workflow: row.workflow,
          instance_id: row.instance_id,
          key_name: row.key_name,
          key_value: row.key_value,
        });
    for (const [name, value] of wanted)
      if (stored.get(name)?.key_value !== value)
        addedKeys.push({ workflow, instance_id: instanceId, key_name: name, key_value: value });
  }
  return { messages: [...changed.values()], removedKeys, addedKeys };
}

/** What one change makes of a message: the same object when it leaves it as it is. */
function changedMessage(
  message: IndexedMessage | undefined,
  change: Exclude<MessageIndexChange, { kind: 'instanceKeys' }>,
): IndexedMessage | undefined {
  if (change.kind === 'recorded') {
    messageColumnsOf(change.message); // checked even when the message is indexed already
    return message ?? change.message;
  }
  const id = change.messageId;
  checkStatus(change.status, id);
  isoInstantMs(change.at, id, 'at');
  if (change.expiresAt !== null) isoInstantMs(change.expiresAt, id, 'expiresAt');
  checkCount(change.revision, id, 'revision');
  if (!message || message.status === MessageStatus.Discarded) return message;
  return {
    ...message,
    status: change.status,
    reason: change.reason,
    detail: change.detail,
    instanceId: change.instanceId,
    revision: change.revision,
    expiresAt: change.expiresAt,
    updatedAt: change.at,
    attempts: change.status === MessageStatus.Discarded ? message.attempts : message.attempts + 1,
  };
}

/** Guarantees an `instanceKeys` change whose workflow, instance and key values are text. */
function checkInstanceKeys(change: Extract<MessageIndexChange, { kind: 'instanceKeys' }>): void {
  const { workflow, instanceId, keys } = change;
  if (typeof workflow !== 'string' || typeof instanceId !== 'string')
    throw fault('instanceKeys needs a workflow and an instance id');
  if (keys === null || typeof keys !== 'object')
    throw fault(`instance ${instanceId} of ${workflow} declares keys that are not a record`);
  for (const [name, value] of Object.entries(keys))
    if (typeof value !== 'string')
      throw fault(
        `instance ${instanceId} of ${workflow} declares key ${JSON.stringify(name)} = ${String(value)}, not text`,
      );
}

/**
 * The page cursor every message index gives as `next`: the decimal arrival sequence of the last
 * message of a page. {@link parseMessageCursor} reads it back exactly.
 */
export function formatMessageCursor(seq: number | string): string {
  return String(Number(seq));
}

/**
 * Reads an `after` given to `list`: the arrival sequence of the last message of the previous
 * page. Accepts any text {@link formatMessageCursor} gives; throws a MALFORMED_REQUEST
 * {@link EsflowError} for any text that is not of that form.
 */
export function parseMessageCursor(text: string): number {
  if (typeof text !== 'string' || !/^(0|[1-9]\d{0,14})$/.test(text))
    throw new EsflowError(
      ErrorCode.MalformedRequest,
      `message index: ${JSON.stringify(text)} is not the next of a page of messages`,
    );
  return Number(text);
}

/**
 * A page of `list` from the rows that match its query, in arrival order, starting after its cursor
 * (at least `limit + 1` of them when there are that many, so that it can tell whether a next page
 * exists). Guarantees at most `limit` messages, the first `limit` rows in their order, and a
 * `next` (the cursor of the page's last message) exactly when more rows follow.
 */
export function messagePageOf(
  rows: readonly StoredMessageRow<number | string>[],
  limit: number,
): MessagePage {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const messages = page.map(messageRecordOf);
  return rows.length > page.length && last !== undefined
    ? { messages, next: formatMessageCursor(last.seq) }
    : { messages };
}

/**
 * What `counts` returns, from (status, count) pairs such as a `GROUP BY status` gives: every
 * status of {@link MESSAGE_STATUSES} is present, 0 unless counted; the counts of a status given
 * more than once are added up.
 */
export function messageCountsOf(
  rows: Iterable<{ readonly status: MessageStatus; readonly count: number }>,
): Record<MessageStatus, number> {
  const counts = Object.fromEntries(MESSAGE_STATUSES.map((status) => [status, 0])) as Record<
    MessageStatus,
    number
  >;
  for (const { status, count } of rows) counts[status] = (counts[status] ?? 0) + Number(count);
  return counts;
}
