import { PoolClient, QueryResultRow } from 'pg';
import {
  checkCommandLimit,
  checkLeaseRequest,
  checkProjectionName,
  COMMAND_STATUSES,
  commandChangesApplied,
  commandCountsOf,
  commandPageOf,
  CommandQuery,
  CommandQueue,
  commandRecordOf,
  CommandRow,
  CommandStatus,
  formatPosition,
  holdsLease,
  leasedRowOf,
  parseCommandCursor,
  parsePosition,
  releasedRowOf,
} from '@esflow/core';
import { pgTables, quote } from './pg-support';

/**
 * Options of {@link createPostgresCommandQueue}: the server, the schema of the command tables
 * (default `esflow_read`, the read models' schema; created if missing), and the pool size
 * (default 5 connections).
 */
export interface PostgresCommandQueueOptions {
  /** postgres://user@host:5432/database */
  readonly connectionString: string;
  /** Schema holding the command tables (created if missing). */
  readonly schema?: string;
  readonly maxConnections?: number;
}

/** The PostgreSQL {@link CommandQueue}, closed when its owner stops. */
export interface PostgresCommandQueue extends CommandQueue {
  /** Ends the connection pool; the queue cannot be used afterwards. */
  close(): Promise<void>;
}

/** The columns of `esflow_commands` and their types, in the order rows are passed to `unnest`. */
const COMMAND_COLUMNS = {
  command_id: 'text',
  command_type: 'text',
  workflow: 'text',
  instance_id: 'text',
  payload_json: 'text',
  dispatched_at: 'text',
  dispatched_at_ms: 'bigint',
  dispatched_revision: 'integer',
  status: 'text',
  attempts: 'integer',
  available_at: 'text',
  lease_owner: 'text',
  lease_until: 'text',
  ready_at_ms: 'bigint',
  last_error: 'text',
  incident_id: 'text',
} as const satisfies Record<keyof CommandRow, string>;
const COLUMNS = Object.keys(COMMAND_COLUMNS) as (keyof CommandRow)[];

const DISPATCH_ORDER = 'dispatched_at_ms, dispatched_revision, command_id';

/** A row as `pg` reads it: BIGINT comes back as text. */
type ReadRow = CommandRow<string> & QueryResultRow;

/**
 * The command queue in PostgreSQL, in tables of its own (`esflow_commands`,
 * `esflow_command_checkpoint`) in the read models' schema, created idempotently on first use
 * (under the read-model store's migration lock); it touches no other table. Every write is one
 * transaction that locks the rows it changes. `lease` selects its candidates `FOR UPDATE SKIP
 * LOCKED` and leases them in the same transaction, so concurrent workers (in one process or
 * many) never take the same command and never wait for each other; `apply` locks the commands of
 * its batch, so a lease or release in progress on them finishes first, and it costs four
 * statements however many changes it has. What a change, a lease or a release does to a command
 * is decided by the rules every command queue shares (`commandChangesApplied`, `leasedRowOf`,
 * `releasedRowOf` of @esflow/core); this adapter finds, locks and stores the rows. `lease` reads
 * an index on (status, type, ready time, dispatch order); `list` pages by dispatch order
 * (instant, revision, then id in byte order, COLLATE "C"), as in the SQLite queue. A change it
 * rejects fails the whole `apply`. An `after` that is not a `next` of a command queue is
 * rejected as MALFORMED_REQUEST. PostgreSQL's errors are raised as EsflowErrors:
 * STORE_UNAVAILABLE (retriable) for lost connections, exhausted resources and serialisation
 * failures, INTERNAL otherwise.
 */
export function createPostgresCommandQueue(
  options: PostgresCommandQueueOptions,
): PostgresCommandQueue {
  const schema = options.schema ?? 'esflow_read';
  checkProjectionName(schema);
  const s = quote(schema);
  const commandsTable = `${s}.esflow_commands`;
  const checkpointTable = `${s}.esflow_command_checkpoint`;
  const { query, transact, close } = pgTables({
    connectionString: options.connectionString,
    maxConnections: options.maxConnections,
    schema,
    label: 'PostgreSQL command queue',
    createTables: async (client) => {
      await client.query(`
        CREATE SCHEMA IF NOT EXISTS ${s};
        CREATE TABLE IF NOT EXISTS ${commandsTable} (
          command_id TEXT COLLATE "C" PRIMARY KEY,
          command_type TEXT NOT NULL,
          workflow TEXT NOT NULL,
          instance_id TEXT NOT NULL,
          payload_json TEXT NOT NULL,
          dispatched_at TEXT NOT NULL,
          dispatched_at_ms BIGINT NOT NULL,
          dispatched_revision INTEGER NOT NULL,
          status TEXT NOT NULL CHECK (status IN (${COMMAND_STATUSES.map((status) => `'${status}'`).join(', ')})),
          attempts INTEGER NOT NULL,
          available_at TEXT NOT NULL,
          lease_owner TEXT,
          lease_until TEXT,
          ready_at_ms BIGINT,
          last_error TEXT,
          incident_id TEXT
        );
        CREATE INDEX IF NOT EXISTS esflow_commands_for_lease
          ON ${commandsTable} (status, command_type, ready_at_ms, ${DISPATCH_ORDER});
        CREATE INDEX IF NOT EXISTS esflow_commands_by_dispatch ON ${commandsTable} (${DISPATCH_ORDER});
        CREATE INDEX IF NOT EXISTS esflow_commands_by_status ON ${commandsTable} (status, ${DISPATCH_ORDER});
        CREATE INDEX IF NOT EXISTS esflow_commands_by_instance
          ON ${commandsTable} (instance_id, ${DISPATCH_ORDER});
        CREATE INDEX IF NOT EXISTS esflow_commands_by_incident
          ON ${commandsTable} (incident_id) WHERE incident_id IS NOT NULL;
        CREATE TABLE IF NOT EXISTS ${checkpointTable} (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          position TEXT NOT NULL
        );
      `);
    },
  });

  /** Writes whole rows (new or changed) in one statement: one array parameter per column. */
  async function save(client: PoolClient, rows: readonly CommandRow[]): Promise<void> {
    if (rows.length === 0) return;
    const arrays = COLUMNS.map((column, i) => `$${i + 1}::${COMMAND_COLUMNS[column]}[]`);
    await client.query(
      `INSERT INTO ${commandsTable} (${COLUMNS.join(', ')})
       SELECT * FROM unnest(${arrays.join(', ')}) AS c(${COLUMNS.join(', ')})
       ON CONFLICT (command_id) DO UPDATE SET ${COLUMNS.slice(1)
         .map((column) => `${column} = EXCLUDED.${column}`)
         .join(', ')}`,
      COLUMNS.map((column) => rows.map((row) => row[column])),
    );
  }

  const lockedRow = async (client: PoolClient, commandId: string) =>
    (
      await client.query<ReadRow>(
        `SELECT * FROM ${commandsTable} WHERE command_id = $1 FOR UPDATE`,
        [commandId],
      )
    ).rows[0];

  return {
    async apply(changes, position) {
      const ids = [
        ...new Set(
          changes.map((change) =>
            change.kind === 'dispatched' ? change.command.commandId : change.commandId,
          ),
        ),
      ];
      await transact(async (client) => {
        // Locked in one order, so that no other writer of these rows can deadlock with this one.
        const { rows: locked } = await client.query<ReadRow>(
          `SELECT * FROM ${commandsTable} WHERE command_id = ANY($1::text[])
           ORDER BY command_id FOR UPDATE`,
          [ids],
        );
        const current = new Map(locked.map((row) => [row.command_id, row]));
        // commandChangesApplied checks the whole batch: a change rejected rolls back the locks only.
        await save(
          client,
          commandChangesApplied(changes, (id) => current.get(id)),
        );
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

    async lease(request) {
      const lease = checkLeaseRequest(request);
      if (lease.max === 0 || lease.commandTypes.length === 0) return [];
      return transact(async (client) => {
        // Rows another lease (or an apply) holds are skipped, not waited for.
        const { rows: candidates } = await client.query<ReadRow>(
          `SELECT * FROM ${commandsTable}
           WHERE status IN ('${CommandStatus.Pending}', '${CommandStatus.Leased}')
             AND command_type = ANY($1::text[]) AND ready_at_ms <= $2
           ORDER BY ${DISPATCH_ORDER} LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [lease.commandTypes, lease.nowMs, lease.max],
        );
        const leased = candidates.map((row) => leasedRowOf(row, lease));
        await save(client, leased);
        return leased.map(commandRecordOf);
      });
    },

    async release(commandId, owner, availableAt, error) {
      return transact(async (client) => {
        const released = releasedRowOf(
          await lockedRow(client, commandId),
          owner,
          availableAt,
          error,
        );
        if (released) await save(client, [released]);
        return released !== undefined;
      });
    },

    async holds(commandId, owner, now) {
      const [row] = await query<ReadRow>(`SELECT * FROM ${commandsTable} WHERE command_id = $1`, [
        commandId,
      ]);
      return holdsLease(row, owner, now);
    },

    async get(commandId) {
      const [row] = await query<ReadRow>(`SELECT * FROM ${commandsTable} WHERE command_id = $1`, [
        commandId,
      ]);
      return row && commandRecordOf(row);
    },

    async list(commandQuery: CommandQuery) {
      checkCommandLimit(commandQuery.limit, 1);
      const conditions: string[] = [];
      const params: unknown[] = [];
      const narrow = (condition: (...placeholders: string[]) => string, ...values: unknown[]) => {
        const placeholders = values.map((value) => `$${params.push(value)}`);
        conditions.push(condition(...placeholders));
      };
      if (commandQuery.status !== undefined) narrow((p) => `status = ${p}`, commandQuery.status);
      if (commandQuery.commandType !== undefined)
        narrow((p) => `command_type = ${p}`, commandQuery.commandType);
      if (commandQuery.workflow !== undefined)
        narrow((p) => `workflow = ${p}`, commandQuery.workflow);
      if (commandQuery.instanceId !== undefined)
        narrow((p) => `instance_id = ${p}`, commandQuery.instanceId);
      if (commandQuery.incidentId !== undefined)
        narrow((p) => `incident_id = ${p}`, commandQuery.incidentId);
      if (commandQuery.after !== undefined) {
        const after = parseCommandCursor(commandQuery.after);
        narrow(
          (ms, revision, id) => `(${DISPATCH_ORDER}) > (${ms}, ${revision}, ${id})`,
          after.dispatchedMs,
          after.dispatchedRevision,
          after.commandId,
        );
      }
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      // One row more than the page says whether there is a next one.
      const rows = await query<ReadRow>(
        `SELECT * FROM ${commandsTable} ${where} ORDER BY ${DISPATCH_ORDER} LIMIT $${params.length + 1}`,
        [...params, commandQuery.limit + 1],
      );
      return commandPageOf(rows, commandQuery.limit);
    },

    async counts() {
      const rows = await query<{ status: CommandStatus; count: number }>(
        `SELECT status, count(*)::integer AS count FROM ${commandsTable} GROUP BY status`,
      );
      return commandCountsOf(rows);
    },

    async clear() {
      await query(`TRUNCATE ${commandsTable}, ${checkpointTable}`);
    },

    close,
  };
}
