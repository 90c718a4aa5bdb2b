import type Database from 'better-sqlite3';
import type { GlobalPosition, RecordedEvent, StoredEventRef } from '@esflow/core';
import {
  DictionaryKind,
  decodeMetadata,
  encodeMetadata,
  JsonObject,
  MetadataBase,
  metadataBase,
  uuidBytes,
  uuidText,
} from './compact-metadata';

// The tables of the SQLite event store (schema version 2) and what both of its threads need to
// read and write them: the dictionary, stream ids and bases, and event ids as stored. Loaded on
// the commit thread too, so it imports nothing heavier than the codec.

/** The store's schema version (`PRAGMA user_version`). 1 kept metadata as JSON text. */
export const EVENT_SCHEMA_VERSION = 2;

/**
 * - `streams`: one row a stream: its name once, and its base — the first event's metadata, which
 *   the stream's events are stored relative to (compact form, no references of its own).
 * - `store_dictionary`: shapes (key lists), event types and the interned metadata values, each
 *   once; entries are never changed or removed, so an id means the same to every process.
 * - `events`: the log. `event_id` is 16 bytes for a canonical UUID, else its text; `event_type` a
 *   dictionary id; `metadata` the compact form (compact-metadata.ts).
 */
export const EVENT_TABLES = `
  CREATE TABLE IF NOT EXISTS streams (
    stream_id     INTEGER PRIMARY KEY,
    stream_name   TEXT    NOT NULL UNIQUE,
    base_metadata BLOB    NOT NULL
  );
  CREATE TABLE IF NOT EXISTS store_dictionary (
    id   INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    json TEXT    NOT NULL,
    UNIQUE (kind, json)
  );
  CREATE TABLE IF NOT EXISTS events (
    global_position INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id       INTEGER NOT NULL REFERENCES streams (stream_id),
    stream_revision INTEGER NOT NULL,
    event_id        BLOB    NOT NULL UNIQUE,
    event_type      INTEGER NOT NULL,
    data            BLOB    NOT NULL,
    metadata        BLOB    NOT NULL,
    recorded_at     INTEGER NOT NULL,
    UNIQUE (stream_id, stream_revision)
  );
`;

/** The position of the event at `globalPosition` (SQLite has one number for both parts). */
export const positionOf = (globalPosition: number): GlobalPosition => ({
  commit: BigInt(globalPosition),
  prepare: BigInt(globalPosition),
});

/**
 * The columns a read selects ({@link EventRow}, in raw mode). The event id, metadata and payload
 * come concatenated in one blob, with their sizes: better-sqlite3 makes a Buffer of every blob,
 * and three of them a row cost more than all the rest of a read. (`||` copies blob bytes as they
 * are; the cast makes the result a blob again.)
 */
export const EVENT_ROW_COLUMNS = `e.global_position, e.stream_id, s.stream_name, e.stream_revision,
  e.event_type, e.recorded_at, typeof(e.event_id) = 'text', octet_length(e.event_id),
  length(e.metadata), CAST(e.event_id || e.metadata || e.data AS BLOB)
  FROM events e JOIN streams s ON s.stream_id = e.stream_id`;

/** A row of {@link EVENT_ROW_COLUMNS}. */
export type EventRow = [
  globalPosition: number,
  streamId: number,
  streamName: string,
  revision: number,
  eventType: number,
  recordedAt: number,
  textEventId: 0 | 1,
  eventIdSize: number,
  metadataSize: number,
  bytes: Buffer,
];

/** An event id as the `event_id` column keeps it. */
export const storedEventId = (eventId: string): Buffer | string => uuidBytes(eventId) ?? eventId;

/**
 * Finds where the event with an id is (its stream, revision and position), or undefined: the
 * lookup by id both the committer (recognising a retried append) and the store's reads make.
 */
export function eventRefLookup(
  db: Database.Database,
): (eventId: string) => StoredEventRef | undefined {
  const byEventId = db.prepare<
    [Buffer | string],
    { global_position: number; stream_name: string; stream_revision: number }
  >(
    `SELECT e.global_position, s.stream_name, e.stream_revision
     FROM events e JOIN streams s ON s.stream_id = e.stream_id WHERE e.event_id = ?`,
  );
  return (eventId) => {
    const row = byEventId.get(storedEventId(eventId));
    return (
      row && {
        streamName: row.stream_name,
        revision: row.stream_revision,
        position: positionOf(row.global_position),
      }
    );
  };
}

// The base is encoded on its own: no event id, times relative to the epoch.
const BASE_EVENT = { eventId: '', recordedAt: 0 } as const;

/** Keeps at most `limit` entries, forgetting all of them when full (cheap, and rare). */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }
  override set(key: K, value: V): this {
    if (this.size >= this.limit && !this.has(key)) this.clear();
    return super.set(key, value);
  }
}

/**
 * The store's dictionary as one connection sees it: ids of entries (`intern` adds those missing;
 * only inside a write transaction) and entries of ids, loaded as they are first needed. After a
 * transaction that wrote entries was rolled back, call `forget()`: ids it handed out may be given
 * to other entries.
 */
export class StoreDictionary {
  private readonly ids = new Map<string, number>();
  private readonly entries = new Map<number, unknown>();
  private loadedUpTo = 0;
  private readonly statements: {
    find: Database.Statement<[number, string], { id: number }>;
    insert: Database.Statement<[number, string]>;
    newer: Database.Statement<[number], { id: number; kind: number; json: string }>;
  };

  constructor(db: Database.Database) {
    this.statements = {
      find: db.prepare('SELECT id FROM store_dictionary WHERE kind = ? AND json = ?'),
      insert: db.prepare('INSERT INTO store_dictionary (kind, json) VALUES (?, ?)'),
      newer: db.prepare('SELECT id, kind, json FROM store_dictionary WHERE id > ? ORDER BY id'),
    };
  }

  /** The id of the entry `json` of `kind`, added when missing. */
  intern = (kind: DictionaryKind, json: string): number => {
    const key = `${kind}:${json}`;
    let id = this.ids.get(key);
    if (id !== undefined) return id;
    id =
      this.statements.find.get(kind, json)?.id ??
      Number(this.statements.insert.run(kind, json).lastInsertRowid);
    this.ids.set(key, id);
    return id;
  };

  /** The id of the entry `json` of `kind`, or undefined if the store has none. */
  find(kind: DictionaryKind, json: string): number | undefined {
    const key = `${kind}:${json}`;
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const id = this.statements.find.get(kind, json)?.id;
    if (id !== undefined) this.ids.set(key, id);
    return id;
  }

  /** The entry of `id` (parsed JSON), reading entries added since the last look when unknown. */
  lookup = (id: number): unknown => {
    if (!this.entries.has(id)) {
      for (const row of this.statements.newer.all(this.loadedUpTo)) {
        this.entries.set(row.id, JSON.parse(row.json));
        this.loadedUpTo = row.id;
      }
      if (!this.entries.has(id))
        throw new Error(`SQLite event store: dictionary entry ${id} is missing`);
    }
    return this.entries.get(id);
  };

  /** Forgets what it knows (after a rolled-back write), to read it again as needed. */
  forget(): void {
    this.ids.clear();
    this.entries.clear();
    this.loadedUpTo = 0;
  }
}

/** What the writer knows of one stream. */
export interface StreamEntry {
  readonly streamId: number;
  readonly base: MetadataBase;
}

/**
 * The write side of the tables, shared by the committer and the migration from schema 1: finds
 * and creates streams, and encodes events' metadata relative to their stream's base. Like the
 * dictionary, call `forget()` after a rolled-back write.
 */
export class EventTableWriter {
  readonly dictionary: StoreDictionary;
  private readonly streams = new BoundedMap<string, StreamEntry>(10_000);
  private readonly statements: {
    stream: Database.Statement<[string], { stream_id: number; base_metadata: Buffer }>;
    insertStream: Database.Statement<[string, Buffer]>;
  };

  constructor(db: Database.Database) {
    this.dictionary = new StoreDictionary(db);
    this.statements = {
      stream: db.prepare('SELECT stream_id, base_metadata FROM streams WHERE stream_name = ?'),
      insertStream: db.prepare('INSERT INTO streams (stream_name, base_metadata) VALUES (?, ?)'),
    };
  }

  /** The stream `name`, or undefined while it has no events. */
  stream(name: string): StreamEntry | undefined {
    const known = this.streams.get(name);
    if (known) return known;
    const row = this.statements.stream.get(name);
    if (!row) return undefined;
    const base = decodeMetadata(row.base_metadata, {
      ...BASE_EVENT,
      lookup: this.dictionary.lookup,
    });
    const entry = { streamId: row.stream_id, base: metadataBase(base) };
    this.streams.set(name, entry);
    return entry;
  }

  /** Creates the stream `name`, whose first event's metadata is `firstMetadata`. */
  createStream(name: string, firstMetadata: JsonObject): StreamEntry {
    const baseBytes = encodeMetadata(firstMetadata, {
      ...BASE_EVENT,
      intern: this.dictionary.intern,
    });
    const streamId = Number(this.statements.insertStream.run(name, baseBytes).lastInsertRowid);
    const entry = { streamId, base: metadataBase(firstMetadata) };
    this.streams.set(name, entry);
    return entry;
  }

  /** The compact form of one event's metadata in `stream`. */
  encode(stream: StreamEntry, metadata: JsonObject, eventId: string, recordedAt: number): Buffer {
    return encodeMetadata(metadata, {
      eventId,
      recordedAt,
      base: stream.base,
      intern: this.dictionary.intern,
    });
  }

  /** The dictionary id of an event type. */
  eventType(type: string): number {
    return this.dictionary.intern(DictionaryKind.EventType, JSON.stringify(type));
  }

  forget(): void {
    this.streams.clear();
    this.dictionary.forget();
  }
}

/** The read side: event types and metadata decoded, stream bases cached by stream id. */
export class EventTableReader {
  readonly dictionary: StoreDictionary;
  private readonly bases = new BoundedMap<number, JsonObject>(10_000);
  private readonly baseOf: Database.Statement<[number], { base_metadata: Buffer }>;

  constructor(db: Database.Database) {
    this.dictionary = new StoreDictionary(db);
    this.baseOf = db.prepare('SELECT base_metadata FROM streams WHERE stream_id = ?');
  }

  eventType(id: number): string {
    return this.dictionary.lookup(id) as string;
  }

  /** The dictionary ids of `types` that the store knows (a type it does not know has no events). */
  eventTypeIds(types: readonly string[]): number[] {
    return types.flatMap((type) => {
      const id = this.dictionary.find(DictionaryKind.EventType, JSON.stringify(type));
      return id === undefined ? [] : [id];
    });
  }

  /** The event of a row read with {@link EVENT_ROW_COLUMNS}. */
  recorded = (row: EventRow): RecordedEvent => {
    const [
      position,
      streamId,
      streamName,
      revision,
      type,
      recordedAt,
      textId,
      idSize,
      metadataSize,
      bytes,
    ] = row;
    const eventId = textId
      ? bytes.toString('utf8', 0, idSize)
      : uuidText(bytes.subarray(0, idSize));
    const metadata = decodeMetadata(bytes.subarray(idSize, idSize + metadataSize), {
      eventId,
      recordedAt,
      base: this.base(streamId),
      lookup: this.dictionary.lookup,
    });
    const dataStart = bytes.byteOffset + idSize + metadataSize;
    return {
      streamName,
      revision,
      position: positionOf(position),
      eventId,
      type: this.eventType(type),
      data: new Uint8Array(bytes.buffer, dataStart, bytes.byteLength - idSize - metadataSize),
      metadata,
      recordedAt: new Date(recordedAt),
    };
  };

  private base(streamId: number): JsonObject {
    let base = this.bases.get(streamId);
    if (!base) {
      const row = this.baseOf.get(streamId);
      if (!row) throw new Error(`SQLite event store: stream ${streamId} is missing`);
      base = decodeMetadata(row.base_metadata, { ...BASE_EVENT, lookup: this.dictionary.lookup });
      this.bases.set(streamId, base);
    }
    return base;
  }
}
