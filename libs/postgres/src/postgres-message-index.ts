import { PoolClient, QueryResultRow } from 'pg';
import {
  checkMessageLimit,
  checkProjectionName,
  formatPosition,
  MESSAGE_STATUSES,
  messageChangesApplied,
  messageChangeTargets,
  messageCountsOf,
  MessageIndex,
  messageInstantMs,
  MessageKeyRow,
  messagePageOf,
  MessageQuery,
  messageRecordOf,
  MessageRow,
  MessageStatus,
  parseMessageCursor,
  parsePosition,
  StoredMessageKeyRow,
  StoredMessageRow,
} from '@esflow/core';
import { pgTables, quote } from './pg-support';

/**
 * Options of {@link createPostgresMessageIndex}: the server, the schema of the message tables
 * (default `esflow_read`, the read models' schema; created if missing), and the pool size
 * (default 5 connections).
 */
export interface PostgresMessageIndexOptions {
  /** postgres://user@host:5432/database */
  readonly connectionString: string;
  /** Schema holding the message tables (created if missing). */
  readonly schema?: string;
  readonly maxConnections?: number;
}

/** The PostgreSQL {@link MessageIndex}, closed when its owner stops. */
export interface PostgresMessageIndex extends MessageIndex {
  /** Ends the connection pool; the index cannot be used afterwards. */
  close(): Promise<void>;
}

/** The columns of `esflow_messages` and their types, in the order rows are passed to `unnest`. */
const MESSAGE_COLUMNS = {
  message_id: 'text',
  name: 'text',
  workflow: 'text',
  key_name: 'text',
  correlation_key: 'text',
  status: 'text',
  reason: 'text',
  detail: 'text',
  instance_id: 'text',
  revision: 'integer',
  source: 'text',
  received_at: 'text',
  received_at_ms: 'bigint',
  expires_at: 'text',
  expires_at_ms: 'bigint',
  updated_at: 'text',
  attempts: 'integer',
} as const satisfies Record<keyof MessageRow, string>;
const COLUMNS = Object.keys(MESSAGE_COLUMNS) as (keyof MessageRow)[];

const KEY_COLUMNS = [
  'workflow',
  'instance_id',
  'key_name',
  'key_value',
] as const satisfies readonly (keyof MessageKeyRow)[];

const BUFFERED = `'${MessageStatus.Buffered}'`;

/** A row as `pg` reads it: BIGINT comes back as text. */
type ReadRow = StoredMessageRow<string> & QueryResultRow;
type ReadKeyRow = StoredMessageKeyRow<string> & QueryResultRow;

/**
 * The message index in PostgreSQL, in tables of its own (`esflow_messages`,
 * `esflow_message_keys`, `esflow_message_checkpoint`) in the read models' schema, created
 * idempotently on first use (under the read-model store's migration lock); it touches no other
 * table. `apply` is one transaction that first takes a transaction-level advisory lock of the
 * schema's message index, so writers (in one process or many) apply one batch at a time, and
 * arrival order (a BIGINT identity assigned when a message is first inserted, in the batch's
 * order) is the order of their commits: a page read never misses a message that a later page
 * would have shown. It reads the batch's messages and instance keys, then writes them with one
 * statement each for messages, removed keys and added keys, and the checkpoint. What a change
 * does to a message and to an instance's keys is decided by the rules every message index shares
 * (`messageChangesApplied` of @esflow/core); this adapter finds and stores the rows. A key an
 * instance declares keeps the sequence of when it was learnt, for `instancesByKey`. The indexes
 * are those of the SQLite index: (status, sequence), (workflow, key name, correlation key,
 * status), the expiry of buffered messages (epoch ms), and keys by value and by instance. A
 * change it rejects fails the whole `apply`. An `after` that is not a `next` of a message index is
 * rejected as MALFORMED_REQUEST. PostgreSQL's errors are raised as EsflowErrors:
 * STORE_UNAVAILABLE (retriable) for lost connections, exhausted resources and serialisation
 * failures, INTERNAL otherwise.
 */
export function createPostgresMessageIndex(
  options: PostgresMessageIndexOptions,
): PostgresMessageIndex {
  const schema = options.schema ?? 'esflow_read';
  checkProjectionName(schema);
  const s = quote(schema);
  const messagesTable = `${s}.esflow_messages`;
  const keysTable = `${s}.esflow_message_keys`;
  const checkpointTable = `${s}.esflow_message_checkpoint`;
  const { query, transact, close } = pgTables({
    connectionString: options.connectionString,
    maxConnections: options.maxConnections,
    schema,
    label: 'PostgreSQL message index',
    createTables: async (client) => {
      await client.query(`
        CREATE SCHEMA IF NOT EXISTS ${s};
        CREATE TABLE IF NOT EXISTS ${messagesTable} (
          seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          message_id TEXT COLLATE "C" NOT NULL UNIQUE,
          name TEXT NOT NULL,
          workflow TEXT NOT NULL,
          key_name TEXT NOT NULL,
          correlation_key TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN (${MESSAGE_STATUSES.map((status) => `'${status}'`).join(', ')})),
          reason TEXT,
          detail TEXT,
          instance_id TEXT,
          revision INTEGER,
          source TEXT NOT NULL,
          received_at TEXT NOT NULL,
          received_at_ms BIGINT NOT NULL,
          expires_at TEXT,
          expires_at_ms BIGINT,
          updated_at TEXT NOT NULL,
          attempts INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS esflow_messages_by_status ON ${messagesTable} (status, seq);
        CREATE INDEX IF NOT EXISTS esflow_messages_by_correlation
          ON ${messagesTable} (workflow, key_name, correlation_key, status);
        CREATE INDEX IF NOT EXISTS esflow_messages_by_expiry
          ON ${messagesTable} (expires_at_ms) WHERE status = ${BUFFERED};
        CREATE TABLE IF NOT EXISTS ${keysTable} (
          seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          workflow TEXT NOT NULL,
          instance_id TEXT NOT NULL,
          key_name TEXT NOT NULL,
          key_value TEXT NOT NULL,
          UNIQUE (workflow, instance_id, key_name)
        );
        CREATE INDEX IF NOT EXISTS esflow_message_keys_by_value
          ON ${keysTable} (workflow, key_name, key_value, seq);
        CREATE TABLE IF NOT EXISTS ${checkpointTable} (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          position TEXT NOT NULL
        );
      `);
    },
  });

  /**
   * Writes whole rows (new or changed) in one statement: one array parameter per column. New ones
   * take their sequence in the order of `rows`.
   */
  async function save(client: PoolClient, rows: readonly MessageRow[]): Promise<void> {
    if (rows.length === 0) return;
    const arrays = COLUMNS.map((column, i) => `$${i + 1}::${MESSAGE_COLUMNS[column]}[]`);
    await client.query(
      `INSERT INTO ${messagesTable} (${COLUMNS.join(', ')})
       SELECT ${COLUMNS.join(', ')}
       FROM unnest(${arrays.join(', ')}) WITH ORDINALITY AS c(${COLUMNS.join(', ')}, ordinal)
       ORDER BY ordinal
       ON CONFLICT (message_id) DO UPDATE SET ${COLUMNS.slice(1)
         .map((column) => `${column} = EXCLUDED.${column}`)
         .join(', ')}`,
      COLUMNS.map((column) => rows.map((row) => row[column])),
    );
  }

  /** One `text[]` parameter per key column. */
  const keyArrays = (rows: readonly MessageKeyRow[]) =>
    KEY_COLUMNS.map((column) => rows.map((row) => row[column]));

  async function removeKeys(client: PoolClient, rows: readonly MessageKeyRow[]): Promise<void> {
    if (rows.length === 0) return;
    await client.query(
      `DELETE FROM ${keysTable} k USING unnest($1::text[], $2::text[], $3::text[])
         AS r(workflow, instance_id, key_name)
       WHERE k.workflow = r.workflow AND k.instance_id = r.instance_id AND k.key_name = r.key_name`,
      keyArrays(rows).slice(0, 3),
    );
  }

  async function addKeys(client: PoolClient, rows: readonly MessageKeyRow[]): Promise<void> {
    if (rows.length === 0) return;
    await client.query(
      `INSERT INTO ${keysTable} (${KEY_COLUMNS.join(', ')})
       SELECT ${KEY_COLUMNS.join(', ')}
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         WITH ORDINALITY AS r(${KEY_COLUMNS.join(', ')}, ordinal)
       ORDER BY ordinal`,
      keyArrays(rows),
    );
  }

  return {
    async apply(changes, position) {
      const targets = messageChangeTargets(changes);
      await transact(async (client) => {
        // One batch at a time per schema: arrival order is commit order, and a first record wins.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `esflow-message-index-${schema}`,
        ]);
        const { rows: stored } = await client.query<ReadRow>(
          `SELECT * FROM ${messagesTable} WHERE message_id = ANY($1::text[])`,
          [targets.messageIds],
        );
        const current = new Map(stored.map((row) => [row.message_id, row]));
        const { rows: storedKeys } = await client.query<ReadKeyRow>(
          `SELECT k.* FROM ${keysTable} k
           JOIN unnest($1::text[], $2::text[]) AS i(workflow, instance_id)
             ON k.workflow = i.workflow AND k.instance_id = i.instance_id`,
          [
            targets.instances.map((instance) => instance.workflow),
            targets.instances.map((instance) => instance.instanceId),
          ],
        );
        // messageChangesApplied checks the whole batch: a change rejected rolls back the lock only.
        const writes = messageChangesApplied(
          changes,
          (id) => current.get(id),
          (workflow, instanceId) =>
            storedKeys.filter((row) => row.workflow === workflow && row.instance_id === instanceId),
        );
        await save(client, writes.messages);
        await removeKeys(client, writes.removedKeys);
        await addKeys(client, writes.addedKeys);
        await client.query(
          `INSERT INTO ${checkpointTable} (id, position) VALUES (1, $1)
           ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position`,
          [formatPosition(position)],
        );
      });
    },

    async checkpoint() {
      const [row] = await query<{ position: string }>(
        `SELECT position FROM ${checkpointTable} WHERE id = 1`,
      );
      return row && parsePosition(row.position);
    },

    async get(messageId) {
      const [row] = await query<ReadRow>(`SELECT * FROM ${messagesTable} WHERE message_id = $1`, [
        messageId,
      ]);
      return row && messageRecordOf(row);
    },

    async list(messageQuery: MessageQuery) {
      checkMessageLimit(messageQuery.limit, 1);
      const conditions: string[] = [];
      const params: unknown[] = [];
      const narrow = (column: string, value: unknown) => {
        conditions.push(`${column} = $${params.push(value)}`);
      };
      if (messageQuery.status !== undefined) narrow('status', messageQuery.status);
      if (messageQuery.name !== undefined) narrow('name', messageQuery.name);
      if (messageQuery.correlationKey !== undefined)
        narrow('correlation_key', messageQuery.correlationKey);
      if (messageQuery.workflow !== undefined) narrow('workflow', messageQuery.workflow);
      if (messageQuery.instanceId !== undefined) narrow('instance_id', messageQuery.instanceId);
      if (messageQuery.after !== undefined)
        conditions.push(`seq > $${params.push(parseMessageCursor(messageQuery.after))}`);
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      // One row more than the page says whether there is a next one.
      const rows = await query<ReadRow>(
        `SELECT * FROM ${messagesTable} ${where} ORDER BY seq LIMIT $${params.length + 1}`,
        [...params, messageQuery.limit + 1],
      );
      return messagePageOf(rows, messageQuery.limit);
    },

    async instancesByKey(workflow, keyName, value, limit) {
      checkMessageLimit(limit, 0);
      const rows = await query<{ instance_id: string }>(
        `SELECT instance_id FROM ${keysTable}
         WHERE workflow = $1 AND key_name = $2 AND key_value = $3 ORDER BY seq LIMIT $4`,
        [workflow, keyName, value, limit],
      );
      return rows.map((row) => row.instance_id);
    },

    async bufferedFor(workflow, instanceId, limit) {
      checkMessageLimit(limit, 0);
      const rows = await query<ReadRow>(
        `SELECT m.* FROM ${keysTable} k
         JOIN ${messagesTable} m ON m.workflow = k.workflow AND m.key_name = k.key_name
           AND m.correlation_key = k.key_value AND m.status = ${BUFFERED}
         WHERE k.workflow = $1 AND k.instance_id = $2
         ORDER BY m.seq LIMIT $3`,
        [workflow, instanceId, limit],
      );
      return rows.map(messageRecordOf);
    },

    async expired(now, limit) {
      checkMessageLimit(limit, 0);
      const nowMs = messageInstantMs(now, 'now');
      const rows = await query<ReadRow>(
        `SELECT * FROM ${messagesTable} WHERE status = ${BUFFERED} AND expires_at_ms <= $1
         ORDER BY seq LIMIT $2`,
        [nowMs, limit],
      );
      return rows.map(messageRecordOf);
    },

    async nextExpiry() {
      const [row] = await query<{ ms: string }>(
        `SELECT expires_at_ms AS ms FROM ${messagesTable}
         WHERE status = ${BUFFERED} AND expires_at_ms IS NOT NULL ORDER BY expires_at_ms LIMIT 1`,
      );
      return row && new Date(Number(row.ms));
    },

    async counts() {
      const rows = await query<{ status: MessageStatus; count: number }>(
        `SELECT status, count(*)::integer AS count FROM ${messagesTable} GROUP BY status`,
      );
      return messageCountsOf(rows);
    },

    async oldestBuffered() {
      const [row] = await query<{ ms: string }>(
        `SELECT received_at_ms AS ms FROM ${messagesTable}
         WHERE status = ${BUFFERED} ORDER BY received_at_ms LIMIT 1`,
      );
      return row && new Date(Number(row.ms));
    },

    async clear() {
      await query(`TRUNCATE ${messagesTable}, ${keysTable}, ${checkpointTable}`);
    },

    close,
  };
}
