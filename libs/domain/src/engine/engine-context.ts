import { PayloadCodec } from '../codec/payload-codec.port';
import { EventStore } from '../event-store/event-store.port';
import { Clock } from '../ports/clock.port';
import { IdGenerator } from '../ports/id-generator.port';
import { Sleep } from '../ports/sleeper.port';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { EventRecorder } from './event-recorder';
import { InstanceRepository } from './instance-repository';
import { KeyedSerialExecutor } from './keyed-serial-executor';
import { retry, RetryPolicy } from '../retry/retry';
import { ErrorCode, hasErrorCode } from '../errors/esflow-error';
import { ok, reject, Rejection, Result } from '../errors/rejection';
import { EventCategory, InstanceStatus } from '../workflow/event-metadata';
import { InstanceState, instanceStatusOf } from '../workflow/instance-state';
import { streamNameOf, WorkflowDefinition } from '../workflow/workflow-definition';
import {
  FRAMEWORK_EVENT_TYPES as FRAMEWORK_TYPES,
  FrameworkEvent,
} from '../workflow/framework-events';
import { PlannedEvent, schemaNameOf } from './transition-planner';
import { EngineObserver, TransitionOutcome, UNKNOWN_LABEL } from './engine-observer';

/** What every engine handler shares: ports, the instance repository and the per-stream queue. */
export interface EngineContext {
  readonly store: EventStore;
  readonly codec: PayloadCodec;
  readonly catalog: WorkflowCatalog;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly retry: RetryPolicy;
  readonly instances: InstanceRepository;
  readonly recorder: EventRecorder;
  readonly serial: KeyedSerialExecutor;
  readonly observer: EngineObserver;
}

const FRAMEWORK_EVENT_TYPES: ReadonlySet<string> = new Set(FRAMEWORK_TYPES);

/** By catalog and workflow, the start and input events any registered version declares. */
const declaredTypes = new WeakMap<WorkflowCatalog, Map<string, ReadonlySet<string>>>();

function declaredEventTypes(catalog: WorkflowCatalog, workflow: string): ReadonlySet<string> {
  let byWorkflow = declaredTypes.get(catalog);
  if (!byWorkflow) declaredTypes.set(catalog, (byWorkflow = new Map()));
  let types = byWorkflow.get(workflow);
  if (!types) {
    types = new Set(
      catalog
        .all()
        .filter((definition) => definition.name === workflow)
        .flatMap((definition) => [definition.startEvent, ...definition.inputEvents]),
    );
    byWorkflow.set(workflow, types);
  }
  return types;
}

/**
 * Tells the engine's observer what came of one request and returns `result` unchanged.
 * `outcomeOf` maps a success to its outcome (undefined: not a transition, e.g. a timer not due
 * yet). A workflow the catalog does not know, or an event type none of its versions declares,
 * is reported as {@link UNKNOWN_LABEL}: what a caller made up never becomes a label.
 */
export function observed<T>(
  engine: EngineContext,
  request: { readonly workflow: string; readonly eventType: string },
  result: Result<T>,
  outcomeOf: (value: T) => TransitionOutcome | undefined,
): Result<T> {
  const { observer, catalog } = engine;
  if (!observer.transition) return result;
  const outcome = result.ok ? outcomeOf(result.value) : 'rejected';
  if (outcome === undefined) return result;
  const known = catalog.latest(request.workflow) !== undefined;
  const declared = known && declaredEventTypes(catalog, request.workflow).has(request.eventType);
  observer.transition({
    workflow: known ? request.workflow : UNKNOWN_LABEL,
    eventType:
      declared || FRAMEWORK_EVENT_TYPES.has(request.eventType) ? request.eventType : UNKNOWN_LABEL,
    outcome,
    ...(result.ok ? {} : { code: result.rejection.code }),
  });
  return result;
}

/** Prefixes issue-relative paths (`amountCents`) with where the payload sat in the request. */
export function prefixIssues<T extends { path: string }>(
  prefix: string,
  issues: readonly T[],
): T[] {
  return issues.map((issue) => ({
    ...issue,
    path: issue.path ? `${prefix}.${issue.path}` : prefix,
  }));
}

/**
 * Runs `attempt` for one instance the way every writing use case must: on the instance's
 * per-stream queue in this process, again (after a reload) when another writer appended first,
 * bounded by the engine's retry policy. An unknown workflow is rejected before anything runs.
 */
export async function onInstance<T>(
  engine: EngineContext,
  workflow: string,
  id: string,
  attempt: (streamName: string) => Promise<Result<T>>,
): Promise<Result<T>> {
  if (!engine.catalog.latest(workflow))
    return reject({
      code: ErrorCode.WorkflowNotFound,
      message: `no workflow named ${workflow}; known: ${engine.catalog.names().join(', ')}`,
      workflow,
    });
  const streamName = streamNameOf(workflow, id);
  const lostRace = (error: unknown) => hasErrorCode(error, ErrorCode.RevisionConflict);
  return engine.serial.run(streamName, () =>
    retry(engine.retry, () => attempt(streamName), {
      retriable: lostRace,
      onRetry: () => {
        engine.observer.revisionConflict?.(workflow, 'retried');
        engine.instances.forget(streamName);
      },
      random: engine.random,
      sleep: engine.sleep,
    }).catch((error: unknown) => {
      if (lostRace(error)) engine.observer.revisionConflict?.(workflow, 'returned');
      throw error;
    }),
  );
}

/**
 * What an operator's action on an instance (terminate, migrate) requires before it decides
 * anything: a running instance, at the revision the operator saw when they gave one
 * (`If-Match`). The refusal, or undefined when both hold.
 */
export function operatorActionRefusal(
  state: InstanceState,
  action: { readonly workflow: string; readonly id: string; readonly expectedRevision?: number },
  verb: string,
): Rejection | undefined {
  const status = instanceStatusOf(state);
  if (status !== InstanceStatus.Running)
    return {
      code: ErrorCode.InstanceNotRunning,
      message: `${action.workflow} instance ${action.id} is ${status}: only a running instance can be ${verb}`,
      workflow: action.workflow,
      id: action.id,
      instanceStatus: status,
      state: state.snapshot.value,
    };
  if (action.expectedRevision !== undefined && action.expectedRevision !== state.revision)
    return {
      code: ErrorCode.RevisionConflict,
      message: `If-Match expected revision ${action.expectedRevision}, the instance is at ${state.revision}`,
      expectedRevision: action.expectedRevision,
      actualRevision: state.revision,
    };
  return undefined;
}

/**
 * The instance as its stream now is, not as this process cached it: what a use case answers
 * when its append turned out to be one the store already had (a repeated request, a fire or a
 * completion another process recorded first). The stream holds it, so the instance exists.
 */
export async function reloadInstance(
  engine: EngineContext,
  workflow: string,
  id: string,
): Promise<InstanceState> {
  engine.instances.forget(streamNameOf(workflow, id));
  return (await engine.instances.load(workflow, id))!;
}

/** The instance, or the INSTANCE_NOT_FOUND rejection every use case answers for a missing one. */
export async function loadInstance(
  engine: EngineContext,
  workflow: string,
  id: string,
): Promise<Result<InstanceState>> {
  const state = await engine.instances.load(workflow, id);
  return state
    ? ok(state)
    : reject({
        code: ErrorCode.InstanceNotFound,
        message: `${workflow} instance ${id} does not exist`,
        workflow,
        id,
      });
}

/**
 * `decide` on the instance without a read of its stream's tail while this process is its only
 * writer: on the cached instance first, when there is one, and that decision is given when
 * `standsOnCache` says the stream as it is now would have led to it too — a write (it carries
 * the cached revision as the expected one, so a writer elsewhere makes it a conflict, retried on
 * a fresh load), or an answer no newer state could change (a replay, a refusal that does not
 * depend on the state). Any other decision, and every one when nothing is cached, is made on a
 * fresh {@link loadInstance}.
 */
export async function decideOnInstance<T>(
  engine: EngineContext,
  workflow: string,
  id: string,
  decide: (state: InstanceState) => Promise<Result<T>>,
  standsOnCache: (decided: Result<T>) => boolean,
): Promise<Result<T>> {
  const cached = engine.instances.cached(streamNameOf(workflow, id));
  if (cached) {
    const decided = await decide(cached);
    if (standsOnCache(decided)) return decided;
  }
  const loaded = await loadInstance(engine, workflow, id);
  if (!loaded.ok) return loaded;
  return decide(loaded.value);
}

/**
 * {@link onInstance} around {@link decideOnInstance}: what every use case that writes on behalf
 * of the framework or an operator (a timer's fire, a command's outcome, a termination, a
 * migration) runs. `decide` gets the instance and its stream; `standsOnCache` says which
 * decisions made on the cached instance are given without a fresh load.
 */
export function decideOnQueuedInstance<T>(
  engine: EngineContext,
  target: { readonly workflow: string; readonly id: string },
  decide: (state: InstanceState, streamName: string) => Promise<Result<T>>,
  standsOnCache: (decided: Result<T>) => boolean,
): Promise<Result<T>> {
  return onInstance(engine, target.workflow, target.id, (streamName) =>
    decideOnInstance(
      engine,
      target.workflow,
      target.id,
      (state) => decide(state, streamName),
      standsOnCache,
    ),
  );
}

/**
 * The events of one operator's (or the framework's) append: the first gets `eventId`, each
 * later one an id derived from it and its index, so a repeated append is recognised whole.
 */
export function frameworkFacts(
  ids: IdGenerator,
  eventId: string,
  definition: WorkflowDefinition,
): (index: number, type: FrameworkEvent, payload: object) => PlannedEvent {
  return (index, type, payload) => ({
    eventId: index === 0 ? eventId : ids.deterministic(`${eventId}/fact/${index}`),
    type,
    schemaName: schemaNameOf(definition, type),
    category: EventCategory.Framework,
    payload: { ...payload },
  });
}
