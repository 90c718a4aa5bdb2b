import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { EventStore, RecordedEvent, StreamRevision } from '../event-store/event-store.port';
import { PayloadCodec } from '../codec/payload-codec.port';
import { readEsflowMetadata } from '../workflow/event-metadata';
import { DecodedEvent, foldInstance, InstanceState } from '../workflow/instance-state';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { streamNameOf, WorkflowDefinition } from '../workflow/workflow-definition';
import { LruCache } from './lru-cache';
import { SnapshotStore } from '../snapshots/snapshot-store.port';
import {
  decodeInstanceSnapshot,
  DEFAULT_SNAPSHOT_POLICY,
  encodeInstanceSnapshot,
  SnapshotPolicy,
} from '../snapshots/instance-snapshot';
import { schemaNameOf } from './transition-planner';
import { FrameworkEvent } from '../workflow/framework-events';

/** What the engine's instance cache holds now (for metrics). */
export interface InstanceCacheStats {
  /** Instances kept rehydrated. */
  readonly instances: number;
  /** Their weight: bytes of stored event data; never more than `budgetBytes`. */
  readonly bytes: number;
  readonly budgetBytes: number;
  /** Most instances kept, whatever their size. */
  readonly capacity: number;
  /**
   * Since the engine was built: looks at an instance answered from the cache (`hits`), and
   * loads that found it not cached and read its stream (`misses`).
   */
  readonly hits: number;
  readonly misses: number;
}

/** What the instance repository did with snapshots since it started (for metrics). */
export interface SnapshotStats {
  /** Loads that started from a stored snapshot instead of the stream's first event. */
  readonly restored: number;
  /** Stored snapshots found unusable (another shape or format, or not the stream's). */
  readonly ignored: number;
  readonly written: number;
  /** Writes or reads the snapshot store failed (the instance was replayed instead). */
  readonly failed: number;
}

/** Where and how often the repository keeps instance snapshots. */
export interface InstanceSnapshots {
  readonly store: SnapshotStore;
  readonly policy?: Partial<SnapshotPolicy>;
}

/**
 * Loads instances by replaying their streams, from their latest stored snapshot when one is
 * kept, and keeps hot ones in a bounded cache. A cached instance is brought up to date with a
 * read of the events after its revision before a decision that refuses; the append's revision
 * check covers a decision that writes. A snapshot is checked against the stream (the event at
 * its revision must be the one it was taken after) and ignored when it does not match.
 */
export class InstanceRepository {
  private readonly cache: LruCache<string, InstanceState>;
  private readonly policy: SnapshotPolicy;
  private readonly counters = { restored: 0, ignored: 0, written: 0, failed: 0 };
  private readonly lookups = { hits: 0, misses: 0 };

  constructor(
    private readonly store: EventStore,
    private readonly codec: PayloadCodec,
    private readonly catalog: WorkflowCatalog,
    private readonly cacheCapacity = 10_000,
    /** The cache's budget in bytes of stored event data (an instance weighs its stream's bytes). */
    private readonly cacheBytes = 64 * 1024 * 1024,
    private readonly snapshots?: InstanceSnapshots,
  ) {
    this.cache = new LruCache(cacheCapacity, cacheBytes);
    this.policy = { ...DEFAULT_SNAPSHOT_POLICY, ...snapshots?.policy };
  }

  snapshotStats(): SnapshotStats {
    return { ...this.counters };
  }

  cacheStats(): InstanceCacheStats {
    return {
      instances: this.cache.size,
      bytes: this.cache.weight,
      budgetBytes: this.cacheBytes,
      capacity: this.cacheCapacity,
      ...this.lookups,
    };
  }

  async load(workflow: string, instanceId: string): Promise<InstanceState | undefined> {
    const streamName = streamNameOf(workflow, instanceId);
    const cached = this.cache.get(streamName);
    this.lookups[cached ? 'hits' : 'misses'] += 1;
    if (cached) {
      const newer = await this.store.readStream(streamName, { fromRevision: cached.revision + 1 });
      if (newer.length === 0) return cached;
      const state = foldInstance(
        cached.definition,
        instanceId,
        await this.decodeAll(cached.definition, newer),
        cached,
        this.versionsOf(workflow),
      );
      this.remember(state);
      return state;
    }
    const restored = await this.restore(instanceId, streamName);
    if (restored) {
      this.remember(restored);
      return restored;
    }
    const events = await this.store.readStream(streamName);
    if (events.length === 0) return undefined;
    const state = await this.fold(instanceId, events);
    this.remember(state);
    return state;
  }

  /** The instance from its stored snapshot and the events after it, if a usable one is kept. */
  private async restore(
    instanceId: string,
    streamName: string,
  ): Promise<InstanceState | undefined> {
    if (!this.snapshots) return undefined;
    let stored;
    try {
      stored = await this.snapshots.store.read(streamName);
    } catch {
      this.counters.failed++;
      return undefined;
    }
    if (!stored) return undefined;
    const state = decodeInstanceSnapshot(stored, instanceId, (workflow, version) =>
      this.catalog.version(workflow, version),
    );
    // From the snapshot's own event on: it proves the snapshot belongs to this stream.
    const events = state
      ? await this.store.readStream(streamName, { fromRevision: stored.revision })
      : [];
    if (!state || events[0]?.eventId !== state.lastEventId) {
      this.counters.ignored++;
      return undefined;
    }
    this.counters.restored++;
    const newer = events.slice(1);
    if (newer.length === 0) return state;
    return foldInstance(
      state.definition,
      instanceId,
      await this.decodeAll(state.definition, newer),
      state,
      this.versionsOf(state.definition.name),
    );
  }

  /**
   * The instance as this process last knew it, without a read of the store when it is cached
   * (loaded and cached like {@link load} otherwise): for a first look whose decision is then
   * made, or refused, on a {@link load} (message correlation inspects its candidates so, and
   * delivers through the ordinary send). It may be behind the stream, never ahead of it.
   */
  async peek(workflow: string, instanceId: string): Promise<InstanceState | undefined> {
    return this.cached(streamNameOf(workflow, instanceId)) ?? this.load(workflow, instanceId);
  }

  /**
   * The instance as this process last knew it, or undefined when it is not cached: no read of
   * the store. It may be behind the stream, never ahead of it; a decision that writes rests on
   * the append's revision check, and one that refuses must be confirmed on a {@link load}.
   */
  cached(streamName: string): InstanceState | undefined {
    const cached = this.cache.get(streamName);
    // A miss is not counted here: the load that follows it counts it.
    if (cached) this.lookups.hits += 1;
    return cached;
  }

  /**
   * The request whose first event is `eventId`, if `state`'s stream answered it: the revision its
   * first answer reported and its fingerprint. From what the state remembers; for a state loaded
   * from a snapshot that remembers only recent requests, from the store (when it can look event
   * ids up) for older ones.
   */
  async earlierRequest(
    state: InstanceState,
    eventId: string,
  ): Promise<{ readonly revision: StreamRevision; readonly fingerprint?: string } | undefined> {
    const remembered = state.requestRevisions.get(eventId);
    const answered =
      remembered !== undefined
        ? { revision: remembered, fingerprint: state.requestFingerprints.get(eventId) }
        : await this.requestInStore(state, eventId);
    if (!answered) return undefined;
    const { revision, fingerprint } = answered;
    return fingerprint === undefined ? { revision } : { revision, fingerprint };
  }

  /**
   * {@link earlierRequest} from the store, for a request older than those `state` remembers:
   * the revision of the last event its append recorded, and the fingerprint on its first.
   */
  private async requestInStore(
    state: InstanceState,
    eventId: string,
  ): Promise<{ revision: StreamRevision; fingerprint: string | undefined } | undefined> {
    const knownFrom = state.requestsKnownFrom;
    if (knownFrom === undefined || !this.store.findEvent) return undefined;
    const found = await this.store.findEvent(eventId);
    if (!found || found.streamName !== state.streamName || found.revision >= knownFrom)
      return undefined;
    // The request's append: its first event, then the facts it caused, as recorded together.
    const appended = await this.store.readStream(state.streamName, {
      fromRevision: found.revision,
      maxCount: 256,
    });
    let last = found.revision;
    for (const event of appended.slice(1)) {
      if (readEsflowMetadata(event.metadata).causationId !== eventId) break;
      last = event.revision;
    }
    const fingerprint = appended[0]
      ? readEsflowMetadata(appended[0].metadata).requestFingerprint
      : undefined;
    return { revision: last, fingerprint };
  }

  /** The instance as it was right after `revision` (to repeat an earlier request's answer). */
  async loadAt(
    workflow: string,
    instanceId: string,
    revision: StreamRevision,
  ): Promise<InstanceState> {
    const events = await this.store.readStream(streamNameOf(workflow, instanceId), {
      maxCount: revision + 1,
    });
    return this.fold(instanceId, events);
  }

  /**
   * Caches `state`, which must be the stream's (loaded, or after an append this process made),
   * and stores a snapshot of it when it has enough events after its last one. The write is not
   * awaited: a lost snapshot only means a longer replay.
   */
  remember(state: InstanceState): void {
    const due =
      this.snapshots !== undefined &&
      state.revision - (state.snapshotRevision ?? -1) >= this.policy.every;
    const kept = due ? { ...state, snapshotRevision: state.revision } : state;
    this.cache.set(state.streamName, kept, state.bytes);
    if (due) this.writeSnapshot(state);
  }

  private writeSnapshot(state: InstanceState): void {
    // A machine snapshot that does not survive JSON is not stored; the instance is replayed.
    const snapshot = encodeInstanceSnapshot(state, this.policy);
    if (!snapshot) return;
    this.snapshots!.store.write(snapshot).then(
      () => this.counters.written++,
      () => this.counters.failed++,
    );
  }

  forget(streamName: string): void {
    this.cache.delete(streamName);
  }

  /** The definition version an instance is pinned to, from its start event's metadata. */
  definitionOf(start: RecordedEvent): WorkflowDefinition {
    const metadata = readEsflowMetadata(start.metadata);
    const definition = this.catalog.version(metadata.workflow, metadata.definitionVersion);
    if (!definition)
      throw new EsflowError(
        ErrorCode.InvalidDefinition,
        `stream ${start.streamName} is pinned to ${metadata.workflow} v${metadata.definitionVersion}, which this process does not define`,
      );
    return definition;
  }

  /** The definitions of `workflow` by version, for a fold that meets a migration. */
  versionsOf(workflow: string): (version: number) => WorkflowDefinition | undefined {
    return (version) => this.catalog.version(workflow, version);
  }

  /**
   * Decodes `events` by the schemas of the definition each was recorded under: `definition`
   * until an `InstanceMigrated`, its target version from it on.
   */
  async decodeAll(
    definition: WorkflowDefinition,
    events: readonly RecordedEvent[],
  ): Promise<DecodedEvent[]> {
    const decode = (recorded: RecordedEvent, under: WorkflowDefinition) =>
      this.codec.decode(schemaNameOf(under, recorded.type), recorded.data);
    // Which definition each event was recorded under; a migration's payload, decoded to learn
    // its target, is kept rather than decoded again.
    const definitions: WorkflowDefinition[] = [];
    const migrations = new Map<number, Awaited<ReturnType<typeof decode>>>();
    let current = definition;
    for (const [index, recorded] of events.entries()) {
      definitions.push(current);
      if (recorded.type !== FrameworkEvent.InstanceMigrated) continue;
      const payload = await decode(recorded, current);
      migrations.set(index, payload);
      const { toVersion } = payload as { toVersion: number };
      current = this.catalog.version(current.name, toVersion) ?? current;
    }
    return Promise.all(
      events.map(async (recorded, index) => ({
        recorded,
        payload: migrations.get(index) ?? (await decode(recorded, definitions[index]!)),
      })),
    );
  }

  private async fold(instanceId: string, events: readonly RecordedEvent[]): Promise<InstanceState> {
    const definition = this.definitionOf(events[0]!);
    return foldInstance(
      definition,
      instanceId,
      await this.decodeAll(definition, events),
      undefined,
      this.versionsOf(definition.name),
    );
  }
}
