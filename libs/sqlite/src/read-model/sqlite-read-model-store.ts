import { createHash } from 'node:crypto';
import {
  canonicalJson,
  Checkpoint,
  checkProjectionName,
  collectionTable,
  DocumentWriter,
  formatPosition,
  parsePosition,
  PROCESSOR_REPORT_RETENTION_MS,
  ProcessorReport,
  ProjectionRecord,
  ProjectionRequest,
  ProjectionRequestKind,
  ReadModelDocument,
  ReadModelStore,
  ReadModelTransaction,
} from '@esflow/core';
import type Database from 'better-sqlite3';
import { applySqlitePragmas, execSchema, openSqliteFile } from '../sqlite-support';

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;
const fieldPath = (field: string) => {
  checkProjectionName(field.toLowerCase());
  return `'$.${field}'`;
};

/** Where the SQLite read model lives. */
export interface SqliteReadModelStoreOptions {
  /** The database file; its directory is created if missing. */
  readonly filename: string;
  /** How long a write waits for another process's transaction, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

/**
 * Read models in SQLite (the embedded default; a file of its own beside the event store, so a
 * rebuild does not hold the event store's write lock). Transactions are serialised on the one
 * connection; each runs BEGIN IMMEDIATE … COMMIT, so it is atomic across processes too.
 */
export function createSqliteReadModelStore(options: SqliteReadModelStoreOptions): ReadModelStore {
  const db = openSqliteFile(options.filename);
  applySqlitePragmas(db, options.busyTimeoutMs);
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work, work);
    tail = result.catch(() => undefined);
    return result;
  };

  // Prepared once per SQL text (preparing costs more than running a small statement); forgotten
  // when a generation's tables are created or dropped.
  const statements = new Map<string, Database.Statement<unknown[], unknown>>();
  const statement = <R = unknown>(sql: string) => {
    let prepared = statements.get(sql);
    if (!prepared) statements.set(sql, (prepared = db.prepare(sql)));
    return prepared as Database.Statement<unknown[], R>;
  };

  // The running transaction's document writes, by table then id (null: deleted), written at its
  // commit: a batch that moves one document several times (an instance's events) writes it once.
  // Kept as JSON text, so a caller changing an object after `put` changes nothing.
  let pending: Map<string, Map<string, string | null>> | undefined;
  const flushPending = () => {
    for (const [table, writes] of pending ?? [])
      for (const [id, doc] of writes)
        if (doc === null) statement(`DELETE FROM ${table} WHERE id = ?`).run(id);
        else
          statement(
            `INSERT INTO ${table} (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`,
          ).run(id, doc);
  };
  const write = (table: string, id: string, doc: string | null) => {
    if (!pending) throw new Error('SQLite read model: a document written outside a transaction');
    let writes = pending.get(table);
    if (!writes) pending.set(table, (writes = new Map()));
    writes.set(id, doc);
  };

  const documents = (projection: string, generation: number): DocumentWriter => {
    const table = (collection: string) =>
      quote(collectionTable(projection, collection, generation));
    return {
      async get(collection, id) {
        const name = table(collection);
        const written = pending?.get(name)?.get(id);
        const doc =
          written !== undefined
            ? written
            : statement<{ doc: string }>(`SELECT doc FROM ${name} WHERE id = ?`).get(id)?.doc;
        return doc ? (JSON.parse(doc) as ReadModelDocument) : undefined;
      },
      async put(collection, id, document) {
        write(table(collection), id, JSON.stringify(document));
      },
      async delete(collection, id) {
        write(table(collection), id, null);
      },
    };
  };

  const transaction: ReadModelTransaction = {
    documents,
    async saveCheckpoint(projection, generation, checkpoint) {
      statement(
        `INSERT INTO esflow_projection_checkpoints (name, generation, position, events_applied) VALUES (?, ?, ?, ?)
         ON CONFLICT (name, generation) DO UPDATE SET position = excluded.position, events_applied = excluded.events_applied`,
      ).run(projection, generation, formatPosition(checkpoint.position), checkpoint.eventsApplied);
    },
    async saveRecord(record) {
      statement(
        `INSERT INTO esflow_projections (name, record) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET record = excluded.record`,
      ).run(record.name, JSON.stringify(record));
    },
    async recordSkip(projection, failure, reason) {
      db.prepare(
        `INSERT INTO esflow_projection_skips (name, stream_name, revision, type, position, message, reason, skipped_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        projection,
        failure.streamName,
        failure.revision,
        failure.type,
        failure.position,
        failure.message,
        reason,
        new Date().toISOString(),
      );
    },
  };

  const store: ReadModelStore = {
    async migrate() {
      execSchema(
        db,
        `
        CREATE TABLE IF NOT EXISTS esflow_projections (
          name TEXT PRIMARY KEY, record TEXT, owner TEXT, lease_until INTEGER
        );
        CREATE TABLE IF NOT EXISTS esflow_projection_checkpoints (
          name TEXT NOT NULL, generation INTEGER NOT NULL, position TEXT NOT NULL, events_applied INTEGER NOT NULL,
          PRIMARY KEY (name, generation)
        );
        CREATE TABLE IF NOT EXISTS esflow_projection_requests (
          id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL, requested_at TEXT NOT NULL, taken_at TEXT
        );
        CREATE TABLE IF NOT EXISTS esflow_processor_reports (
          owner TEXT PRIMARY KEY, reported_at TEXT NOT NULL, processors TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS esflow_projection_skips (
          id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, stream_name TEXT NOT NULL, revision INTEGER NOT NULL,
          type TEXT NOT NULL, position TEXT NOT NULL, message TEXT NOT NULL, reason TEXT NOT NULL, skipped_at TEXT NOT NULL
        );
      `,
      );
    },

    async createGeneration(projection, generation, collections) {
      checkProjectionName(projection);
      statements.clear();
      for (const [collection, spec] of Object.entries(collections)) {
        checkProjectionName(collection);
        const table = collectionTable(projection, collection, generation);
        db.exec(
          `CREATE TABLE IF NOT EXISTS ${quote(table)} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)`,
        );
        for (const field of spec.indexes)
          db.exec(
            `CREATE INDEX IF NOT EXISTS ${quote(`${table}_${field}`)} ON ${quote(table)} (json_extract(doc, ${fieldPath(field)}), id)`,
          );
      }
    },

    async dropGeneration(projection, generation, collections) {
      await exclusive(async () => {
        statements.clear();
        for (const collection of Object.keys(collections))
          db.exec(
            `DROP TABLE IF EXISTS ${quote(collectionTable(projection, collection, generation))}`,
          );
        db.prepare(
          'DELETE FROM esflow_projection_checkpoints WHERE name = ? AND generation = ?',
        ).run(projection, generation);
      });
    },

    transact(work) {
      return exclusive(async () => {
        db.exec('BEGIN IMMEDIATE');
        pending = new Map();
        try {
          const result = await work(transaction);
          flushPending();
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        } finally {
          pending = undefined;
        }
      });
    },

    async checkpoint(projection, generation): Promise<Checkpoint | undefined> {
      const row = db
        .prepare<
          [string, number],
          { position: string; events_applied: number }
        >('SELECT position, events_applied FROM esflow_projection_checkpoints WHERE name = ? AND generation = ?')
        .get(projection, generation);
      return row
        ? { position: parsePosition(row.position), eventsApplied: row.events_applied }
        : undefined;
    },

    async record(projection) {
      const row = db
        .prepare<
          [string],
          { record: string | null }
        >('SELECT record FROM esflow_projections WHERE name = ?')
        .get(projection);
      return row?.record ? (JSON.parse(row.record) as ProjectionRecord) : undefined;
    },

    async records() {
      return db
        .prepare<[], { record: string }>(
          'SELECT record FROM esflow_projections WHERE record IS NOT NULL ORDER BY name',
        )
        .all()
        .map((row) => JSON.parse(row.record) as ProjectionRecord);
    },

    async acquireLease(projection, owner, ttlMs) {
      return exclusive(async () => {
        const now = Date.now();
        db.prepare(
          'INSERT INTO esflow_projections (name) VALUES (?) ON CONFLICT (name) DO NOTHING',
        ).run(projection);
        const changed = db
          .prepare(
            `UPDATE esflow_projections SET owner = ?, lease_until = ?
             WHERE name = ? AND (owner IS NULL OR owner = ? OR lease_until < ?)`,
          )
          .run(owner, now + ttlMs, projection, owner, now).changes;
        return changed === 1;
      });
    },

    async reportProcessors(report) {
      const forgetBefore = new Date(Date.now() - PROCESSOR_REPORT_RETENTION_MS).toISOString();
      db.transaction(() => {
        statement('DELETE FROM esflow_processor_reports WHERE reported_at < ?').run(forgetBefore);
        statement(
          `INSERT INTO esflow_processor_reports (owner, reported_at, processors) VALUES (?, ?, ?)
           ON CONFLICT (owner) DO UPDATE SET reported_at = excluded.reported_at, processors = excluded.processors`,
        ).run(report.owner, report.reportedAt, JSON.stringify(report.processors));
      })();
    },

    async processorReports() {
      return statement<{ owner: string; reported_at: string; processors: string }>(
        'SELECT owner, reported_at, processors FROM esflow_processor_reports ORDER BY owner',
      )
        .all()
        .map((row) => ({
          owner: row.owner,
          reportedAt: row.reported_at,
          processors: JSON.parse(row.processors) as ProcessorReport['processors'],
        }));
    },

    async releaseLease(projection, owner) {
      db.prepare(
        'UPDATE esflow_projections SET owner = NULL, lease_until = NULL WHERE name = ? AND owner = ?',
      ).run(projection, owner);
    },

    async request(projection, kind) {
      const info = db
        .prepare(
          'INSERT INTO esflow_projection_requests (name, kind, requested_at) VALUES (?, ?, ?)',
        )
        .run(projection, kind, new Date().toISOString());
      return { id: Number(info.lastInsertRowid), projection, kind };
    },

    async takeRequests(projections) {
      if (projections.length === 0) return [];
      return exclusive(async () => {
        const rows = db
          .prepare<string[], { id: number; name: string; kind: ProjectionRequestKind }>(
            `SELECT id, name, kind FROM esflow_projection_requests
             WHERE taken_at IS NULL AND name IN (${projections.map(() => '?').join(', ')}) ORDER BY id`,
          )
          .all(...projections);
        const take = db.prepare('UPDATE esflow_projection_requests SET taken_at = ? WHERE id = ?');
        const now = new Date().toISOString();
        rows.forEach((row) => take.run(now, row.id));
        return rows.map(
          (row): ProjectionRequest => ({ id: row.id, projection: row.name, kind: row.kind }),
        );
      });
    },

    async pendingRequests(projection) {
      return db
        .prepare<[string], { id: number; kind: ProjectionRequestKind }>(
          'SELECT id, kind FROM esflow_projection_requests WHERE taken_at IS NULL AND name = ? ORDER BY id',
        )
        .all(projection)
        .map((row) => ({ id: row.id, projection, kind: row.kind }));
    },

    async find(projection, collection, query) {
      const record = await store.record(projection);
      if (!record) return [];
      const table = quote(collectionTable(projection, collection, record.activeGeneration));
      const conditions: string[] = [];
      const params: unknown[] = [];
      for (const [field, value] of Object.entries(query.where ?? {})) {
        if (value === null) conditions.push(`json_extract(doc, ${fieldPath(field)}) IS NULL`);
        else {
          conditions.push(`json_extract(doc, ${fieldPath(field)}) = ?`);
          params.push(typeof value === 'boolean' ? Number(value) : value);
        }
      }
      if (query.id !== undefined) {
        conditions.push('id = ?');
        params.push(query.id);
      }
      if (query.after !== undefined) {
        conditions.push('id > ?');
        params.push(query.after);
      }
      const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
      try {
        return db
          .prepare<unknown[], { doc: string }>(
            `SELECT doc FROM ${table} ${where} ORDER BY id LIMIT ?`,
          )
          .all(...params, query.limit)
          .map((row) => JSON.parse(row.doc) as ReadModelDocument);
      } catch (error) {
        if (/no such table/.test((error as Error).message)) return [];
        throw error;
      }
    },

    async digest(projection, generation, collections) {
      const hash = createHash('sha256');
      for (const collection of Object.keys(collections).sort()) {
        const rows = db
          .prepare<
            [],
            { id: string; doc: string }
          >(`SELECT id, doc FROM ${quote(collectionTable(projection, collection, generation))} ORDER BY id`)
          .all();
        for (const row of rows)
          hash.update(`${collection}\u0000${row.id}\u0000${canonicalJson(JSON.parse(row.doc))}\n`);
      }
      return hash.digest('hex');
    },

    async close() {
      await tail.catch(() => undefined);
      db.close();
    },
  };
  return store;
}
