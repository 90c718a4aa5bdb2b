import type Database from 'better-sqlite3';
import type { JsonObject } from './compact-metadata';
import {
  EVENT_SCHEMA_VERSION,
  EVENT_TABLES,
  EventTableWriter,
  storedEventId,
} from './event-tables';

/** A row of the events table of schema 1 (metadata as JSON text, stream names on every event). */
export interface VersionOneRow {
  global_position: number;
  stream_name: string;
  stream_revision: number;
  event_id: string;
  event_type: string;
  data: Buffer;
  metadata: string;
  recorded_at: number;
}

const COPY_PAGE = 2_000;

// How long a process waits for another that is migrating the same file (a large store takes a
// while): far beyond the usual busy timeout, which would fail its start-up instead.
const MIGRATION_WAIT_MS = 10 * 60_000;

const userVersion = (db: Database.Database) =>
  db.pragma('user_version', { simple: true }) as number;

/**
 * Brings the event store's tables in `db` to schema version 2 ({@link EVENT_TABLES}), in one
 * `BEGIN IMMEDIATE` transaction: a new file gets the tables; a version-1 store (metadata as JSON
 * text, stream names on every event) is re-encoded event by event, keeping every position,
 * revision, event id, record time, payload and metadata value. Another process opening the file
 * meanwhile waits for it and then finds the work done. A failure leaves the store as it was.
 */
export function migrateEventTables(db: Database.Database, busyTimeoutMs: number): void {
  if (userVersion(db) >= EVENT_SCHEMA_VERSION) return;
  db.pragma(`busy_timeout = ${MIGRATION_WAIT_MS}`);
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      const version = userVersion(db);
      if (version < EVENT_SCHEMA_VERSION) {
        const hasVersionOne =
          db
            .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'events'")
            .get() !== undefined;
        if (hasVersionOne) db.exec('ALTER TABLE events RENAME TO events_v1');
        db.exec(EVENT_TABLES);
        if (hasVersionOne) {
          copyVersionOne(db);
          db.exec('DROP TABLE events_v1');
        }
        db.exec(`PRAGMA user_version = ${EVENT_SCHEMA_VERSION}`);
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  } finally {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  }
}

function copyVersionOne(db: Database.Database): void {
  const tables = new EventTableWriter(db);
  const page = db.prepare<[number, number], VersionOneRow>(
    'SELECT * FROM events_v1 WHERE global_position > ? ORDER BY global_position LIMIT ?',
  );
  const insert = db.prepare(
    `INSERT INTO events (global_position, stream_id, stream_revision, event_id, event_type, data, metadata, recorded_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let after = 0;
  for (;;) {
    const rows = page.all(after, COPY_PAGE);
    if (rows.length === 0) return;
    for (const row of rows) {
      const metadata = JSON.parse(row.metadata) as JsonObject;
      // A stream's first event in log order is its revision 0: its metadata is the base.
      const stream =
        tables.stream(row.stream_name) ?? tables.createStream(row.stream_name, metadata);
      insert.run(
        row.global_position,
        stream.streamId,
        row.stream_revision,
        storedEventId(row.event_id),
        tables.eventType(row.event_type),
        row.data,
        tables.encode(stream, metadata, row.event_id, row.recorded_at),
        row.recorded_at,
      );
    }
    after = rows[rows.length - 1]!.global_position;
  }
}
