/**
 * One stored snapshot of an instance: its state after `revision`, encoded by the engine. A
 * snapshot is a cache of a replay, never the source of truth: the stream is.
 */
export interface StoredSnapshot {
  readonly streamName: string;
  readonly revision: number;
  /** The engine's encoding (JSON text); an adapter stores it as it is. */
  readonly data: string;
}

/**
 * Where the engine keeps instance snapshots so that loading a long stream costs about what
 * loading a short one does. Guarantees an adapter must give: `read` returns the snapshot most
 * recently written for the stream, or an older one, or none (losing snapshots is allowed, as they
 * are rebuilt by replay; returning one of another stream is not); `write` replaces the stream's
 * snapshot only with a later revision; `discard` forgets them, so that a rebuilt store or a changed
 * definition starts from replay again. Contract: `describeSnapshotStoreContract` (@esflow/testing).
 */
export interface SnapshotStore {
  read(streamName: string): Promise<StoredSnapshot | undefined>;
  /** Keeps `snapshot` unless the stream already has one at the same or a later revision. */
  write(snapshot: StoredSnapshot): Promise<void>;
  /**
   * Forgets every snapshot, or those of streams whose name starts with `streamNamePrefix` (one
   * workflow's: `<workflow>-`); returns how many were forgotten.
   */
  discard(streamNamePrefix?: string): Promise<number>;
  close(): Promise<void>;
}

/** A {@link SnapshotStore} in process memory: for tests and the embedded default's unit runs. */
export function createMemorySnapshotStore(): SnapshotStore {
  const snapshots = new Map<string, StoredSnapshot>();
  return {
    async read(streamName) {
      return snapshots.get(streamName);
    },
    async write(snapshot) {
      const current = snapshots.get(snapshot.streamName);
      if (current && current.revision >= snapshot.revision) return;
      snapshots.set(snapshot.streamName, snapshot);
    },
    async discard(streamNamePrefix) {
      let forgotten = 0;
      for (const streamName of [...snapshots.keys()])
        if (streamNamePrefix === undefined || streamName.startsWith(streamNamePrefix)) {
          snapshots.delete(streamName);
          forgotten++;
        }
      return forgotten;
    },
    async close() {},
  };
}
