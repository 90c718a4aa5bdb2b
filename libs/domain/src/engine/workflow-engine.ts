import { PayloadCodec } from '../codec/payload-codec.port';
import { EventStore } from '../event-store/event-store.port';
import { Clock } from '../ports/clock.port';
import { IdGenerator } from '../ports/id-generator.port';
import { realSleep, Sleep } from '../ports/sleeper.port';
import { InstanceQueries } from '../queries/instance-queries';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { EngineContext } from './engine-context';
import { EventRecorder } from './event-recorder';
import { InstanceRepository } from './instance-repository';
import { KeyedSerialExecutor } from './keyed-serial-executor';
import { RetryPolicy } from '../retry/retry';
import { DEFAULT_RETRY_POLICY } from './retry-policy';
import { SendEventHandler } from './send-event.handler';
import { StartWorkflowHandler } from './start-workflow.handler';

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
  /** How many instances to keep rehydrated in memory. */
  readonly cacheCapacity?: number;
}

/** The engine's use cases, wired to one shared context. A composition root, not a service. */
export interface WorkflowEngine {
  readonly startWorkflow: StartWorkflowHandler;
  readonly sendEvent: SendEventHandler;
  readonly queries: InstanceQueries;
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
  );
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
    recorder: new EventRecorder(options.store, options.codec, options.clock),
    serial: new KeyedSerialExecutor(),
  };
  return {
    startWorkflow: new StartWorkflowHandler(context),
    sendEvent: new SendEventHandler(context),
    queries: new InstanceQueries(options.store, options.catalog, instances),
  };
}
