import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCode, EsflowError } from '@esflow/core';

/** Where an SQLite adapter's database lives, and how long its writes wait for another's. */
export interface SqliteFileOptions {
  /** The database file; its directory is created if missing. */
  readonly filename: string;
  /** How long a write waits for another process's transaction, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

/** Opens (creating its directory and the file if missing) the database file. */
export function openSqliteFile(filename: string): Database.Database {
  mkdirSync(dirname(filename), { recursive: true });
  return new Database(filename);
}

/** WAL mode, `synchronous = NORMAL`, and a busy timeout (default 5000 ms). */
export function applySqlitePragmas(db: Database.Database, busyTimeoutMs = 5000): void {
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  enableWal(db, busyTimeoutMs);
  db.pragma('synchronous = NORMAL');
}

/**
 * Puts the database in WAL mode, waiting up to `timeoutMs` for another process that holds the
 * file (creating it, or switching it to WAL itself): SQLite answers that switch "database is
 * locked" at once, without its busy timeout, so two processes starting together on a new file
 * (the api and the projector) would otherwise fail one start in a few.
 */
export function enableWal(db: Database.Database, timeoutMs = 5000): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      const busy = typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
      if (!busy || Date.now() >= deadline) throw error;
      // A synchronous pause: opening a file is synchronous in better-sqlite3.
      Atomics.wait(PAUSE, 0, 0, 10);
    }
  }
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `ddl` (the `CREATE … IF NOT EXISTS` of an adapter's tables) in one `BEGIN IMMEDIATE`
 * transaction. Two processes starting at once on a new file (the api and the projector of
 * `npm start`) would otherwise race: a statement that read the schema and then writes fails at
 * once with "database is locked" (SQLITE_BUSY_SNAPSHOT: the busy timeout does not apply) when the
 * other committed in between; taking the write lock first makes the second wait its turn.
 */
export function execSchema(db: Database.Database, ddl: string): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(ddl);
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/**
 * The database of an adapter with tables of its own: opened with {@link applySqlitePragmas} and
 * `schema` executed; on failure it is closed again and the error raised in esflow's terms
 * ({@link translatedSqliteError}, prefixed with `label`).
 */
export function openSqliteTables(
  options: SqliteFileOptions,
  schema: string,
  label: string,
): Database.Database {
  const db = openSqliteFile(options.filename);
  try {
    applySqlitePragmas(db, options.busyTimeoutMs);
    execSchema(db, schema);
  } catch (error) {
    db.close();
    throw translatedSqliteError(error, label);
  }
  return db;
}

/**
 * `work` (synchronous) as an async function whose errors are raised in esflow's terms
 * ({@link translatedSqliteError}, prefixed with `label`).
 */
export const sqliteGuard =
  (label: string) =>
  <A extends unknown[], R>(work: (...args: A) => R) =>
  async (...args: A): Promise<R> => {
    try {
      return work(...args);
    } catch (error) {
      throw translatedSqliteError(error, label);
    }
  };

/**
 * SQLite's errors in esflow's terms, prefixed with `label`: a busy, full or failing file is worth
 * retrying. An EsflowError is passed on as it is.
 */
export function translatedSqliteError(error: unknown, label: string): EsflowError {
  if (error instanceof EsflowError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const retriable =
    typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN)/.test(code);
  return new EsflowError(
    retriable ? ErrorCode.StoreUnavailable : ErrorCode.Internal,
    `${label}: ${message}`,
    { retriable, cause: error },
  );
}
