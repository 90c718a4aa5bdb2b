import { EventStore, RecordedEvent } from '../event-store/event-store.port';
import { Clock } from '../ports/clock.port';
import { Sleep, sleepUnlessAborted } from '../ports/sleeper.port';
import { Lease } from '../processing/lease';
import { Processor, ProcessorStatus } from '../processing/processor';
import { ProjectionDefinition } from './projection';
import {
  ProjectionFailure,
  ProjectionRecord,
  ProjectionStatus,
  ReadModelStore,
} from './read-model-store.port';
import { LiveProjection } from './runner/live-projection';
import { ProjectionOperations } from './runner/operator-requests';
import { ProjectionRebuild } from './runner/projection-rebuild';
import { ProjectionState } from './runner/projection-state';
import { ProjectionStatusReporter } from './runner/projection-status';

/**
 * How a {@link ProjectionRunner} is built: the projection, the stores, how payloads decode, the
 * clock and sleep, the lease owner's name, and the batch size (default 500), heartbeat (default
 * 1000 ms) and lease TTL (default 10 000 ms).
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
  readonly onError?: (message: string, error: unknown) => void;
}

/**
 * Runs one projection, composed of parts with one job each, under the projection's lease (so two
 * processes never apply an event twice):
 * - {@link LiveProjection} keeps the active generation current (catch-up, then live);
 * - {@link ProjectionRebuild} replays into a shadow generation while the active one keeps
 *   serving, and the runner swaps it in atomically once it has caught up;
 * - {@link ProjectionOperations} carries out operator requests (rebuild, retry, skip);
 * - {@link ProjectionState} owns the persisted record every part reads;
 * - {@link ProjectionStatusReporter} measures the lag and reports the status;
 * - this runner composes them: it waits for the lease, renews it on a heartbeat (stopping every
 *   part when it is lost) and, on the same beat, has the requests taken and the status reported.
 * A handler that throws stops only this projection, naming the event, until an operator acts.
 */
export class ProjectionRunner implements Processor {
  private readonly definition: ProjectionDefinition;
  private readonly batchSize: number;
  private readonly heartbeatMs: number;
  private readonly lease: Lease;
  private readonly stopping = new AbortController();
  private supervisor: Promise<void> | undefined;
  private state: ProjectionState | undefined;
  private readonly reporter: ProjectionStatusReporter;

  constructor(private readonly options: ProjectionRunnerOptions) {
    this.definition = options.definition;
    this.batchSize = options.batchSize ?? 500;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.reporter = new ProjectionStatusReporter(options);
    this.lease = new Lease(
      options.readModel,
      options.definition.name,
      options.owner,
      options.leaseTtlMs ?? 10_000,
    );
  }

  /** The projection's name. */
  get name(): string {
    return this.definition.name;
  }

  /** The state as this runner last knew it (undefined before it first held the lease). */
  current(): ProjectionRecord | undefined {
    return this.state?.current;
  }

  /** This projection in the shape every processor reports. */
  status(): ProcessorStatus {
    return this.reporter.status(this.current());
  }

  /** Starts in the background: waits for the lease, then runs until stopped or the lease is lost. */
  start(): void {
    this.supervisor ??= this.supervise();
  }

  /** Stops every part (finishing the batch in flight) and hands the lease over. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.supervisor;
    await this.lease.release();
  }

  private async supervise(): Promise<void> {
    const { readModel, store, clock, sleep, definition } = this.options;
    if (!(await this.lease.acquire(this.stopping.signal, this.heartbeatMs, sleep))) return;
    const state = await this.load();
    if (!state) return;
    this.state = state;
    const operations = new ProjectionOperations({ store, readModel, definition, state, clock });
    const onError = (message: string, error: unknown) => this.options.onError?.(message, error);
    const shared = {
      store,
      readModel,
      definition,
      decode: this.options.decode,
      state,
      batchSize: this.batchSize,
      pauseMs: this.heartbeatMs,
      sleep,
      onError,
      onPoison: async (failure: ProjectionFailure) => {
        onError(
          `projection ${this.name} stopped${state.current.rebuild ? ' during rebuild' : ''} on ${failure.streamName}@${failure.revision} (${failure.type}): ${failure.message}`,
          undefined,
        );
        await operations.stopOn(failure);
      },
    };
    const live = new LiveProjection(shared);
    const rebuild = new ProjectionRebuild({
      ...shared,
      onCaughtUp: (generation) => this.swap(state, live, generation),
    });
    const { current } = state;
    if (current.version !== definition.version && !current.rebuild)
      await operations.beginRebuild('versionChanged');
    live.start();
    rebuild.start();
    await this.heartbeat(state, operations, this.reporter);
    await Promise.all([live.stop(), rebuild.stop()]);
  }

  /** The projection's record, retried after a pause while the read model cannot be reached. */
  private async load(): Promise<ProjectionState | undefined> {
    const { readModel, definition, clock, sleep } = this.options;
    while (!this.stopping.signal.aborted) {
      try {
        return await ProjectionState.load(readModel, definition, clock);
      } catch (error) {
        this.options.onError?.(`projection ${this.name}: cannot load its state`, error);
        await sleepUnlessAborted(sleep, this.heartbeatMs, this.stopping.signal);
      }
    }
    return undefined;
  }

  /** Makes the rebuilt generation the active one, atomically, and drops the old one. */
  private async swap(
    state: ProjectionState,
    live: LiveProjection,
    generation: number,
  ): Promise<void> {
    const previous = state.current.activeGeneration;
    await live.suspend();
    try {
      await state.change(() => ({
        activeGeneration: generation,
        version: this.definition.version,
        rebuild: null,
        rebuiltAt: this.options.clock.now().toISOString(),
        status: ProjectionStatus.CatchingUp,
      }));
    } finally {
      live.resume();
    }
    await this.options.readModel.dropGeneration(this.name, previous, this.definition.collections);
  }

  /** Every heartbeat: renew the lease (stop when it is lost), take requests, report status. */
  private async heartbeat(
    state: ProjectionState,
    operations: ProjectionOperations,
    reporter: ProjectionStatusReporter,
  ): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        if (!(await this.lease.renew())) {
          this.options.onError?.(
            `projection ${this.name}: lease lost to another process; stopping`,
            undefined,
          );
          return;
        }
        await operations.takeRequests();
        await reporter.report(state);
      } catch (error) {
        this.options.onError?.(`projection ${this.name}: housekeeping failed`, error);
      }
      await sleepUnlessAborted(this.options.sleep, this.heartbeatMs, signal);
    }
  }
}
