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
import { DEFAULT_RETRY_POLICY, RetryPolicy } from './retry-policy';
import { SendEventHandler } from './send-event.handler';
import { StartWorkflowHandler } from './start-workflow.handler';

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
