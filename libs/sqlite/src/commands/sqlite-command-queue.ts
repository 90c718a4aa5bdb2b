import Database from 'better-sqlite3';
import {
  checkCommandLimit,
  checkLeaseRequest,
  CheckedLease,
  COMMAND_STATUSES,
  CommandChange,
  commandChangesApplied,
  commandCountsOf,
  commandPageOf,
  CommandQuery,
  CommandQueue,
  commandRecordOf,
  CommandRow,
  CommandStatus,
  formatPosition,
  GlobalPosition,
  holdsLease,
  LeaseRequest,
  leasedRowOf,
  parseCommandCursor,
  parsePosition,
  releasedRowOf,
} from '@esflow/core';
import { openSqliteTables, sqliteGuard } from '../sqlite-support';

/** Where the SQLite command queue lives: the read-model database file, as a rule. */
export interface SqliteCommandQueueOptions {
  /** The database file (`readmodel.sqlite`); its directory is created if missing. */
  readonly filename: string;
  /** How long a write waits for another process's transaction, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

/** The SQLite {@link CommandQueue}, closed when its owner stops. */
export interface SqliteCommandQueue extends CommandQueue {
  /** Closes the database connection; the queue cannot be used afterwards. */
  close(): Promise<void>;
}

const DISPATCH_ORDER = 'dispatched_at_ms, dispatched_revision, command_id';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS esflow_commands (
    command_id TEXT PRIMARY KEY,
    command_type TEXT NOT NULL,
    workflow TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    dispatched_at TEXT NOT NULL,
    dispatched_at_ms INTEGER NOT NULL,
    dispatched_revision INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN (${COMMAND_STATUSES.map((s) => `'${s}'`).join(', ')})),
    attempts INTEGER NOT NULL,
    available_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    ready_at_ms INTEGER,
    last_error TEXT,
    incident_id TEXT
  );
  CREATE INDEX IF NOT EXISTS esflow_commands_for_lease
    ON esflow_commands (status, command_type, ready_at_ms, ${DISPATCH_ORDER});
  CREATE INDEX IF NOT EXISTS esflow_commands_by_dispatch ON esflow_commands (${DISPATCH_ORDER});
  CREATE INDEX IF NOT EXISTS esflow_commands_by_status ON esflow_commands (status, ${DISPATCH_ORDER});
  CREATE INDEX IF NOT EXISTS esflow_commands_by_instance
    ON esflow_commands (instance_id, ${DISPATCH_ORDER});
  CREATE INDEX IF NOT EXISTS esflow_commands_by_incident
    ON esflow_commands (incident_id) WHERE incident_id IS NOT NULL;
  CREATE TABLE IF NOT EXISTS esflow_command_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position TEXT NOT NULL
  );
`;

const COLUMNS = [
  'command_id',
  'command_type',
  'workflow',
  'instance_id',
  'payload_json',
  'dispatched_at',
  'dispatched_at_ms',
  'dispatched_revision',
  'status',
  'attempts',
  'available_at',
  'lease_owner',
  'lease_until',
  'ready_at_ms',
  'last_error',
  'incident_id',
] as const satisfies readonly (keyof CommandRow)[];

/**
 * The command queue in SQLite (better-sqlite3), in tables of its own (`esflow_commands`,
 * `esflow_command_checkpoint`) that it creates on open and that can share the read-model file
 * with the read-model store and the timer index; it touches no other table. WAL mode; every write
 * (`apply`, `lease`, `release`, `clear`) is one BEGIN IMMEDIATE transaction, so it is atomic
 * across processes: `lease` selects its candidates and leases them in the same transaction, and
 * two queues on one file (two workers, two processes) never lease one command at once. What a
 * change, a lease or a release does to a command is decided by the rules every command queue
 * shares (`commandChangesApplied`, `leasedRowOf`, `releasedRowOf` of @esflow/core); this adapter
 * finds and stores the rows. `lease` reads an index on (status, type, ready time, dispatch order);
 * `list` pages by dispatch order (instant, revision, then id in UTF-8 byte order). A change it
 * rejects fails the whole `apply`: none of its changes and not its checkpoint are kept. An
 * `after` that is not a `next` of a command queue is rejected as MALFORMED_REQUEST. SQLite's own
 * errors are raised as EsflowErrors: STORE_UNAVAILABLE (retriable) when the file is locked too
 * long, full or failing, INTERNAL otherwise.
 */
export function createSqliteCommandQueue(options: SqliteCommandQueueOptions): SqliteCommandQueue {
  const db = openSqliteTables(options, SCHEMA, 'SQLite command queue');

  const statements = {
    save: db.prepare<[CommandRow]>(
      `INSERT INTO esflow_commands (${COLUMNS.join(', ')})
       VALUES (${COLUMNS.map((column) => `@${column}`).join(', ')})
       ON CONFLICT (command_id) DO UPDATE SET
         ${COLUMNS.slice(1)
           .map((column) => `${column} = excluded.${column}`)
           .join(', ')}`,
    ),
    get: db.prepare<[string], CommandRow>('SELECT * FROM esflow_commands WHERE command_id = ?'),
    leasable: db.prepare<[string, number, number], CommandRow>(
      `SELECT * FROM esflow_commands
       WHERE status IN ('${CommandStatus.Pending}', '${CommandStatus.Leased}')
         AND command_type IN (SELECT value FROM json_each(?)) AND ready_at_ms <= ?
       ORDER BY ${DISPATCH_ORDER} LIMIT ?`,
    ),
    saveCheckpoint: db.prepare(
      `INSERT INTO esflow_command_checkpoint (id, position) VALUES (1, ?)
       ON CONFLICT (id) DO UPDATE SET position = excluded.position`,
    ),
    checkpoint: db.prepare<[], { position: string }>(
      'SELECT position FROM esflow_command_checkpoint WHERE id = 1',
    ),
    counts: db.prepare<[], { status: CommandStatus; count: number }>(
      'SELECT status, COUNT(*) AS count FROM esflow_commands GROUP BY status',
    ),
  };
  const listStatements = new Map<string, Database.Statement<unknown[], CommandRow>>();
  const saveAll = (rows: readonly CommandRow[]) => {
    for (const row of rows) statements.save.run(row);
  };

  // commandChangesApplied checks the whole batch before the first row is saved.
  const applyAll = db.transaction((changes: readonly CommandChange[], position: GlobalPosition) => {
    saveAll(commandChangesApplied(changes, (id) => statements.get.get(id)));
    statements.saveCheckpoint.run(formatPosition(position));
  });
  const leaseAll = db.transaction((lease: CheckedLease) => {
    const candidates = statements.leasable.all(
      JSON.stringify(lease.commandTypes),
      lease.nowMs,
      lease.max,
    );
    const leased = candidates.map((row) => leasedRowOf(row, lease));
    saveAll(leased);
    return leased.map(commandRecordOf);
  });
  const releaseOne = db.transaction(
    (commandId: string, owner: string, availableAt: Date, error: string) => {
      const released = releasedRowOf(statements.get.get(commandId), owner, availableAt, error);
      if (released) statements.save.run(released);
      return released !== undefined;
    },
  );
  const clearAll = db.transaction(() => {
    db.exec('DELETE FROM esflow_commands; DELETE FROM esflow_command_checkpoint;');
  });

  const guarded = sqliteGuard('SQLite command queue');

  return {
    apply: guarded((changes: readonly CommandChange[], position: GlobalPosition) =>
      applyAll.immediate(changes, position),
    ),

    checkpoint: guarded(() => {
      const row = statements.checkpoint.get();
      return row && parsePosition(row.position);
    }),

    lease: guarded((request: LeaseRequest) => {
      const lease = checkLeaseRequest(request);
      if (lease.max === 0 || lease.commandTypes.length === 0) return [];
      return leaseAll.immediate(lease);
    }),

    release: guarded((commandId: string, owner: string, availableAt: Date, error: string) =>
      releaseOne.immediate(commandId, owner, availableAt, error),
    ),

    holds: guarded((commandId: string, owner: string, now: Date) =>
      holdsLease(statements.get.get(commandId), owner, now),
    ),

    get: guarded((commandId: string) => {
      const row = statements.get.get(commandId);
      return row && commandRecordOf(row);
    }),

    list: guarded((query: CommandQuery) => {
      checkCommandLimit(query.limit, 1);
      const conditions: string[] = [];
      const params: unknown[] = [];
      const narrow = (condition: string, ...values: unknown[]) => {
        conditions.push(condition);
        params.push(...values);
      };
      if (query.status !== undefined) narrow('status = ?', query.status);
      if (query.commandType !== undefined) narrow('command_type = ?', query.commandType);
      if (query.workflow !== undefined) narrow('workflow = ?', query.workflow);
      if (query.instanceId !== undefined) narrow('instance_id = ?', query.instanceId);
      if (query.incidentId !== undefined) narrow('incident_id = ?', query.incidentId);
      if (query.after !== undefined) {
        const after = parseCommandCursor(query.after);
        narrow(
          `(${DISPATCH_ORDER}) > (?, ?, ?)`,
          after.dispatchedMs,
          after.dispatchedRevision,
          after.commandId,
        );
      }
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      let statement = listStatements.get(where);
      if (!statement) {
        statement = db.prepare<unknown[], CommandRow>(
          `SELECT * FROM esflow_commands ${where} ORDER BY ${DISPATCH_ORDER} LIMIT ?`,
        );
        listStatements.set(where, statement);
      }
      // One row more than the page says whether there is a next one.
      return commandPageOf(statement.all(...params, query.limit + 1), query.limit);
    }),

    counts: guarded(() => commandCountsOf(statements.counts.all())),

    clear: guarded(() => clearAll.immediate()),

    async close() {
      db.close();
    },
  };
}
