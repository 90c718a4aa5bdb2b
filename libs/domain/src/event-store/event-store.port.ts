/**
 * The event-store port: everything esflow needs from a store of append-only streams.
 * Adapters (memory, SQLite, EventStoreDB) implement it and pass one contract suite
 * (`describeEventStoreContract` in @esflow/testing). No adapter type crosses this boundary.
 */

/** 0-based revision of an event within its stream. */
export type StreamRevision = number;

export const ExpectedRevision = {
  /** Append whatever the stream's state. */
  Any: 'any',
  /** Append only if the stream does not exist yet (used to start an instance exactly once). */
  NoStream: 'no_stream',
  /** Append only if the stream already has at least one event. */
  StreamExists: 'stream_exists',
} as const;
/** What the stream's revision must be for an append to succeed; a number means "exactly". */
export type ExpectedRevision =
  | (typeof ExpectedRevision)[keyof typeof ExpectedRevision]
  | StreamRevision;

/**
 * A position in the store's global order (`$all`). Opaque to callers except for ordering:
 * compare with {@link comparePositions}, persist with {@link formatPosition}. EventStoreDB
 * needs both parts; single-log stores use the same number for both.
 */
export interface GlobalPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/** JSON metadata stored beside an event's binary data. */
export type EventMetadataRecord = Readonly<Record<string, unknown>>;

/**
 * An event to append: a UUID that identifies it across retries, its type, its binary data and JSON
 * metadata.
 */
export interface EventToAppend {
  /** A UUID. Re-appending the same ids is recognised as a retry (see {@link EventStore.append}). */
  readonly eventId: string;
  readonly type: string;
  /** Binary payload (esflow writes Confluent-framed Avro). */
  readonly data: Uint8Array;
  readonly metadata: EventMetadataRecord;
}

/**
 * An event as a store returns it: what was appended, plus its stream, 0-based revision in the
 * stream, global position and the time the store recorded it.
 */
export interface RecordedEvent extends EventToAppend {
  readonly streamName: string;
  readonly revision: StreamRevision;
  readonly position: GlobalPosition;
  readonly recordedAt: Date;
}

/**
 * What {@link EventStore.append} resolves with once the events are durable; for a recognised retry,
 * the original append's result with `deduplicated: true`.
 */
export interface AppendResult {
  /** Revision of the last event of the stream after the append. */
  readonly nextExpectedRevision: StreamRevision;
  /** Global position of the last appended event. */
  readonly position: GlobalPosition;
  /** True when every event id was already in the stream and nothing was written. */
  readonly deduplicated: boolean;
}

/**
 * Options of {@link EventStore.readStream}: direction (default forwards), inclusive start revision,
 * and a maximum count (default all).
 */
export interface ReadStreamOptions {
  readonly direction?: 'forwards' | 'backwards';
  /** Inclusive start revision; defaults to the first (forwards) or last (backwards) event. */
  readonly fromRevision?: StreamRevision;
  readonly maxCount?: number;
}

/** Server-side filter for the global log. Empty or absent lists match everything. */
export interface AllStreamFilter {
  readonly streamNamePrefixes?: readonly string[];
  readonly eventTypes?: readonly string[];
}

/**
 * Options of {@link EventStore.readAll}: direction (default forwards), an exclusive position to
 * page from, a page size and a server-side filter.
 */
export interface ReadAllOptions {
  readonly direction?: 'forwards' | 'backwards';
  /** Exclusive: events strictly after (forwards) or before (backwards) this position. */
  readonly after?: GlobalPosition;
  readonly maxCount?: number;
  readonly filter?: AllStreamFilter;
}

/**
 * Options of {@link EventStore.subscribeToAll}: the exclusive checkpoint to resume after, and a
 * filter.
 */
export interface SubscribeToAllOptions {
  /** Exclusive checkpoint; absent means from the very beginning. */
  readonly after?: GlobalPosition;
  readonly filter?: AllStreamFilter;
}

/**
 * A catch-up subscription: yields every matching event after the checkpoint in global order,
 * then keeps yielding new events as they are committed. Each event is yielded exactly once.
 */
export interface EventStoreSubscription extends AsyncIterable<RecordedEvent> {
  /** Stops the subscription; a pending iteration ends without error. */
  close(): Promise<void>;
}

/** Where a stored event with a given id sits, as a store looks it up. */
export interface StoredEventRef {
  readonly streamName: string;
  readonly revision: number;
  readonly position: GlobalPosition;
}

/** Write counters of a store that batches appends: `appends / commits` is appends per fsync. */
export interface StoreWriteStats {
  readonly commits: number;
  readonly appends: number;
  readonly events: number;
}

/**
 * One commit (one transaction, one fsync) of a store that commits several appends together:
 * how many appends and events it carried and how long it took, from its start to durable.
 */
export interface StoreCommit {
  readonly appends: number;
  readonly events: number;
  readonly durationMs: number;
}

/**
 * The event-store port: append-only streams with optimistic concurrency and durable, idempotent
 * appends, and a global log in commit order with catch-up subscriptions. The memory, SQLite and
 * EventStoreDB adapters implement it and pass `describeEventStoreContract` of @esflow/testing.
 */
export interface EventStore {
  /**
   * Appends `events` atomically to the end of `streamName` if the stream's revision matches
   * `expectedRevision`; otherwise throws {@link RevisionConflictError} and writes nothing.
   * Resolves only once the events are durable. When every event id is already in the stream,
   * as contiguous events in the same order (a retried append), nothing is written and the
   * original result is returned with `deduplicated: true`, whatever `expectedRevision` says;
   * a batch of which only some ids exist is rejected (APPEND_PARTIALLY_DUPLICATED).
   */
  append(
    streamName: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult>;

  /** Reads one stream in revision order; a stream that does not exist reads as empty. */
  readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;

  /** Reads the global log in commit order, paged by `after` and `maxCount`. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;

  /**
   * Optional capability: the first event (revision 0) of every stream, in commit order, paged
   * like {@link readAll} by `after` and `maxCount`, without reading the others (SQLite, memory).
   * What counts instances does not read the whole log where a store has it.
   */
  readStreamStarts?(options: {
    readonly after?: GlobalPosition;
    readonly maxCount: number;
  }): Promise<RecordedEvent[]>;

  /** Subscribes to the global log: catch-up from the checkpoint, then live. */
  subscribeToAll(options?: SubscribeToAllOptions): EventStoreSubscription;

  /**
   * Optional capability: how many events after `after` (the whole log without it) match
   * `filter`, exactly, without reading them into the process (SQLite: one COUNT query). Processors use it
   * for their lag and a rebuild for its total; a store without it gets lag counted by reading,
   * up to a bound.
   */
  countEvents?(options: {
    readonly after?: GlobalPosition;
    readonly filter?: AllStreamFilter;
  }): Promise<number>;

  /**
   * Optional capability: where the event with `eventId` is stored, if it is (SQLite and memory
   * index event ids; EventStoreDB does not). The engine uses it to answer a request repeated from
   * before what an instance snapshot remembers.
   */
  findEvent?(eventId: string): Promise<StoredEventRef | undefined>;

  /**
   * Optional capability: write counters since the store was opened, for stores that commit
   * several appends together (group commit). Absent where the store does not batch.
   */
  stats?(): StoreWriteStats;

  /**
   * Optional capability, beside {@link stats}: tells `listener` of each commit as it becomes
   * durable (e.g. for a batch-size histogram). Called synchronously; it must not throw.
   */
  observeCommits?(listener: (commit: StoreCommit) => void): void;

  /** Resolves if the store answers; throws a retriable STORE_UNAVAILABLE error otherwise. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
