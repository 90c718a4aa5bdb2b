import { QueryResultRow } from 'pg';
import {
  checkProjectionName,
  checkTimerLimit,
  formatPosition,
  parsePosition,
  parseTimerCursor,
  settledTimerColumnsOf,
  settledTimerOf,
  TIMER_STATUSES,
  TimerChange,
  timerColumnsOf,
  timerCountsOf,
  TimerIndex,
  timerInstantMs,
  timerPageOf,
  TimerQuery,
  TimerRecord,
  timerRecordOf,
  TimerRow,
  timerRowKey,
  TimerSettleRow,
  TimerStatus,
} from '@esflow/core';
import { pgTables, quote } from './pg-support';

/**
 * Options of {@link createPostgresTimerIndex}: the server, the schema of the timer tables
 * (default `esflow_read`, the read models' schema; created if missing), and the pool size
 * (default 5 connections).
 */
export interface PostgresTimerIndexOptions {
  /** postgres://user@host:5432/database */
  readonly connectionString: string;
  /** Schema holding the timer tables (created if missing). */
  readonly schema?: string;
  readonly maxConnections?: number;
}

/** The PostgreSQL {@link TimerIndex}, closed when its owner stops. */
export interface PostgresTimerIndex extends TimerIndex {
  /** Ends the connection pool; the index cannot be used afterwards. */
  close(): Promise<void>;
}

/** The columns of `esflow_timers`, in the order the insert's arrays are passed. */
const TIMER_COLUMNS = {
  timer_id: 'text',
  workflow: 'text',
  instance_id: 'text',
  event_type: 'text',
  due_at: 'text',
  due_at_ms: 'bigint',
  scheduled_at: 'text',
  scheduled_revision: 'integer',
  status: 'text',
  settled_at: 'text',
  settled_revision: 'integer',
  lateness_ms: 'float8',
  settled_by_event_id: 'text',
  settled_by_event_type: 'text',
  settled_by_revision: 'integer',
} as const satisfies Record<keyof TimerRow, string>;
type TimerColumn = keyof typeof TIMER_COLUMNS;

/** What a settle writes: the timer's id and every column that changes. */
const SETTLE_COLUMNS = [
  'timer_id',
  'status',
  'settled_at',
  'settled_revision',
  'lateness_ms',
  'settled_by_event_id',
  'settled_by_event_type',
  'settled_by_revision',
] as const satisfies readonly (keyof TimerSettleRow)[];

/** A row as `pg` reads it: BIGINT comes back as text. */
type ReadRow = TimerRow<string> & QueryResultRow;

type SettledChange = Extract<TimerChange, { kind: 'settled' }>;

/**
 * The timer index in PostgreSQL, in tables of its own (`esflow_timers`,
 * `esflow_timer_checkpoint`) in the read models' schema, created idempotently on first use; it
 * touches no other table. `apply` runs in one transaction: all of its changes and its checkpoint,
 * or none; however many changes a batch has, it costs three statements. `due`, `nextDueAt` and
 * filtered `list` pages read an index on (status, due time, id), so they stay fast with 100,000
 * timers. Due times are ordered as instants (epoch ms), ties by timer id in byte order (COLLATE
 * "C"), as in the SQLite index; `dueAt` is read back as it was written. A change it rejects (a
 * `dueAt` that is not an ISO-8601 instant with its zone, an unknown status) fails the whole
 * `apply`. `due` takes a `limit` of 0 or more, `list` of 1 or more; an `after` that is not a
 * `next` of a timer index is rejected as MALFORMED_REQUEST. PostgreSQL's errors are raised as
 * EsflowErrors: STORE_UNAVAILABLE (retriable) for lost connections, exhausted resources and
 * serialisation failures, INTERNAL otherwise.
 */
export function createPostgresTimerIndex(options: PostgresTimerIndexOptions): PostgresTimerIndex {
  const schema = options.schema ?? 'esflow_read';
  checkProjectionName(schema);
  const s = quote(schema);
  const timersTable = `${s}.esflow_timers`;
  const checkpointTable = `${s}.esflow_timer_checkpoint`;
  const { query, transact, close } = pgTables({
    connectionString: options.connectionString,
    maxConnections: options.maxConnections,
    schema,
    label: 'PostgreSQL timer index',
    createTables: async (client) => {
      await client.query(`
        CREATE SCHEMA IF NOT EXISTS ${s};
        CREATE TABLE IF NOT EXISTS ${timersTable} (
          timer_id TEXT COLLATE "C" PRIMARY KEY,
          workflow TEXT NOT NULL,
          instance_id TEXT NOT NULL,
          event_type TEXT NOT NULL,
          due_at TEXT NOT NULL,
          due_at_ms BIGINT NOT NULL,
          scheduled_at TEXT NOT NULL,
          scheduled_revision INTEGER NOT NULL,
          status TEXT NOT NULL CHECK (status IN (${TIMER_STATUSES.map((status) => `'${status}'`).join(', ')})),
          settled_at TEXT,
          settled_revision INTEGER,
          lateness_ms DOUBLE PRECISION,
          settled_by_event_id TEXT,
          settled_by_event_type TEXT,
          settled_by_revision INTEGER
        );
        CREATE INDEX IF NOT EXISTS esflow_timers_by_status_due ON ${timersTable} (status, due_at_ms, timer_id);
        CREATE INDEX IF NOT EXISTS esflow_timers_by_due ON ${timersTable} (due_at_ms, timer_id);
        CREATE INDEX IF NOT EXISTS esflow_timers_by_instance ON ${timersTable} (instance_id, due_at_ms, timer_id);
        CREATE TABLE IF NOT EXISTS ${checkpointTable} (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          position TEXT NOT NULL
        );
      `);
    },
  });

  return {
    async apply(changes, position) {
      const { settles, inserts } = netEffect(changes);
      await transact(async (client) => {
        // Existing timers first, so that the settles cannot touch the timers inserted after them.
        // Rows are checked as they are built: a change rejected then rolls back the update.
        if (settles.length > 0) {
          const settled = unnest(SETTLE_COLUMNS, settles.map(settledTimerColumnsOf));
          await client.query(
            `UPDATE ${timersTable} AS t
             SET ${SETTLE_COLUMNS.slice(1)
               .map((column) => `${column} = c.${column}`)
               .join(', ')}
             FROM ${settled.from} WHERE t.timer_id = c.timer_id AND t.status = 'pending'`,
            settled.params,
          );
        }
        if (inserts.length > 0) {
          const columns = Object.keys(TIMER_COLUMNS) as TimerColumn[];
          const inserted = unnest(columns, inserts.map(timerColumnsOf));
          await client.query(
            `INSERT INTO ${timersTable} (${columns.join(', ')}) SELECT * FROM ${inserted.from}
             ON CONFLICT (timer_id) DO NOTHING`,
            inserted.params,
          );
        }
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

    async due(at, limit) {
      checkTimerLimit(limit, 0);
      const rows = await query<ReadRow>(
        `SELECT * FROM ${timersTable} WHERE status = 'pending' AND due_at_ms <= $1
         ORDER BY due_at_ms, timer_id LIMIT $2`,
        [timerInstantMs(at, 'at'), limit],
      );
      return rows.map(timerRecordOf);
    },

    async nextDueAt() {
      const [row] = await query<{ due_at_ms: string }>(
        `SELECT due_at_ms FROM ${timersTable} WHERE status = 'pending'
         ORDER BY due_at_ms, timer_id LIMIT 1`,
      );
      return row && new Date(Number(row.due_at_ms));
    },

    async get(timerId) {
      const [row] = await query<ReadRow>(`SELECT * FROM ${timersTable} WHERE timer_id = $1`, [
        timerId,
      ]);
      return row && timerRecordOf(row);
    },

    async list(timerQuery: TimerQuery) {
      checkTimerLimit(timerQuery.limit, 1);
      const conditions: string[] = [];
      const params: unknown[] = [];
      const narrow = (condition: (...placeholders: string[]) => string, ...values: unknown[]) => {
        const placeholders = values.map((value) => `$${params.push(value)}`);
        conditions.push(condition(...placeholders));
      };
      if (timerQuery.status !== undefined) narrow((p) => `status = ${p}`, timerQuery.status);
      if (timerQuery.dueBefore !== undefined)
        narrow((p) => `due_at_ms < ${p}`, timerInstantMs(timerQuery.dueBefore, 'dueBefore'));
      if (timerQuery.workflow !== undefined) narrow((p) => `workflow = ${p}`, timerQuery.workflow);
      if (timerQuery.instanceId !== undefined)
        narrow((p) => `instance_id = ${p}`, timerQuery.instanceId);
      if (timerQuery.after !== undefined) {
        const after = parseTimerCursor(timerQuery.after);
        narrow((d, id) => `(due_at_ms, timer_id) > (${d}, ${id})`, after.dueMs, after.timerId);
      }
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      // One row more than the page says whether there is a next one.
      const rows = await query<ReadRow>(
        `SELECT * FROM ${timersTable} ${where} ORDER BY due_at_ms, timer_id LIMIT $${params.length + 1}`,
        [...params, timerQuery.limit + 1],
      );
      return timerPageOf(rows, timerQuery.limit, timerRecordOf, timerRowKey);
    },

    async counts() {
      const rows = await query<{ status: TimerStatus; count: number }>(
        `SELECT status, count(*)::integer AS count FROM ${timersTable} GROUP BY status`,
      );
      return timerCountsOf(rows);
    },

    async clear() {
      await query(`TRUNCATE ${timersTable}, ${checkpointTable}`);
    },

    close,
  };
}

/**
 * A batch as two set-based statements instead of one statement per change. Applied in order, the
 * changes settle a timer indexed before the batch by the first `settled` change of its id (if it is
 * pending), and index a new timer from the first `scheduled` change of its id, settled by the first
 * `settled` change after that one. `settles` and `inserts`, run in that order, do the same.
 */
function netEffect(changes: readonly TimerChange[]): {
  settles: SettledChange[];
  inserts: TimerRecord[];
} {
  const firstSettles = new Map<string, SettledChange>();
  const newTimers = new Map<string, TimerRecord>();
  for (const change of changes) {
    if (change.kind === 'scheduled') {
      if (!newTimers.has(change.timer.timerId)) newTimers.set(change.timer.timerId, change.timer);
      continue;
    }
    if (!firstSettles.has(change.timerId)) firstSettles.set(change.timerId, change);
    const scheduled = newTimers.get(change.timerId);
    if (scheduled?.status === TimerStatus.Pending)
      newTimers.set(change.timerId, settledTimerOf(scheduled, change));
  }
  return { settles: [...firstSettles.values()], inserts: [...newTimers.values()] };
}

/** Rows as one array parameter per column, for `FROM unnest(...) AS c(...)`. */
function unnest(
  columns: readonly TimerColumn[],
  rows: readonly Partial<TimerRow>[],
): { from: string; params: unknown[] } {
  const arrays = columns.map((column, i) => `$${i + 1}::${TIMER_COLUMNS[column]}[]`);
  return {
    from: `unnest(${arrays.join(', ')}) AS c(${columns.join(', ')})`,
    params: columns.map((column) => rows.map((row) => row[column] ?? null)),
  };
}
