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
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
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
    db.exec(schema);
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
