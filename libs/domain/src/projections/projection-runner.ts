import {
  EventStore,
  EventStoreSubscription,
  GlobalPosition,
  RecordedEvent,
} from '../event-store/event-store.port';
import { formatPosition } from '../event-store/position';
import { KeyedSerialExecutor } from '../engine/keyed-serial-executor';
import { Clock } from '../ports/clock.port';
import { Sleep } from '../ports/sleeper.port';
import { readEsflowMetadata } from '../workflow/event-metadata';
import { ProjectedEvent, ProjectionDefinition } from './projection';
import {
  ProjectionFailure,
  ProjectionRecord,
  ProjectionRequestKind,
  ProjectionStatus,
  ReadModelStore,
  ReadModelTransaction,
} from './read-model-store.port';

/**
 * What a {@link ProjectionRunner} needs: the projection, the event store it reads, the read-model
 * store it writes, a payload decoder, clock and sleep, and its lease owner name. Defaults: batches
 * of 500 events, a heartbeat every 1 s, leases of 10 s, lag counted up to 10,000 events.
 */
export interface ProjectionRunnerOptions {
  readonly definition: ProjectionDefinition;
  readonly store: EventStore;
  readonly readModel: ReadModelStore;
  readonly decode: (event: RecordedEvent) => Promise<Record<string, unknown>>;
  readonly clock: Clock;
  readonly sleep: Sleep;
  /** Identifies this process in leases (e.g. `projector-<pid>-<random>`). */
  readonly owner: string;
  readonly batchSize?: number;
  readonly heartbeatMs?: number;
  readonly leaseTtlMs?: number;
  /** Ceiling of the lag count (counting is a read of up to this many events). */
  readonly maxLagCount?: number;
  readonly onError?: (message: string, error: unknown) => void;
}

class PoisonEvent extends Error {
  constructor(readonly failure: ProjectionFailure) {
    super(failure.message);
  }
}

/**
 * Runs one projection: catch-up then live from the store's subscription into the active
 * generation, each batch committed with its checkpoint; a rebuild replays from the start into a
 * shadow generation while the active one keeps serving, then swaps atomically. A handler that
 * throws stops only this projection, naming the event; an operator retries or skips it.
 * Only the holder of the projection's lease writes, so two processes never apply an event twice.
 */
export class ProjectionRunner {
  private readonly definition: ProjectionDefinition;
  private readonly batchSize: number;
  private readonly heartbeatMs: number;
  private readonly leaseTtlMs: number;
  private readonly serial = new KeyedSerialExecutor();
  private record: ProjectionRecord | undefined;
  private running = false;
  private holdsLease = false;
  private subscription: EventStoreSubscription | undefined;
  private loops: Promise<void>[] = [];
  private liveWake: (() => void) | undefined;

  constructor(private readonly options: ProjectionRunnerOptions) {
    this.definition = options.definition;
    this.batchSize = options.batchSize ?? 500;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.leaseTtlMs = options.leaseTtlMs ?? 10_000;
  }

  get name(): string {
    return this.definition.name;
  }

  /** The state as this runner last knew it (undefined before it first held the lease). */
  current(): ProjectionRecord | undefined {
    return this.record;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = [this.superviseLoop()];
  }

  async stop(): Promise<void> {
    this.running = false;
    this.liveWake?.();
    await this.subscription?.close();
    await Promise.allSettled(this.loops);
    if (this.holdsLease)
      await this.options.readModel
        .releaseLease(this.name, this.options.owner)
        .catch(() => undefined);
    this.holdsLease = false;
  }

  /** Waits for the lease, then runs the live, rebuild and housekeeping loops until stopped. */
  private async superviseLoop(): Promise<void> {
    const { readModel, owner, sleep } = this.options;
    while (this.running && !this.holdsLease) {
      this.holdsLease = await readModel
        .acquireLease(this.name, owner, this.leaseTtlMs)
        .catch(() => false);
      if (!this.holdsLease) await sleep(this.heartbeatMs);
    }
    if (!this.running) return;
    await this.initialise();
    const loops = [this.liveLoop(), this.rebuildLoop(), this.housekeepingLoop()];
    await Promise.allSettled(loops);
  }

  private async initialise(): Promise<void> {
    const { readModel, clock } = this.options;
    const stored = await readModel.record(this.name);
    if (!stored) {
      await readModel.createGeneration(this.name, 1, this.definition.collections);
      this.record = {
        name: this.name,
        version: this.definition.version,
        activeGeneration: 1,
        status: ProjectionStatus.CatchingUp,
        failure: null,
        rebuild: null,
        lag: null,
        heartbeatAt: clock.now().toISOString(),
      };
      await this.saveRecord();
      return;
    }
    this.record = stored;
    await readModel.createGeneration(
      this.name,
      stored.activeGeneration,
      this.definition.collections,
    );
    if (stored.version !== this.definition.version && !stored.rebuild)
      await this.beginRebuild('versionChanged');
    else if (stored.rebuild)
      await readModel.createGeneration(
        this.name,
        stored.rebuild.generation,
        this.definition.collections,
      );
  }

  private async saveRecord(tx?: ReadModelTransaction): Promise<void> {
    const record = this.record!;
    if (tx) await tx.saveRecord(record);
    else await this.options.readModel.transact((t) => t.saveRecord(record));
  }

  private update(changes: Partial<ProjectionRecord>): void {
    this.record = { ...this.record!, ...changes };
  }

  // ---- live -------------------------------------------------------------------------------

  /** A version-changed rebuild pauses live updates: new code must not write the old generation. */
  private liveBlocked(): boolean {
    const record = this.record!;
    return record.failure !== null || record.rebuild?.reason === 'versionChanged';
  }

  private async liveLoop(): Promise<void> {
    while (this.running) {
      if (this.liveBlocked()) {
        await new Promise<void>((resolve) => {
          this.liveWake = resolve;
          setTimeout(resolve, this.heartbeatMs);
        });
        continue;
      }
      const generation = this.record!.activeGeneration;
      const checkpoint = await this.options.readModel.checkpoint(this.name, generation);
      const subscription = this.options.store.subscribeToAll({
        ...(checkpoint ? { after: checkpoint.position } : {}),
        ...(this.definition.filter ? { filter: this.definition.filter } : {}),
      });
      this.subscription = subscription;
      try {
        await this.consume(subscription, generation, checkpoint?.eventsApplied ?? 0);
      } catch (error) {
        this.options.onError?.(`projection ${this.name}: live processing failed`, error);
        await this.options.sleep(this.heartbeatMs);
      } finally {
        await subscription.close();
      }
    }
  }

  /** Pulls from the subscription and applies whatever has arrived, a batch per transaction. */
  private async consume(
    subscription: EventStoreSubscription,
    generation: number,
    applied: number,
  ): Promise<void> {
    const buffer: RecordedEvent[] = [];
    let ended = false;
    let signal: (() => void) | undefined;
    const pump = (async () => {
      for await (const event of subscription) {
        buffer.push(event);
        signal?.();
        // Back-pressure: let the applier drain before reading far ahead.
        while (buffer.length >= this.batchSize * 4 && this.running) await this.options.sleep(5);
      }
    })().finally(() => {
      ended = true;
      signal?.();
    });
    let total = applied;
    while (this.running && generation === this.record!.activeGeneration && !this.liveBlocked()) {
      if (buffer.length === 0) {
        if (ended) break;
        await new Promise<void>((resolve) => {
          signal = resolve;
          this.liveWake = resolve;
          setTimeout(resolve, this.heartbeatMs);
        });
        continue;
      }
      const batch = buffer.splice(0, this.batchSize);
      total = await this.applyBatch(generation, batch, total, false);
    }
    await subscription.close();
    await pump.catch((error: unknown) => {
      throw error;
    });
  }

  /**
   * Applies events to one generation with the checkpoint in the same transaction. On a handler
   * failure the batch is rolled back, the events before the poison one are applied one by one,
   * and the projection stops naming the event.
   */
  private async applyBatch(
    generation: number,
    batch: readonly RecordedEvent[],
    appliedBefore: number,
    rebuilding: boolean,
  ): Promise<number> {
    try {
      await this.serial.run('write', () =>
        this.applyInOneTransaction(generation, batch, appliedBefore),
      );
      return appliedBefore + batch.length;
    } catch (error) {
      if (!(error instanceof PoisonEvent)) throw error;
      let applied = appliedBefore;
      for (const event of batch) {
        try {
          await this.serial.run('write', () =>
            this.applyInOneTransaction(generation, [event], applied),
          );
          applied += 1;
        } catch (single) {
          if (!(single instanceof PoisonEvent)) throw single;
          this.options.onError?.(
            `projection ${this.name} stopped${rebuilding ? ' during rebuild' : ''} on ${single.failure.streamName}@${single.failure.revision} (${single.failure.type}): ${single.failure.message}`,
            single,
          );
          this.update({ status: ProjectionStatus.Stopped, failure: single.failure });
          await this.saveRecord();
          return applied;
        }
      }
      return applied;
    }
  }

  private async applyInOneTransaction(
    generation: number,
    batch: readonly RecordedEvent[],
    appliedBefore: number,
  ): Promise<void> {
    await this.options.readModel.transact(async (tx) => {
      const documents = tx.documents(this.name, generation);
      for (const recorded of batch) {
        try {
          await this.definition.handle(this.projected(recorded), documents);
        } catch (error) {
          throw new PoisonEvent({
            message: error instanceof Error ? error.message : String(error),
            streamName: recorded.streamName,
            revision: recorded.revision,
            type: recorded.type,
            position: formatPosition(recorded.position),
          });
        }
      }
      const last = batch[batch.length - 1]!;
      await tx.saveCheckpoint(this.name, generation, {
        position: last.position,
        eventsApplied: appliedBefore + batch.length,
      });
    });
  }

  private projected(recorded: RecordedEvent): ProjectedEvent {
    return {
      recorded,
      metadata: readEsflowMetadata(recorded.metadata),
      payload: () => this.options.decode(recorded),
    };
  }

  // ---- rebuild ----------------------------------------------------------------------------

  private async beginRebuild(reason: 'requested' | 'versionChanged'): Promise<void> {
    const { readModel, clock } = this.options;
    const generation = this.record!.activeGeneration + 1;
    await readModel.createGeneration(this.name, generation, this.definition.collections);
    const totalEvents = await this.countEvents(undefined, Number.MAX_SAFE_INTEGER);
    this.update({
      rebuild: { generation, reason, startedAt: clock.now().toISOString(), totalEvents },
      status: ProjectionStatus.Rebuilding,
    });
    await this.saveRecord();
  }

  private async rebuildLoop(): Promise<void> {
    const { readModel, store, sleep } = this.options;
    while (this.running) {
      const rebuild = this.record!.rebuild;
      if (!rebuild || this.record!.failure) {
        await sleep(this.heartbeatMs / 4);
        continue;
      }
      try {
        const checkpoint = await readModel.checkpoint(this.name, rebuild.generation);
        const page = await store.readAll({
          ...(checkpoint ? { after: checkpoint.position } : {}),
          maxCount: this.batchSize,
          ...(this.definition.filter ? { filter: this.definition.filter } : {}),
        });
        if (page.length > 0)
          await this.applyBatch(rebuild.generation, page, checkpoint?.eventsApplied ?? 0, true);
        if (page.length < this.batchSize && !this.record!.failure)
          await this.swap(rebuild.generation);
      } catch (error) {
        this.options.onError?.(`projection ${this.name}: rebuild step failed`, error);
        await sleep(this.heartbeatMs);
      }
    }
  }

  /** Makes the rebuilt generation the active one, atomically, and drops the old one. */
  private async swap(generation: number): Promise<void> {
    const previous = this.record!.activeGeneration;
    await this.serial.run('write', async () => {
      this.update({
        activeGeneration: generation,
        version: this.definition.version,
        rebuild: null,
        status: ProjectionStatus.CatchingUp,
      });
      await this.saveRecord();
    });
    this.liveWake?.();
    await this.subscription?.close();
    await this.options.readModel.dropGeneration(this.name, previous, this.definition.collections);
  }

  // ---- housekeeping: lease, requests, status ---------------------------------------------

  private async housekeepingLoop(): Promise<void> {
    const { readModel, owner, sleep, clock } = this.options;
    while (this.running) {
      try {
        if (!(await readModel.acquireLease(this.name, owner, this.leaseTtlMs))) {
          this.options.onError?.(
            `projection ${this.name}: lease lost to another process; stopping`,
            undefined,
          );
          this.holdsLease = false;
          this.running = false;
          this.liveWake?.();
          await this.subscription?.close();
          return;
        }
        for (const request of await readModel.takeRequests([this.name]))
          await this.handleRequest(request.kind);
        const lag = await this.measureLag();
        const status = this.record!.failure
          ? ProjectionStatus.Stopped
          : this.record!.rebuild
            ? ProjectionStatus.Rebuilding
            : lag.events === 0
              ? ProjectionStatus.Live
              : ProjectionStatus.CatchingUp;
        await this.serial.run('write', async () => {
          this.update({ lag, status, heartbeatAt: clock.now().toISOString() });
          await this.saveRecord();
        });
      } catch (error) {
        this.options.onError?.(`projection ${this.name}: housekeeping failed`, error);
      }
      await sleep(this.heartbeatMs);
    }
  }

  private async handleRequest(kind: ProjectionRequestKind): Promise<void> {
    const record = this.record!;
    if (kind === ProjectionRequestKind.Rebuild && !record.rebuild) {
      await this.serial.run('write', () => this.beginRebuild('requested'));
    } else if (kind === ProjectionRequestKind.Retry && record.failure) {
      await this.serial.run('write', async () => {
        this.update({
          failure: null,
          status: record.rebuild ? ProjectionStatus.Rebuilding : ProjectionStatus.CatchingUp,
        });
        await this.saveRecord();
      });
      this.liveWake?.();
    } else if (kind === ProjectionRequestKind.Skip && record.failure) {
      await this.serial.run('write', () => this.skipFailedEvent(record.failure!));
      this.liveWake?.();
    }
  }

  /** Moves the checkpoint past the poison event without applying it, and records the skip. */
  private async skipFailedEvent(failure: ProjectionFailure): Promise<void> {
    const record = this.record!;
    const generation = record.rebuild?.generation ?? record.activeGeneration;
    const checkpoint = await this.options.readModel.checkpoint(this.name, generation);
    const [poison] = await this.options.store.readAll({
      ...(checkpoint ? { after: checkpoint.position } : {}),
      maxCount: 1,
      ...(this.definition.filter ? { filter: this.definition.filter } : {}),
    });
    this.update({
      failure: null,
      status: record.rebuild ? ProjectionStatus.Rebuilding : ProjectionStatus.CatchingUp,
    });
    await this.options.readModel.transact(async (tx) => {
      if (poison && formatPosition(poison.position) === failure.position) {
        await tx.saveCheckpoint(this.name, generation, {
          position: poison.position,
          eventsApplied: (checkpoint?.eventsApplied ?? 0) + 1,
        });
        await tx.recordSkip(this.name, failure, 'skipped by an operator');
      }
      await tx.saveRecord(this.record!);
    });
  }

  private async measureLag(): Promise<{ events: number; seconds: number }> {
    const record = this.record!;
    const checkpoint = await this.options.readModel.checkpoint(this.name, record.activeGeneration);
    const cap = this.options.maxLagCount ?? 10_000;
    const events = await this.countEvents(checkpoint?.position, cap);
    if (events === 0) return { events: 0, seconds: 0 };
    const [oldest] = await this.options.store.readAll({
      ...(checkpoint ? { after: checkpoint.position } : {}),
      maxCount: 1,
      ...(this.definition.filter ? { filter: this.definition.filter } : {}),
    });
    const seconds = oldest
      ? Math.max(0, (this.options.clock.now().getTime() - oldest.recordedAt.getTime()) / 1000)
      : 0;
    return { events, seconds };
  }

  /** Events matching the filter after `after`, counted by paging, up to `cap`. */
  private async countEvents(after: GlobalPosition | undefined, cap: number): Promise<number> {
    let count = 0;
    let cursor = after;
    while (count < cap) {
      const page = await this.options.store.readAll({
        ...(cursor ? { after: cursor } : {}),
        maxCount: Math.min(5_000, cap - count),
        ...(this.definition.filter ? { filter: this.definition.filter } : {}),
      });
      count += page.length;
      if (page.length < 5_000) break;
      cursor = page[page.length - 1]!.position;
    }
    return count;
  }
}
