import Database from 'better-sqlite3';
import {
  checkTimerLimit,
  formatPosition,
  GlobalPosition,
  parsePosition,
  parseTimerCursor,
  settledTimerColumnsOf,
  TIMER_STATUSES,
  TimerChange,
  timerColumnsOf,
  timerCountsOf,
  TimerIndex,
  timerInstantMs,
  timerPageOf,
  TimerQuery,
  timerRecordOf,
  TimerRow,
  timerRowKey,
  TimerStatus,
} from '@esflow/core';
import { openSqliteTables, sqliteGuard } from '../sqlite-support';

/** Where the SQLite timer index lives: the read-model database file, as a rule. */
export interface SqliteTimerIndexOptions {
  /** The database file (`readmodel.sqlite`); its directory is created if missing. */
  readonly filename: string;
  /** How long a write waits for another process's transaction, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

/** The SQLite {@link TimerIndex}, closed when its owner stops. */
export interface SqliteTimerIndex extends TimerIndex {
  /** Closes the database connection; the index cannot be used afterwards. */
  close(): Promise<void>;
}

const STATUS_LIST = TIMER_STATUSES.map((status) => `'${status}'`).join(', ');

// dueAt is kept as given (read back exactly) and as epoch ms (ordered exactly).
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS esflow_timers (
    timer_id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    due_at TEXT NOT NULL,
    due_at_ms INTEGER NOT NULL,
    scheduled_at TEXT NOT NULL,
    scheduled_revision INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN (${STATUS_LIST})),
    settled_at TEXT,
    settled_revision INTEGER,
    lateness_ms REAL,
    settled_by_event_id TEXT,
    settled_by_event_type TEXT,
    settled_by_revision INTEGER
  );
  CREATE INDEX IF NOT EXISTS esflow_timers_by_status_due ON esflow_timers (status, due_at_ms, timer_id);
  CREATE INDEX IF NOT EXISTS esflow_timers_by_due ON esflow_timers (due_at_ms, timer_id);
  CREATE INDEX IF NOT EXISTS esflow_timers_by_instance ON esflow_timers (instance_id, due_at_ms, timer_id);
  CREATE TABLE IF NOT EXISTS esflow_timer_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position TEXT NOT NULL
  );
`;

/**
 * The timer index in SQLite (better-sqlite3), in tables of its own (`esflow_timers`,
 * `esflow_timer_checkpoint`) that it creates on open and that can share the read-model file; it
 * touches no other table. WAL mode; `apply` and `clear` run as BEGIN IMMEDIATE transactions, so
 * they are atomic across processes, and every index on the same file sees what one committed.
 * `due`, `nextDueAt` and filtered `list` pages read an index on (status, due time, id), so they
 * stay fast with 100,000 timers. Due times are ordered as instants (epoch ms), ties by timer id
 * in UTF-8 byte order; `dueAt` is read back as it was written. A change it rejects (a `dueAt`
 * that is not an ISO-8601 instant with its zone, an unknown status) fails the whole `apply`:
 * none of its changes and not its checkpoint are kept. `due` takes a `limit` of 0 or more,
 * `list` of 1 or more; an `after` that is not a `next` of a timer index is rejected as
 * MALFORMED_REQUEST. SQLite's own errors are raised as EsflowErrors: STORE_UNAVAILABLE
 * (retriable) when the file is locked too long, full or failing, INTERNAL otherwise.
 */
export function createSqliteTimerIndex(options: SqliteTimerIndexOptions): SqliteTimerIndex {
  const db = openSqliteTables(options, SCHEMA, 'SQLite timer index');

  const statements = {
    schedule: db.prepare(
      `INSERT INTO esflow_timers (timer_id, workflow, instance_id, event_type, due_at, due_at_ms, scheduled_at,
         scheduled_revision, status, settled_at, settled_revision, lateness_ms, settled_by_event_id,
         settled_by_event_type, settled_by_revision)
       VALUES (@timer_id, @workflow, @instance_id, @event_type, @due_at, @due_at_ms, @scheduled_at,
         @scheduled_revision, @status, @settled_at, @settled_revision, @lateness_ms, @settled_by_event_id,
         @settled_by_event_type, @settled_by_revision)
       ON CONFLICT (timer_id) DO NOTHING`,
    ),
    settle: db.prepare(
      `UPDATE esflow_timers SET status = @status, settled_at = @settled_at, settled_revision = @settled_revision,
         lateness_ms = @lateness_ms, settled_by_event_id = @settled_by_event_id,
         settled_by_event_type = @settled_by_event_type, settled_by_revision = @settled_by_revision
       WHERE timer_id = @timer_id AND status = 'pending'`,
    ),
    saveCheckpoint: db.prepare(
      `INSERT INTO esflow_timer_checkpoint (id, position) VALUES (1, ?)
       ON CONFLICT (id) DO UPDATE SET position = excluded.position`,
    ),
    checkpoint: db.prepare<[], { position: string }>(
      'SELECT position FROM esflow_timer_checkpoint WHERE id = 1',
    ),
    due: db.prepare<[number, number], TimerRow>(
      `SELECT * FROM esflow_timers WHERE status = 'pending' AND due_at_ms <= ?
       ORDER BY due_at_ms, timer_id LIMIT ?`,
    ),
    nextDue: db.prepare<[], { due_at_ms: number }>(
      `SELECT due_at_ms FROM esflow_timers WHERE status = 'pending' ORDER BY due_at_ms, timer_id LIMIT 1`,
    ),
    get: db.prepare<[string], TimerRow>('SELECT * FROM esflow_timers WHERE timer_id = ?'),
    counts: db.prepare<[], { status: TimerStatus; count: number }>(
      'SELECT status, COUNT(*) AS count FROM esflow_timers GROUP BY status',
    ),
  };
  const listStatements = new Map<string, Database.Statement<unknown[], TimerRow>>();

  // A change rejected halfway (timerColumnsOf and settledTimerColumnsOf check each) rolls back the ones before it.
  const applyAll = db.transaction((changes: readonly TimerChange[], position: GlobalPosition) => {
    for (const change of changes) {
      if (change.kind === 'scheduled') statements.schedule.run(timerColumnsOf(change.timer));
      else statements.settle.run(settledTimerColumnsOf(change));
    }
    statements.saveCheckpoint.run(formatPosition(position));
  });
  const clearAll = db.transaction(() => {
    db.exec('DELETE FROM esflow_timers; DELETE FROM esflow_timer_checkpoint;');
  });

  const guarded = sqliteGuard('SQLite timer index');

  return {
    apply: guarded((changes: readonly TimerChange[], position: GlobalPosition) =>
      applyAll.immediate(changes, position),
    ),

    checkpoint: guarded(() => {
      const row = statements.checkpoint.get();
      return row && parsePosition(row.position);
    }),

    due: guarded((at: Date, limit: number) => {
      checkTimerLimit(limit, 0);
      return statements.due.all(timerInstantMs(at, 'at'), limit).map(timerRecordOf);
    }),

    nextDueAt: guarded(() => {
      const row = statements.nextDue.get();
      return row && new Date(row.due_at_ms);
    }),

    get: guarded((timerId: string) => {
      const row = statements.get.get(timerId);
      return row && timerRecordOf(row);
    }),

    list: guarded((query: TimerQuery) => {
      checkTimerLimit(query.limit, 1);
      const conditions: string[] = [];
      const params: unknown[] = [];
      const narrow = (condition: string, ...values: unknown[]) => {
        conditions.push(condition);
        params.push(...values);
      };
      if (query.status !== undefined) narrow('status = ?', query.status);
      if (query.dueBefore !== undefined)
        narrow('due_at_ms < ?', timerInstantMs(query.dueBefore, 'dueBefore'));
      if (query.workflow !== undefined) narrow('workflow = ?', query.workflow);
      if (query.instanceId !== undefined) narrow('instance_id = ?', query.instanceId);
      if (query.after !== undefined) {
        const after = parseTimerCursor(query.after);
        narrow('(due_at_ms, timer_id) > (?, ?)', after.dueMs, after.timerId);
      }
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      let statement = listStatements.get(where);
      if (!statement) {
        statement = db.prepare<unknown[], TimerRow>(
          `SELECT * FROM esflow_timers ${where} ORDER BY due_at_ms, timer_id LIMIT ?`,
        );
        listStatements.set(where, statement);
      }
      // One row more than the page says whether there is a next one.
      const rows = statement.all(...params, query.limit + 1);
      return timerPageOf(rows, query.limit, timerRecordOf, timerRowKey);
    }),

    counts: guarded(() => timerCountsOf(statements.counts.all())),

    clear: guarded(() => clearAll.immediate()),

    async close() {
      db.close();
    },
  };
}
