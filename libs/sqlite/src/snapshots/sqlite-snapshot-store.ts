import { SnapshotStore, StoredSnapshot } from '@esflow/core';
import { openSqliteTables, sqliteGuard, SqliteFileOptions } from '../sqlite-support';

/** Where the SQLite snapshot store lives: a file of its own (`snapshots.sqlite`), as a rule. */
export type SqliteSnapshotStoreOptions = SqliteFileOptions;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS esflow_snapshots (
    stream_name TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    data TEXT NOT NULL
  ) WITHOUT ROWID;
`;

/**
 * The SQLite {@link SnapshotStore}. Snapshots are a cache of replays, so this file is written
 * without waiting for the disk (`synchronous = OFF`) and may be deleted at any time; keep it out
 * of the event store's file, whose commits must be durable. A write replaces the stream's
 * snapshot only with a later revision, also when two processes write at once.
 */
export function createSqliteSnapshotStore(options: SqliteSnapshotStoreOptions): SnapshotStore {
  const db = openSqliteTables(options, SCHEMA, 'SQLite snapshot store');
  db.pragma('synchronous = OFF');
  const guard = sqliteGuard('SQLite snapshot store');
  const statements = {
    read: db.prepare<[string], { revision: number; data: string }>(
      'SELECT revision, data FROM esflow_snapshots WHERE stream_name = ?',
    ),
    write: db.prepare<[string, number, string]>(
      `INSERT INTO esflow_snapshots (stream_name, revision, data) VALUES (?, ?, ?)
       ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision, data = excluded.data
       WHERE excluded.revision > esflow_snapshots.revision`,
    ),
    discardAll: db.prepare('DELETE FROM esflow_snapshots'),
    discardPrefix: db.prepare<[number, string]>(
      'DELETE FROM esflow_snapshots WHERE substr(stream_name, 1, ?) = ?',
    ),
  };
  let closed = false;
  return {
    read: guard((streamName: string): StoredSnapshot | undefined => {
      const row = statements.read.get(streamName);
      return row && { streamName, revision: row.revision, data: row.data };
    }),
    write: guard((snapshot: StoredSnapshot): void => {
      statements.write.run(snapshot.streamName, snapshot.revision, snapshot.data);
    }),
    discard: guard((streamNamePrefix?: string): number =>
      streamNamePrefix === undefined
        ? statements.discardAll.run().changes
        : statements.discardPrefix.run(streamNamePrefix.length, streamNamePrefix).changes,
    ),
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
