import { PayloadCodec } from '../codec/payload-codec.port';
import { EventStore } from '../event-store/event-store.port';
import { Clock } from '../ports/clock.port';
import { IdGenerator } from '../ports/id-generator.port';
import { realSleep, Sleep } from '../ports/sleeper.port';
import { InstanceQueries } from '../queries/instance-queries';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { EngineContext } from './engine-context';
import { DEFAULT_STREAM_LIMITS, EventRecorder, StreamLimits } from './event-recorder';
import {
  InstanceCacheStats,
  InstanceRepository,
  InstanceSnapshots,
  SnapshotStats,
} from './instance-repository';
import { KeyedSerialExecutor } from './keyed-serial-executor';
import { RetryPolicy } from '../retry/retry';
import { DEFAULT_RETRY_POLICY } from './retry-policy';
import { CommandOutcomeHandler } from './command-outcome.handler';
import { FireTimerHandler } from './fire-timer.handler';
import { MessageTargets } from './message-targets';
import { SendEventHandler } from './send-event.handler';
import { StartWorkflowHandler } from './start-workflow.handler';
import { TerminateInstanceHandler } from './terminate-instance.handler';
import { MigrateInstanceHandler } from './migrate-instance.handler';
import { EngineObserver, NO_ENGINE_OBSERVER } from './engine-observer';

/**
 * What {@link createWorkflowEngine} wires together: the event store, the payload codec and the
 * workflow catalog, with an injected clock and id source (`@esflow/core/node` has the Node ones).
 * `sleep`, `random` and `retry` drive the back-off after a lost concurrency race and default to
 * real timers, `Math.random` and {@link DEFAULT_RETRY_POLICY}.
 */
export interface WorkflowEngineOptions {
  readonly store: EventStore;
  readonly codec: PayloadCodec;
  readonly catalog: WorkflowCatalog;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly sleep?: Sleep;
  readonly random?: () => number;
  readonly retry?: RetryPolicy;
  /** How many instances to keep rehydrated in memory (default 10 000). */
  readonly cacheCapacity?: number;
  /** The instance cache's budget in bytes of event data (default 64 MiB). */
  readonly cacheBytes?: number;
  /** How large an event and an instance may be (default {@link DEFAULT_STREAM_LIMITS}). */
  readonly limits?: Partial<StreamLimits>;
  /**
   * Where to keep instance snapshots, so that a long stream loads from its latest one (default:
   * none; every load replays the whole stream).
   */
  readonly snapshots?: InstanceSnapshots;
  /** Told of every transition, lost race and append (e.g. for metrics); default: none. */
  readonly observer?: EngineObserver;
}

/** The engine's use cases, wired to one shared context. A composition root, not a service. */
export interface WorkflowEngine {
  readonly startWorkflow: StartWorkflowHandler;
  readonly sendEvent: SendEventHandler;
  /** Fires a due timer (the timer service's use case): once, never early, racing events fairly. */
  readonly fireTimer: FireTimerHandler;
  /** Records what came of a dispatched command: its completion (and reply), an incident, its resolution. */
  readonly commands: CommandOutcomeHandler;
  /**
   * An operator ends a running instance by hand: its timers cancelled, its commands withdrawn,
   * status `terminated`, in one append.
   */
  readonly terminate: TerminateInstanceHandler;
  /**
   * An operator moves a running instance to another definition version, as one recorded step
   * (`InstanceMigrated`), its timers and commands following the state mapping.
   */
  readonly migrate: MigrateInstanceHandler;
  readonly queries: InstanceQueries;
  /** Read-only looks at instances for message correlation (keys, accepts now, could later). */
  readonly messageTargets: MessageTargets;
  /** The instance cache's size now; the cache never exceeds its count or its byte budget. */
  cacheStats(): InstanceCacheStats;
  /** Snapshots restored, ignored, written and failed since the engine was built. */
  snapshotStats(): SnapshotStats;
}

/**
 * Builds a {@link WorkflowEngine} whose handlers share one instance cache and one per-stream queue:
 * requests for the same instance are handled one at a time in this process, and across processes
 * the store's expected-revision check decides. Does no I/O until a handler is called.
 */
export function createWorkflowEngine(options: WorkflowEngineOptions): WorkflowEngine {
  const instances = new InstanceRepository(
    options.store,
    options.codec,
    options.catalog,
    options.cacheCapacity,
    options.cacheBytes,
    options.snapshots,
  );
  const observer = options.observer ?? NO_ENGINE_OBSERVER;
  const context: EngineContext = {
    store: options.store,
    codec: options.codec,
    catalog: options.catalog,
    clock: options.clock,
    ids: options.ids,
    sleep: options.sleep ?? realSleep,
    random: options.random ?? Math.random,
    retry: options.retry ?? DEFAULT_RETRY_POLICY,
    instances,
    recorder: new EventRecorder(
      options.store,
      options.codec,
      options.clock,
      { ...DEFAULT_STREAM_LIMITS, ...options.limits },
      observer,
    ),
    serial: new KeyedSerialExecutor(),
    observer,
  };
  return {
    startWorkflow: new StartWorkflowHandler(context),
    sendEvent: new SendEventHandler(context),
    fireTimer: new FireTimerHandler(context),
    commands: new CommandOutcomeHandler(context),
    terminate: new TerminateInstanceHandler(context),
    migrate: new MigrateInstanceHandler(context),
    queries: new InstanceQueries(options.store, options.catalog, instances),
    messageTargets: new MessageTargets(context),
    cacheStats: () => instances.cacheStats(),
    snapshotStats: () => instances.snapshotStats(),
  };
}
