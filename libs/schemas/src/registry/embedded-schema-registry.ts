import Database from 'better-sqlite3';
import * as avro from 'avsc';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCode, EsflowError } from '@esflow/domain';
import { RegisteredSchema, SchemaRegistry } from './schema-registry.port';

/**
 * A normalised text of a schema (full names, fixed key order) that keeps defaults and docs:
 * two texts of one schema compare equal, while adding a default makes a new version.
 */
export function normalizedSchema(schema: string): string {
  return JSON.stringify(
    avro.Type.forSchema(JSON.parse(schema) as avro.Schema).schema({ exportAttrs: true }),
  );
}

/**
 * The embedded registry of the default run: subjects, versions and global ids kept in SQLite
 * (the event store's file by default), with Confluent's numbering — ids are global and shared
 * by identical schemas across subjects, versions count from 1 per subject.
 */
export function createEmbeddedSchemaRegistry(options: { filename: string }): SchemaRegistry {
  mkdirSync(dirname(options.filename), { recursive: true });
  const db = new Database(options.filename);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS registry_schemas (
      id        INTEGER PRIMARY KEY AUTOINCREMENT,
      canonical TEXT NOT NULL UNIQUE,
      schema    TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS registry_subject_versions (
      subject   TEXT    NOT NULL,
      version   INTEGER NOT NULL,
      schema_id INTEGER NOT NULL REFERENCES registry_schemas(id),
      PRIMARY KEY (subject, version)
    );
  `);
  const findSchema = db.prepare<[string], { id: number }>(
    'SELECT id FROM registry_schemas WHERE canonical = ?',
  );
  const insertSchema = db.prepare('INSERT INTO registry_schemas (canonical, schema) VALUES (?, ?)');
  const schemaById = db.prepare<[number], { schema: string }>(
    'SELECT schema FROM registry_schemas WHERE id = ?',
  );
  const findVersion = db.prepare<[string, number], { version: number }>(
    'SELECT version FROM registry_subject_versions WHERE subject = ? AND schema_id = ?',
  );
  const latest = db.prepare<[string], { version: number; schema_id: number; schema: string }>(
    `SELECT v.version, v.schema_id, s.schema FROM registry_subject_versions v
     JOIN registry_schemas s ON s.id = v.schema_id WHERE v.subject = ? ORDER BY v.version DESC LIMIT 1`,
  );
  const insertVersion = db.prepare(
    'INSERT INTO registry_subject_versions (subject, version, schema_id) VALUES (?, ?, ?)',
  );

  const register = db.transaction((subject: string, schema: string): RegisteredSchema => {
    const canonical = normalizedSchema(schema);
    let id = findSchema.get(canonical)?.id;
    if (id === undefined) id = Number(insertSchema.run(canonical, schema).lastInsertRowid);
    const existing = findVersion.get(subject, id);
    if (existing) return { subject, version: existing.version, id, schema };
    const version = (latest.get(subject)?.version ?? 0) + 1;
    insertVersion.run(subject, version, id);
    return { subject, version, id, schema };
  });

  return {
    async register(subject, schema) {
      return register.immediate(subject, schema);
    },
    async schemaById(id) {
      const row = schemaById.get(id);
      if (!row)
        throw new EsflowError(
          ErrorCode.SchemaNotFound,
          `no schema with id ${id} in the embedded registry`,
        );
      return row.schema;
    },
    async latest(subject) {
      const row = latest.get(subject);
      return row
        ? { subject, version: row.version, id: row.schema_id, schema: row.schema }
        : undefined;
    },
    async close() {
      db.close();
    },
  };
}
