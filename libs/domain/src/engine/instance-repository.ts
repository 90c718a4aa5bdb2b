import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { EventStore, RecordedEvent, StreamRevision } from '../event-store/event-store.port';
import { PayloadCodec } from '../codec/payload-codec.port';
import { readEsflowMetadata } from '../workflow/event-metadata';
import { DecodedEvent, foldInstance, InstanceState } from '../workflow/instance-state';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { streamNameOf, WorkflowDefinition } from '../workflow/workflow-definition';
import { LruCache } from './lru-cache';
import { schemaNameOf } from './transition-planner';

/** What the engine's instance cache holds now (for metrics). */
export interface InstanceCacheStats {
  /** Instances kept rehydrated. */
  readonly instances: number;
  /** Their weight: bytes of stored event data; never more than `budgetBytes`. */
  readonly bytes: number;
  readonly budgetBytes: number;
  /** Most instances kept, whatever their size. */
  readonly capacity: number;
}

/**
 * Loads instances by replaying their streams, keeping hot ones in a bounded cache. A cached
 * instance is always brought up to date with a read of the events after its revision, so
 * decisions never rest on a stale state; the append's revision check covers the remaining race.
 */
export class InstanceRepository {
  private readonly cache: LruCache<string, InstanceState>;

  constructor(
    private readonly store: EventStore,
    private readonly codec: PayloadCodec,
    private readonly catalog: WorkflowCatalog,
    private readonly cacheCapacity = 10_000,
    /** The cache's budget in bytes of stored event data (an instance weighs its stream's bytes). */
    private readonly cacheBytes = 64 * 1024 * 1024,
  ) {
    this.cache = new LruCache(cacheCapacity, cacheBytes);
  }

  cacheStats(): InstanceCacheStats {
    return {
      instances: this.cache.size,
      bytes: this.cache.weight,
      budgetBytes: this.cacheBytes,
      capacity: this.cacheCapacity,
    };
  }

  async load(workflow: string, instanceId: string): Promise<InstanceState | undefined> {
    const streamName = streamNameOf(workflow, instanceId);
    const cached = this.cache.get(streamName);
    if (cached) {
      const newer = await this.store.readStream(streamName, { fromRevision: cached.revision + 1 });
      if (newer.length === 0) return cached;
      const state = foldInstance(
        cached.definition,
        instanceId,
        await this.decodeAll(cached.definition, newer),
        cached,
      );
      this.remember(state);
      return state;
    }
    const events = await this.store.readStream(streamName);
    if (events.length === 0) return undefined;
    const state = await this.fold(instanceId, events);
    this.remember(state);
    return state;
  }

  /**
   * The instance as this process last knew it, without a read of the store when it is cached
   * (loaded and cached like {@link load} otherwise): for a first look whose decision is then
   * made, or refused, on a {@link load} (message correlation inspects its candidates so, and
   * delivers through the ordinary send). It may be behind the stream, never ahead of it.
   */
  async peek(workflow: string, instanceId: string): Promise<InstanceState | undefined> {
    return this.cache.get(streamNameOf(workflow, instanceId)) ?? this.load(workflow, instanceId);
  }

  /**
   * The instance as this process last knew it, or undefined when it is not cached: no read of
   * the store. It may be behind the stream, never ahead of it; a decision that writes rests on
   * the append's revision check, and one that refuses must be confirmed on a {@link load}.
   */
  cached(streamName: string): InstanceState | undefined {
    return this.cache.get(streamName);
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

  remember(state: InstanceState): void {
    this.cache.set(state.streamName, state, state.bytes);
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

  async decodeAll(
    definition: WorkflowDefinition,
    events: readonly RecordedEvent[],
  ): Promise<DecodedEvent[]> {
    return Promise.all(
      events.map(async (recorded) => ({
        recorded,
        payload: await this.codec.decode(schemaNameOf(definition, recorded.type), recorded.data),
      })),
    );
  }

  private async fold(instanceId: string, events: readonly RecordedEvent[]): Promise<InstanceState> {
    const definition = this.definitionOf(events[0]!);
    return foldInstance(definition, instanceId, await this.decodeAll(definition, events));
  }
}
