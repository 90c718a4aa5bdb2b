import { createHash } from 'node:crypto';
import { Pool, PoolClient } from 'pg';
import {
  canonicalJson,
  checkProjectionName,
  collectionTable,
  DocumentWriter,
  ErrorCode,
  EsflowError,
  formatPosition,
  parsePosition,
  PROCESSOR_REPORT_RETENTION_MS,
  ProcessorReport,
  ProjectionRecord,
  ProjectionRequestKind,
  ReadModelDocument,
  ReadModelStore,
  ReadModelTransaction,
} from '@esflow/core';
import { quote } from './pg-support';

/**
 * Options of {@link createPostgresReadModelStore}: the server to connect to, the schema for
 * esflow's tables (default `esflow_read`, created by `migrate()`), and the pool size (default 5
 * connections).
 */
export interface PostgresReadModelStoreOptions {
  /** postgres://user@host:5432/database */
  readonly connectionString: string;
  /** Schema holding esflow's read-model tables (created if missing). */
  readonly schema?: string;
  readonly maxConnections?: number;
}

function unavailable(error: unknown): EsflowError {
  return new EsflowError(
    ErrorCode.StoreUnavailable,
    `PostgreSQL read model: ${(error as Error).message}`,
    {
      retriable: true,
      cause: error,
    },
  );
}

/**
 * Read models in PostgreSQL (production): documents as jsonb, one table per projection
 * generation and collection, expression indexes on queried fields, ids ordered by byte value
 * (COLLATE "C") so paging matches the SQLite store exactly.
 */
export function createPostgresReadModelStore(
  options: PostgresReadModelStoreOptions,
): ReadModelStore {
  const schema = options.schema ?? 'esflow_read';
  checkProjectionName(schema);
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 5,
  });
  const s = quote(schema);
  const table = (projection: string, collection: string, generation: number) =>
    `${s}.${quote(collectionTable(projection, collection, generation))}`;

  async function withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw unavailable(error);
    }
    try {
      return await work(client);
    } finally {
      client.release();
    }
  }

  /**
   * A transaction whose document writes are buffered (reads see them) and flushed at commit as
   * one multi-row statement per table: one round trip per table and batch, not per document.
   */
  const transactionOn = (client: PoolClient): ReadModelTransaction & { flush(): Promise<void> } => {
    /**
     * table → id → document to upsert (as JSON text, so that a caller changing the object after
     * `put` changes nothing), or null to delete; the last write of an id wins.
     */
    const pending = new Map<string, Map<string, string | null>>();
    const pendingFor = (name: string) => {
      let writes = pending.get(name);
      if (!writes) pending.set(name, (writes = new Map()));
      return writes;
    };
    return {
      documents(projection, generation): DocumentWriter {
        return {
          async get(collection, id) {
            const name = table(projection, collection, generation);
            const buffered = pending.get(name)?.get(id);
            if (buffered !== undefined)
              return buffered === null ? undefined : (JSON.parse(buffered) as ReadModelDocument);
            const result = await client.query<{ doc: ReadModelDocument }>(
              `SELECT doc FROM ${name} WHERE id = $1`,
              [id],
            );
            return result.rows[0]?.doc;
          },
          async put(collection, id, document) {
            pendingFor(table(projection, collection, generation)).set(id, JSON.stringify(document));
          },
          async delete(collection, id) {
            pendingFor(table(projection, collection, generation)).set(id, null);
          },
        };
      },
      async flush() {
        for (const [name, writes] of pending) {
          const upserts = [...writes].filter(
            (entry): entry is [string, string] => entry[1] !== null,
          );
          const deletes = [...writes].filter(([, doc]) => doc === null).map(([id]) => id);
          if (upserts.length > 0)
            await client.query(
              `INSERT INTO ${name} (id, doc) SELECT * FROM unnest($1::text[], $2::jsonb[])
             ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`,
              [upserts.map(([id]) => id), upserts.map(([, doc]) => doc)],
            );
          if (deletes.length > 0)
            await client.query(`DELETE FROM ${name} WHERE id = ANY($1::text[])`, [deletes]);
        }
        pending.clear();
      },
      async saveCheckpoint(projection, generation, checkpoint) {
        await client.query(
          `INSERT INTO ${s}.esflow_projection_checkpoints (name, generation, position, events_applied) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name, generation) DO UPDATE SET position = EXCLUDED.position, events_applied = EXCLUDED.events_applied`,
          [projection, generation, formatPosition(checkpoint.position), checkpoint.eventsApplied],
        );
      },
      async saveRecord(record) {
        await client.query(
          `INSERT INTO ${s}.esflow_projections (name, record) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record`,
          [record.name, JSON.stringify(record)],
        );
      },
      async recordSkip(projection, failure, reason) {
        await client.query(
          `INSERT INTO ${s}.esflow_projection_skips (name, stream_name, revision, type, position, message, reason, skipped_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now())`,
          [
            projection,
            failure.streamName,
            failure.revision,
            failure.type,
            failure.position,
            failure.message,
            reason,
          ],
        );
      },
    };
  };

  const store: ReadModelStore = {
    async migrate() {
      await withClient(async (client) => {
        // Concurrent first starts (api and projector) must not race on CREATE.
        await client.query('SELECT pg_advisory_lock(hashtext($1))', [`esflow-migrate-${schema}`]);
        try {
          await client.query(`
            CREATE SCHEMA IF NOT EXISTS ${s};
            CREATE TABLE IF NOT EXISTS ${s}.esflow_projections (
              name TEXT PRIMARY KEY, record JSONB, owner TEXT, lease_until TIMESTAMPTZ
            );
            CREATE TABLE IF NOT EXISTS ${s}.esflow_projection_checkpoints (
              name TEXT NOT NULL, generation INTEGER NOT NULL, position TEXT NOT NULL, events_applied BIGINT NOT NULL,
              PRIMARY KEY (name, generation)
            );
            CREATE TABLE IF NOT EXISTS ${s}.esflow_projection_requests (
              id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, requested_at TIMESTAMPTZ NOT NULL DEFAULT now(), taken_at TIMESTAMPTZ
            );
            CREATE TABLE IF NOT EXISTS ${s}.esflow_processor_reports (
              owner TEXT PRIMARY KEY, reported_at TIMESTAMPTZ NOT NULL, processors JSONB NOT NULL
            );
            CREATE TABLE IF NOT EXISTS ${s}.esflow_projection_skips (
              id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, stream_name TEXT NOT NULL, revision INTEGER NOT NULL, type TEXT NOT NULL,
              position TEXT NOT NULL, message TEXT NOT NULL, reason TEXT NOT NULL, skipped_at TIMESTAMPTZ NOT NULL
            );
          `);
        } finally {
          await client.query('SELECT pg_advisory_unlock(hashtext($1))', [
            `esflow-migrate-${schema}`,
          ]);
        }
      });
    },

    async createGeneration(projection, generation, collections) {
      checkProjectionName(projection);
      await withClient(async (client) => {
        for (const [collection, spec] of Object.entries(collections)) {
          checkProjectionName(collection);
          const name = collectionTable(projection, collection, generation);
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${s}.${quote(name)} (id TEXT COLLATE "C" PRIMARY KEY, doc JSONB NOT NULL)`,
          );
          for (const field of spec.indexes) {
            checkProjectionName(field.toLowerCase());
            await client.query(
              `CREATE INDEX IF NOT EXISTS ${quote(`${name}_${field}`)} ON ${s}.${quote(name)} ((doc -> ${quoteLiteral(field)}), id)`,
            );
          }
        }
      });
    },

    async dropGeneration(projection, generation, collections) {
      await withClient(async (client) => {
        for (const collection of Object.keys(collections))
          await client.query(`DROP TABLE IF EXISTS ${table(projection, collection, generation)}`);
        await client.query(
          `DELETE FROM ${s}.esflow_projection_checkpoints WHERE name = $1 AND generation = $2`,
          [projection, generation],
        );
      });
    },

    transact(work) {
      return withClient(async (client) => {
        await client.query('BEGIN');
        try {
          const tx = transactionOn(client);
          const result = await work(tx);
          await tx.flush();
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      });
    },

    async checkpoint(projection, generation) {
      const result = await pool
        .query<{
          position: string;
          events_applied: string;
        }>(
          `SELECT position, events_applied FROM ${s}.esflow_projection_checkpoints WHERE name = $1 AND generation = $2`,
          [projection, generation],
        )
        .catch((error: unknown) => Promise.reject(unavailable(error)));
      const row = result.rows[0];
      return row
        ? { position: parsePosition(row.position), eventsApplied: Number(row.events_applied) }
        : undefined;
    },

    async record(projection) {
      const result = await pool.query<{ record: ProjectionRecord | null }>(
        `SELECT record FROM ${s}.esflow_projections WHERE name = $1`,
        [projection],
      );
      return result.rows[0]?.record ?? undefined;
    },

    async records() {
      const result = await pool.query<{ record: ProjectionRecord }>(
        `SELECT record FROM ${s}.esflow_projections WHERE record IS NOT NULL ORDER BY name`,
      );
      return result.rows.map((row) => row.record);
    },

    async acquireLease(projection, owner, ttlMs) {
      await pool.query(
        `INSERT INTO ${s}.esflow_projections (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`,
        [projection],
      );
      const result = await pool.query(
        `UPDATE ${s}.esflow_projections SET owner = $2, lease_until = now() + ($3 || ' milliseconds')::interval
         WHERE name = $1 AND (owner IS NULL OR owner = $2 OR lease_until < now())`,
        [projection, owner, String(ttlMs)],
      );
      return result.rowCount === 1;
    },

    async reportProcessors(report) {
      // One statement: the upsert and the clean-up of reports nobody renewed for a day.
      await pool.query(
        `WITH forgotten AS (
           DELETE FROM ${s}.esflow_processor_reports
           WHERE reported_at < now() - ($4 || ' milliseconds')::interval AND owner <> $1
         )
         INSERT INTO ${s}.esflow_processor_reports (owner, reported_at, processors) VALUES ($1, $2, $3)
         ON CONFLICT (owner) DO UPDATE SET reported_at = excluded.reported_at, processors = excluded.processors`,
        [
          report.owner,
          report.reportedAt,
          JSON.stringify(report.processors),
          String(PROCESSOR_REPORT_RETENTION_MS),
        ],
      );
    },

    async processorReports() {
      const result = await pool.query<{
        owner: string;
        reported_at: Date;
        processors: ProcessorReport['processors'];
      }>(`SELECT owner, reported_at, processors FROM ${s}.esflow_processor_reports ORDER BY owner`);
      return result.rows.map((row) => ({
        owner: row.owner,
        reportedAt: row.reported_at.toISOString(),
        processors: row.processors,
      }));
    },

    async releaseLease(projection, owner) {
      await pool.query(
        `UPDATE ${s}.esflow_projections SET owner = NULL, lease_until = NULL WHERE name = $1 AND owner = $2`,
        [projection, owner],
      );
    },

    async request(projection, kind) {
      const result = await pool.query<{ id: string }>(
        `INSERT INTO ${s}.esflow_projection_requests (name, kind) VALUES ($1, $2) RETURNING id`,
        [projection, kind],
      );
      return { id: Number(result.rows[0]!.id), projection, kind };
    },

    async takeRequests(projections) {
      if (projections.length === 0) return [];
      const result = await pool.query<{ id: string; name: string; kind: ProjectionRequestKind }>(
        `UPDATE ${s}.esflow_projection_requests SET taken_at = now()
         WHERE taken_at IS NULL AND name = ANY($1) RETURNING id, name, kind`,
        [projections],
      );
      return result.rows
        .map((row) => ({ id: Number(row.id), projection: row.name, kind: row.kind }))
        .sort((a, b) => a.id - b.id);
    },

    async pendingRequests(projection) {
      const result = await pool.query<{ id: string; kind: ProjectionRequestKind }>(
        `SELECT id, kind FROM ${s}.esflow_projection_requests WHERE taken_at IS NULL AND name = $1 ORDER BY id`,
        [projection],
      );
      return result.rows.map((row) => ({ id: Number(row.id), projection, kind: row.kind }));
    },

    async find(projection, collection, query) {
      const record = await store.record(projection);
      if (!record) return [];
      const conditions: string[] = [];
      const params: unknown[] = [];
      for (const [field, value] of Object.entries(query.where ?? {})) {
        params.push(JSON.stringify(value));
        conditions.push(`doc -> ${quoteLiteral(field)} = $${params.length}::jsonb`);
      }
      if (query.id !== undefined) {
        params.push(query.id);
        conditions.push(`id = $${params.length}`);
      }
      if (query.after !== undefined) {
        params.push(query.after);
        conditions.push(`id > $${params.length}`);
      }
      params.push(query.limit);
      const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
      try {
        const result = await pool.query<{ doc: ReadModelDocument }>(
          `SELECT doc FROM ${table(projection, collection, record.activeGeneration)} ${where} ORDER BY id LIMIT $${params.length}`,
          params,
        );
        return result.rows.map((row) => row.doc);
      } catch (error) {
        if ((error as { code?: string }).code === '42P01') return []; // table not created yet
        throw unavailable(error);
      }
    },

    async digest(projection, generation, collections) {
      const hash = createHash('sha256');
      for (const collection of Object.keys(collections).sort()) {
        const result = await pool.query<{ id: string; doc: unknown }>(
          `SELECT id, doc FROM ${table(projection, collection, generation)} ORDER BY id`,
        );
        for (const row of result.rows)
          hash.update(`${collection}\u0000${row.id}\u0000${canonicalJson(row.doc)}\n`);
      }
      return hash.digest('hex');
    },

    async close() {
      await pool.end();
    },
  };
  return store;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
