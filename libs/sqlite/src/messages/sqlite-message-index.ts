import Database from 'better-sqlite3';
import {
  checkMessageLimit,
  formatPosition,
  GlobalPosition,
  MESSAGE_STATUSES,
  messageChangesApplied,
  messageCountsOf,
  MessageIndex,
  MessageIndexChange,
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
import { openSqliteTables, sqliteGuard } from '../sqlite-support';

/** Where the SQLite message index lives: the read-model database file, as a rule. */
export interface SqliteMessageIndexOptions {
  /** The database file (`readmodel.sqlite`); its directory is created if missing. */
  readonly filename: string;
  /** How long a write waits for another process's transaction, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

/** The SQLite {@link MessageIndex}, closed when its owner stops. */
export interface SqliteMessageIndex extends MessageIndex {
  /** Closes the database connection; the index cannot be used afterwards. */
  close(): Promise<void>;
}

const BUFFERED = `'${MessageStatus.Buffered}'`;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS esflow_messages (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    workflow TEXT NOT NULL,
    key_name TEXT NOT NULL,
    correlation_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN (${MESSAGE_STATUSES.map((s) => `'${s}'`).join(', ')})),
    reason TEXT,
    detail TEXT,
    instance_id TEXT,
    revision INTEGER,
    source TEXT NOT NULL,
    received_at TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    expires_at TEXT,
    expires_at_ms INTEGER,
    updated_at TEXT NOT NULL,
    attempts INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS esflow_messages_by_status ON esflow_messages (status, seq);
  CREATE INDEX IF NOT EXISTS esflow_messages_by_correlation
    ON esflow_messages (workflow, key_name, correlation_key, status);
  CREATE INDEX IF NOT EXISTS esflow_messages_by_expiry
    ON esflow_messages (expires_at_ms) WHERE status = ${BUFFERED};
  CREATE TABLE IF NOT EXISTS esflow_message_keys (
    seq INTEGER PRIMARY KEY,
    workflow TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    key_name TEXT NOT NULL,
    key_value TEXT NOT NULL,
    UNIQUE (workflow, instance_id, key_name)
  );
  CREATE INDEX IF NOT EXISTS esflow_message_keys_by_value
    ON esflow_message_keys (workflow, key_name, key_value, seq);
  CREATE TABLE IF NOT EXISTS esflow_message_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position TEXT NOT NULL
  );
`;

const COLUMNS = [
  'message_id',
  'name',
  'workflow',
  'key_name',
  'correlation_key',
  'status',
  'reason',
  'detail',
  'instance_id',
  'revision',
  'source',
  'received_at',
  'received_at_ms',
  'expires_at',
  'expires_at_ms',
  'updated_at',
  'attempts',
] as const satisfies readonly (keyof MessageRow)[];

/**
 * The message index in SQLite (better-sqlite3), in tables of its own (`esflow_messages`,
 * `esflow_message_keys`, `esflow_message_checkpoint`) that it creates on open and that can share
 * the read-model file with the read-model store, the timer index and the command queue; it
 * touches no other table. WAL mode; every write (`apply`, `clear`) is one BEGIN IMMEDIATE
 * transaction, so `apply` keeps all of its changes and its checkpoint, or none, across processes.
 * What a change does to a message and to an instance's keys is decided by the rules every message
 * index shares (`messageChangesApplied` of @esflow/core); this adapter finds and stores the rows.
 * Arrival order is an INTEGER sequence assigned when a message is first inserted; a key an
 * instance declares keeps the sequence of when it was learnt, for `instancesByKey`. `list` pages
 * by arrival order over an index on (status, sequence); `bufferedFor` joins the instance's keys
 * with an index on (workflow, key name, correlation key, status); `expired` and `nextExpiry`
 * read an index on the expiry of buffered messages, compared as epoch ms. A change it rejects
 * fails the whole `apply`: none of its changes and not its checkpoint are kept. An `after` that is
 * not a `next` of a message index is rejected as MALFORMED_REQUEST. SQLite's own errors are
 * raised as EsflowErrors: STORE_UNAVAILABLE (retriable) when the file is locked too long, full or
 * failing, INTERNAL otherwise.
 */
export function createSqliteMessageIndex(options: SqliteMessageIndexOptions): SqliteMessageIndex {
  const db = openSqliteTables(options, SCHEMA, 'SQLite message index');

  const statements = {
    save: db.prepare<[MessageRow]>(
      `INSERT INTO esflow_messages (${COLUMNS.join(', ')})
       VALUES (${COLUMNS.map((column) => `@${column}`).join(', ')})
       ON CONFLICT (message_id) DO UPDATE SET
         ${COLUMNS.slice(1)
           .map((column) => `${column} = excluded.${column}`)
           .join(', ')}`,
    ),
    get: db.prepare<[string], StoredMessageRow>(
      'SELECT * FROM esflow_messages WHERE message_id = ?',
    ),
    keysOf: db.prepare<[string, string], StoredMessageKeyRow>(
      'SELECT * FROM esflow_message_keys WHERE workflow = ? AND instance_id = ?',
    ),
    removeKey: db.prepare<[MessageKeyRow]>(
      `DELETE FROM esflow_message_keys
       WHERE workflow = @workflow AND instance_id = @instance_id AND key_name = @key_name`,
    ),
    addKey: db.prepare<[MessageKeyRow]>(
      `INSERT INTO esflow_message_keys (workflow, instance_id, key_name, key_value)
       VALUES (@workflow, @instance_id, @key_name, @key_value)`,
    ),
    instancesByKey: db.prepare<[string, string, string, number], { instance_id: string }>(
      `SELECT instance_id FROM esflow_message_keys
       WHERE workflow = ? AND key_name = ? AND key_value = ? ORDER BY seq LIMIT ?`,
    ),
    bufferedFor: db.prepare<[string, string, number], StoredMessageRow>(
      // CROSS JOIN keeps the instance's few keys as the outer loop, each matched by the
      // correlation index, rather than a walk through every buffered message.
      `SELECT m.* FROM esflow_message_keys k
       CROSS JOIN esflow_messages m ON m.workflow = k.workflow AND m.key_name = k.key_name
         AND m.correlation_key = k.key_value AND m.status = ${BUFFERED}
       WHERE k.workflow = ? AND k.instance_id = ?
       ORDER BY m.seq LIMIT ?`,
    ),
    expired: db.prepare<[number, number], StoredMessageRow>(
      `SELECT * FROM esflow_messages INDEXED BY esflow_messages_by_expiry
       WHERE status = ${BUFFERED} AND expires_at_ms <= ? ORDER BY seq LIMIT ?`,
    ),
    nextExpiry: db.prepare<[], { ms: number }>(
      `SELECT expires_at_ms AS ms FROM esflow_messages INDEXED BY esflow_messages_by_expiry
       WHERE status = ${BUFFERED} AND expires_at_ms IS NOT NULL ORDER BY expires_at_ms LIMIT 1`,
    ),
    oldestBuffered: db.prepare<[], { ms: number }>(
      `SELECT received_at_ms AS ms FROM esflow_messages
       WHERE status = ${BUFFERED} ORDER BY received_at_ms LIMIT 1`,
    ),
    saveCheckpoint: db.prepare(
      `INSERT INTO esflow_message_checkpoint (id, position) VALUES (1, ?)
       ON CONFLICT (id) DO UPDATE SET position = excluded.position`,
    ),
    checkpoint: db.prepare<[], { position: string }>(
      'SELECT position FROM esflow_message_checkpoint WHERE id = 1',
    ),
    counts: db.prepare<[], { status: MessageStatus; count: number }>(
      'SELECT status, COUNT(*) AS count FROM esflow_messages GROUP BY status',
    ),
  };
  const listStatements = new Map<string, Database.Statement<unknown[], StoredMessageRow>>();

  // messageChangesApplied checks the whole batch before the first row is written.
  const applyAll = db.transaction(
    (changes: readonly MessageIndexChange[], position: GlobalPosition) => {
      const writes = messageChangesApplied(
        changes,
        (id) => statements.get.get(id),
        (workflow, instanceId) => statements.keysOf.all(workflow, instanceId),
      );
      // New messages are inserted in arrival order: their sequence follows it.
      for (const row of writes.messages) statements.save.run(row);
      for (const row of writes.removedKeys) statements.removeKey.run(row);
      for (const row of writes.addedKeys) statements.addKey.run(row);
      statements.saveCheckpoint.run(formatPosition(position));
    },
  );
  const clearAll = db.transaction(() => {
    db.exec(
      'DELETE FROM esflow_messages; DELETE FROM esflow_message_keys; DELETE FROM esflow_message_checkpoint;',
    );
  });

  const guarded = sqliteGuard('SQLite message index');

  return {
    apply: guarded((changes: readonly MessageIndexChange[], position: GlobalPosition) =>
      applyAll.immediate(changes, position),
    ),

    checkpoint: guarded(() => {
      const row = statements.checkpoint.get();
      return row && parsePosition(row.position);
    }),

    get: guarded((messageId: string) => {
      const row = statements.get.get(messageId);
      return row && messageRecordOf(row);
    }),

    list: guarded((query: MessageQuery) => {
      checkMessageLimit(query.limit, 1);
      const conditions: string[] = [];
      const params: unknown[] = [];
      const narrow = (condition: string, value: unknown) => {
        conditions.push(condition);
        params.push(value);
      };
      if (query.status !== undefined) narrow('status = ?', query.status);
      if (query.name !== undefined) narrow('name = ?', query.name);
      if (query.correlationKey !== undefined) narrow('correlation_key = ?', query.correlationKey);
      if (query.workflow !== undefined) narrow('workflow = ?', query.workflow);
      if (query.instanceId !== undefined) narrow('instance_id = ?', query.instanceId);
      if (query.after !== undefined) narrow('seq > ?', parseMessageCursor(query.after));
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      let statement = listStatements.get(where);
      if (!statement) {
        statement = db.prepare<unknown[], StoredMessageRow>(
          `SELECT * FROM esflow_messages ${where} ORDER BY seq LIMIT ?`,
        );
        listStatements.set(where, statement);
      }
      // One row more than the page says whether there is a next one.
      return messagePageOf(statement.all(...params, query.limit + 1), query.limit);
    }),

    instancesByKey: guarded((workflow: string, keyName: string, value: string, limit: number) => {
      checkMessageLimit(limit, 0);
      return statements.instancesByKey
        .all(workflow, keyName, value, limit)
        .map((row) => row.instance_id);
    }),

    bufferedFor: guarded((workflow: string, instanceId: string, limit: number) => {
      checkMessageLimit(limit, 0);
      return statements.bufferedFor.all(workflow, instanceId, limit).map(messageRecordOf);
    }),

    expired: guarded((now: Date, limit: number) => {
      checkMessageLimit(limit, 0);
      const nowMs = messageInstantMs(now, 'now');
      return statements.expired.all(nowMs, limit).map(messageRecordOf);
    }),

    nextExpiry: guarded(() => {
      const row = statements.nextExpiry.get();
      return row && new Date(row.ms);
    }),

    counts: guarded(() => messageCountsOf(statements.counts.all())),

    oldestBuffered: guarded(() => {
      const row = statements.oldestBuffered.get();
      return row && new Date(row.ms);
    }),

    clear: guarded(() => clearAll.immediate()),

    async close() {
      db.close();
    },
  };
}
