import Database from 'better-sqlite3';
// Only the append rules: this module runs on the commit thread, which loads nothing else.
import {
  AppendResult,
  describeExpectedRevision,
  ErrorCode,
  EsflowError,
  ExpectedRevision,
  isEsflowError,
  recognisePriorAppend,
  RevisionConflictError,
  satisfiesExpectedRevision,
} from '@esflow/core/append-rules';
import type { JsonObject } from './compact-metadata';
import { eventRefLookup, EventTableWriter, positionOf, storedEventId } from './event-tables';

// The write side of the SQLite event store: one batch of appends committed in one transaction,
// each append in a savepoint of its own. The same code runs on the store's commit worker thread
// and, where no worker can be started, on the caller's thread; so what crosses between them is
// plain data: appends in, outcomes out.

/** One append as the committer takes it: metadata as JSON text (made on the caller's thread). */
export interface AppendToCommit {
  readonly streamName: string;
  readonly events: readonly {
    readonly eventId: string;
    readonly type: string;
    readonly data: Uint8Array;
    readonly metadataJson: string;
  }[];
  readonly expectedRevision: ExpectedRevision;
}

/** Why one append of a batch was refused (the others are unaffected), as plain data. */
export type AppendRefusal =
  | {
      readonly kind: 'conflict';
      readonly streamName: string;
      readonly expected: string;
      readonly actual: number | 'no_stream';
    }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string };

export type AppendOutcome =
  | { readonly ok: true; readonly result: AppendResult }
  | { readonly ok: false; readonly refusal: AppendRefusal };

/** The refusal as the error the store's caller gets. */
export function refusalError(refusal: AppendRefusal): EsflowError {
  return refusal.kind === 'conflict'
    ? new RevisionConflictError(refusal.streamName, refusal.expected, refusal.actual)
    : new EsflowError(refusal.code as ErrorCode, refusal.message);
}

/**
 * The committer over `db` (whose schema is migrated): `commit(batch, recordedAt)` runs one
 * `BEGIN IMMEDIATE` transaction and gives each append's outcome; a failure of SQLite itself
 * (a full disk, an I/O error) throws and leaves nothing of the batch written.
 */
export function createCommitter(db: Database.Database) {
  const tables = new EventTableWriter(db);
  const statements = {
    lastRevision: db.prepare<[number], { revision: number | null }>(
      'SELECT MAX(stream_revision) AS revision FROM events WHERE stream_id = ?',
    ),
    insert: db.prepare(
      `INSERT INTO events (stream_id, stream_revision, event_id, event_type, data, metadata, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
  };
  const findEvent = eventRefLookup(db);

  // Nested in the batch transaction as a savepoint, so a refused append undoes only itself.
  const appendOne = db.transaction((pending: AppendToCommit, recordedAt: number): AppendResult => {
    const { streamName, events, expectedRevision } = pending;
    const duplicate = recognisePriorAppend(
      streamName,
      events.map((event) => findEvent(event.eventId)),
    );
    if (duplicate) return duplicate;
    const existing = tables.stream(streamName);
    const current = existing
      ? (statements.lastRevision.get(existing.streamId)?.revision ?? -1)
      : -1;
    if (!satisfiesExpectedRevision(expectedRevision, current))
      throw new RevisionConflictError(
        streamName,
        describeExpectedRevision(expectedRevision),
        current === -1 ? 'no_stream' : current,
      );
    // Written only now, after every check that may refuse the append: a refusal writes nothing.
    const metadata = events.map((event) => JSON.parse(event.metadataJson) as JsonObject);
    const stream = existing ?? tables.createStream(streamName, metadata[0]!);
    let revision = current;
    let lastPosition = 0;
    for (const [index, event] of events.entries()) {
      revision += 1;
      const info = statements.insert.run(
        stream.streamId,
        revision,
        storedEventId(event.eventId),
        tables.eventType(event.type),
        Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength),
        tables.encode(stream, metadata[index]!, event.eventId, recordedAt),
        recordedAt,
      );
      lastPosition = Number(info.lastInsertRowid);
    }
    return {
      nextExpectedRevision: revision,
      position: positionOf(lastPosition),
      deduplicated: false,
    };
  });

  const commitBatch = db.transaction(
    (batch: readonly AppendToCommit[], recordedAt: number): AppendOutcome[] =>
      batch.map((pending) => {
        try {
          return { ok: true, result: appendOne(pending, recordedAt) };
        } catch (error) {
          // The append's own refusal (a conflict, a partial duplicate) undoes only its
          // savepoint. Any other failure is SQLite's (disk full, I/O error, out of memory),
          // after which SQLite may have rolled back the whole transaction: the appends after it
          // would then commit one by one outside the batch. Abandon the batch instead.
          if (error instanceof RevisionConflictError)
            return {
              ok: false,
              refusal: {
                kind: 'conflict',
                streamName: error.streamName,
                expected: error.expected,
                actual: error.actual,
              },
            };
          if (isEsflowError(error))
            return {
              ok: false,
              refusal: { kind: 'refused', code: error.code, message: error.message },
            };
          throw error;
        }
      }),
  );

  return {
    commit(batch: readonly AppendToCommit[], recordedAt: number): AppendOutcome[] {
      try {
        return commitBatch.immediate(batch, recordedAt);
      } catch (error) {
        // Rolled back: the dictionary ids and streams it created are not in the store.
        tables.forget();
        throw error;
      }
    },
  };
}
