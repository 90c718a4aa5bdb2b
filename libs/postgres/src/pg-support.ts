import { Pool, PoolClient, QueryResultRow } from 'pg';
import { ErrorCode, EsflowError } from '@esflow/core';

/** An SQL identifier, double-quoted (a quote inside doubled). */
export const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** What {@link pgTables} needs: the server, the schema and how to create the tables in it. */
export interface PgTablesOptions {
  /** postgres://user@host:5432/database */
  readonly connectionString: string;
  /** Pool size (default 5 connections). */
  readonly maxConnections?: number;
  /** The schema the tables live in; its name takes the migration lock. */
  readonly schema: string;
  /** What PostgreSQL's errors are prefixed with: `PostgreSQL timer index`. */
  readonly label: string;
  /** Creates the tables idempotently, in a transaction that holds the migration lock. */
  createTables(client: PoolClient): Promise<void>;
}

/**
 * An adapter's tables in PostgreSQL: a pool, and the ways to reach it. Every error is raised in
 * esflow's terms ({@link translatedPgError}). `withClient` and `inTransaction` do not wait for the
 * tables; `query` and `transact` create them first, once (again after a failed attempt).
 */
export interface PgTables {
  withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
  /** BEGIN … COMMIT, or ROLLBACK when `work` fails. */
  inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
  /** The tables, created on the first call. */
  ready(): Promise<void>;
  /** One statement once the tables are ready: its rows. */
  query<Row extends QueryResultRow>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** One transaction once the tables are ready. */
  transact<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
  /** Ends the pool. */
  close(): Promise<void>;
}

/** The pool and tables of one adapter (see {@link PgTables}). */
export function pgTables(options: PgTablesOptions): PgTables {
  const { schema, label } = options;
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 5,
  });
  // An idle connection that fails is replaced; the failure reaches the next query that needs it.
  pool.on('error', () => undefined);

  async function withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw translatedPgError(error, label);
    }
    try {
      return await work(client);
    } catch (error) {
      throw translatedPgError(error, label);
    } finally {
      client.release();
    }
  }

  const inTransaction = <T>(work: (client: PoolClient) => Promise<T>): Promise<T> =>
    withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });

  const createTables = () =>
    inTransaction(async (client) => {
      // The read-model store's migration takes the same lock: first starts must not race on CREATE.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `esflow-migrate-${schema}`,
      ]);
      await options.createTables(client);
    });
  let tablesReady: Promise<void> | undefined;
  const ready = () =>
    (tablesReady ??= createTables().catch((error: unknown) => {
      tablesReady = undefined; // the next call tries again
      throw error;
    }));

  return {
    withClient,
    inTransaction,
    ready,
    async query<Row extends QueryResultRow>(sql: string, params: unknown[] = []) {
      await ready();
      return withClient((client) => client.query<Row>(sql, params)).then((result) => result.rows);
    },
    async transact<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
      await ready();
      return inTransaction(work);
    },
    async close() {
      await pool.end();
    },
  };
}

/**
 * PostgreSQL's errors in esflow's terms, prefixed with `label`. Worth retrying: a failed or
 * refused connection (no SQLSTATE), and the classes that pass with time — 08 connection, 40
 * rollback (serialisation, deadlock), 53 resources, 57 operator intervention (shutdown), 58
 * system. An EsflowError is passed on as it is.
 */
export function translatedPgError(error: unknown, label: string): EsflowError {
  if (error instanceof EsflowError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const retriable = sqlState === undefined || /^(08|40|53|57|58)/.test(sqlState);
  const message = error instanceof Error ? error.message : String(error);
  return new EsflowError(
    retriable ? ErrorCode.StoreUnavailable : ErrorCode.Internal,
    `${label}: ${message}`,
    { retriable, cause: error },
  );
}
