import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { enableWal, execSchema } from '../sqlite-support';
import { ErrorCode, EsflowError } from '@esflow/core';
import {
  canonicalSchema,
  checkCompatibility,
  CompatibilityLevel,
  RegisteredSchema,
  SchemaRegistry,
} from '@esflow/schemas';

/**
 * A normalised text of a schema (full names, fixed key order) that keeps defaults and docs:
 * two texts of one schema compare equal, while adding a default makes a new version.
 */
export function normalizedSchema(schema: string): string {
  return canonicalSchema(schema);
}

/** Decides whether `candidate` may follow the released versions under `level`. */
export type RegistryCompatibilityCheck = (
  subject: string,
  candidate: string,
  released: readonly { version: number; schema: string }[],
  level: CompatibilityLevel,
) => { compatible: boolean; issues: readonly { message: string }[] };

/**
 * Options of {@link createEmbeddedSchemaRegistry}: the SQLite file (created with its directory if
 * missing; may be the event store's), the level of subjects without one of their own (default
 * BACKWARD), and the compatibility check.
 */
export interface EmbeddedSchemaRegistryOptions {
  readonly filename: string;
  /** The level of subjects that have none of their own (Confluent's default: BACKWARD). */
  readonly defaultCompatibility?: CompatibilityLevel;
  /** Defaults to esflow's Avro checker, the same one the CI gate uses. */
  readonly checkCompatibility?: RegistryCompatibilityCheck;
}

/**
 * The embedded registry of the default run: subjects, versions, global ids and per-subject
 * compatibility levels kept in SQLite (the event store's file by default), with Confluent's
 * numbering — ids are global and shared by identical schemas across subjects, versions count
 * from 1 per subject — and its refusal of a schema incompatible under the subject's level. It
 * can `restore` schemas under their own ids (into a new file, when the events live elsewhere).
 */
export function createEmbeddedSchemaRegistry(
  options: EmbeddedSchemaRegistryOptions,
): SchemaRegistry {
  mkdirSync(dirname(options.filename), { recursive: true });
  const db = new Database(options.filename);
  db.pragma('busy_timeout = 5000');
  enableWal(db);
  execSchema(
    db,
    `
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
    CREATE TABLE IF NOT EXISTS registry_subject_config (
      subject       TEXT PRIMARY KEY,
      compatibility TEXT NOT NULL
    );
  `,
  );
  const defaultLevel = options.defaultCompatibility ?? 'BACKWARD';
  type VersionRow = { version: number; schema_id: number; schema: string };
  const sql = {
    findSchema: db.prepare<[string], { id: number }>(
      'SELECT id FROM registry_schemas WHERE canonical = ?',
    ),
    insertSchema: db.prepare('INSERT INTO registry_schemas (canonical, schema) VALUES (?, ?)'),
    schemaById: db.prepare<[number], { schema: string; canonical: string }>(
      'SELECT schema, canonical FROM registry_schemas WHERE id = ?',
    ),
    restoreSchema: db.prepare(
      'INSERT OR IGNORE INTO registry_schemas (id, canonical, schema) VALUES (?, ?, ?)',
    ),
    restoreVersion: db.prepare(
      'INSERT OR IGNORE INTO registry_subject_versions (subject, version, schema_id) VALUES (?, ?, ?)',
    ),
    findVersion: db.prepare<[string, number], { version: number }>(
      'SELECT version FROM registry_subject_versions WHERE subject = ? AND schema_id = ?',
    ),
    versions: db.prepare<[string], VersionRow>(
      `SELECT v.version, v.schema_id, s.schema FROM registry_subject_versions v
       JOIN registry_schemas s ON s.id = v.schema_id WHERE v.subject = ? ORDER BY v.version`,
    ),
    insertVersion: db.prepare(
      'INSERT INTO registry_subject_versions (subject, version, schema_id) VALUES (?, ?, ?)',
    ),
    level: db.prepare<[string], { compatibility: CompatibilityLevel }>(
      'SELECT compatibility FROM registry_subject_config WHERE subject = ?',
    ),
    setLevel: db.prepare(
      'INSERT INTO registry_subject_config (subject, compatibility) VALUES (?, ?) ON CONFLICT (subject) DO UPDATE SET compatibility = excluded.compatibility',
    ),
  };
  const toRegistered = (subject: string, row: VersionRow): RegisteredSchema => ({
    subject,
    version: row.version,
    id: row.schema_id,
    schema: row.schema,
  });

  const register = db.transaction((subject: string, schema: string): RegisteredSchema => {
    const canonical = normalizedSchema(schema);
    const existingId = sql.findSchema.get(canonical)?.id;
    if (existingId !== undefined) {
      const existing = sql.findVersion.get(subject, existingId);
      if (existing) return { subject, version: existing.version, id: existingId, schema };
    }
    const released = sql.versions.all(subject);
    const level = sql.level.get(subject)?.compatibility ?? defaultLevel;
    const verdict = (options.checkCompatibility ?? checkCompatibility)(
      subject,
      schema,
      released.map((row) => ({ version: row.version, schema: row.schema })),
      level,
    );
    if (!verdict.compatible)
      throw new EsflowError(
        ErrorCode.SchemaIncompatible,
        `${subject}: the schema is incompatible under ${level}: ${verdict.issues.map((issue) => issue.message).join('; ')}`,
        { details: { subject, level, issues: verdict.issues } },
      );
    const id = existingId ?? Number(sql.insertSchema.run(canonical, schema).lastInsertRowid);
    const version = (released[released.length - 1]?.version ?? 0) + 1;
    sql.insertVersion.run(subject, version, id);
    return { subject, version, id, schema };
  });

  // An id or a subject version already taken, or the schema already held under another id,
  // is left as it is: the caller checks each id afterwards.
  const restore = db.transaction((schemas: readonly RegisteredSchema[]) => {
    for (const { subject, version, id, schema } of schemas) {
      const canonical = normalizedSchema(schema);
      sql.restoreSchema.run(id, canonical, schema);
      if (sql.schemaById.get(id)?.canonical === canonical)
        sql.restoreVersion.run(subject, version, id);
    }
  });

  return {
    description: `the embedded schema registry in ${options.filename}`,
    async register(subject, schema) {
      return register.immediate(subject, schema);
    },
    async schemaById(id) {
      const row = sql.schemaById.get(id);
      if (!row)
        throw new EsflowError(
          ErrorCode.SchemaNotFound,
          `no schema with id ${id} in the embedded registry`,
        );
      return row.schema;
    },
    async latest(subject) {
      const rows = sql.versions.all(subject);
      const last = rows[rows.length - 1];
      return last ? toRegistered(subject, last) : undefined;
    },
    async version(subject, version) {
      const row = sql.versions.all(subject).find((r) => r.version === version);
      return row ? toRegistered(subject, row) : undefined;
    },
    async versions(subject) {
      return sql.versions.all(subject).map((row) => row.version);
    },
    async setCompatibility(subject, level) {
      sql.setLevel.run(subject, level);
    },
    async compatibility(subject) {
      return sql.level.get(subject)?.compatibility;
    },
    async restore(schemas) {
      restore.immediate(schemas);
    },
    async close() {
      db.close();
    },
  };
}
