import Database from 'better-sqlite3';
import { createSqliteEventStore } from '@esflow/sqlite';

/** What the embedded store takes on disk per event, and what the events' columns hold. */
export interface StorageResult {
  readonly events: number;
  /** Pages of the event store's tables and indexes (the registry's are left out), per event. */
  readonly bytesPerEvent: number;
  /** Mean bytes of one event's Avro payload (Confluent header included). */
  readonly payloadBytesPerEvent: number;
  /** Mean bytes of one event's stored metadata, as the store keeps it (compact). */
  readonly metadataBytesPerEvent: number;
  /** Mean bytes of the same metadata as JSON text: how schema 1 of the store kept it. */
  readonly metadataJsonBytesPerEvent: number;
}

/** The embedded registry's tables, which share the file but are not the store's. */
const REGISTRY_TABLES = new Set([
  'registry_schemas',
  'registry_subject_versions',
  'registry_subject_config',
]);

/**
 * Bytes per event of the SQLite event store in `filename` (the writer must be gone): every page
 * of its tables and their indexes (SQLite's dbstat), over the events stored; and the metadata's
 * size compact against its size as JSON.
 */
export async function measureStorage(filename: string): Promise<StorageResult> {
  const metadataJsonBytesPerEvent = await meanMetadataJsonBytes(filename);
  const db = new Database(filename, { readonly: true });
  try {
    const owners = new Map(
      db
        .prepare<[], { name: string; tbl_name: string }>('SELECT name, tbl_name FROM sqlite_schema')
        .all()
        .map((row) => [row.name, row.tbl_name]),
    );
    const pages = db
      .prepare<
        [],
        { name: string; bytes: number }
      >('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name')
      .all();
    const storeBytes = pages
      .filter(({ name }) => {
        const table = owners.get(name) ?? name;
        return !REGISTRY_TABLES.has(table) && table !== 'sqlite_schema';
      })
      .reduce((sum, { bytes }) => sum + bytes, 0);
    const columns = db
      .prepare<
        [],
        { events: number; payload: number; metadata: number }
      >('SELECT COUNT(*) AS events, AVG(LENGTH(data)) AS payload, AVG(LENGTH(metadata)) AS metadata FROM events')
      .get()!;
    return {
      events: columns.events,
      bytesPerEvent: storeBytes / Math.max(1, columns.events),
      payloadBytesPerEvent: columns.payload,
      metadataBytesPerEvent: columns.metadata,
      metadataJsonBytesPerEvent,
    };
  } finally {
    db.close();
  }
}

/** The mean length of the events' metadata as JSON text, read through the store. */
async function meanMetadataJsonBytes(filename: string): Promise<number> {
  const store = createSqliteEventStore({ filename, commitOnWorker: false });
  try {
    let [events, bytes] = [0, 0];
    let after: Parameters<typeof store.readAll>[0] = {};
    for (;;) {
      const page = await store.readAll({ ...after, maxCount: 5_000 });
      if (page.length === 0) return bytes / Math.max(1, events);
      for (const event of page) bytes += Buffer.byteLength(JSON.stringify(event.metadata));
      events += page.length;
      after = { after: page[page.length - 1]!.position };
    }
  } finally {
    await store.close();
  }
}
