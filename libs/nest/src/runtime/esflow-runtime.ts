import {
  BUILT_IN_PROJECTION_NAMES,
  builtInProjections,
  Clock,
  composeFeatures,
  createWorkflowEngine,
  ErrorCode,
  EngineObserver,
  EsflowError,
  EventStore,
  InstanceSnapshots,
  FeatureSource,
  IdGenerator,
  createMemoryMessageIndex,
  MessageCorrelator,
  MessageIndex,
  InboundMessageMapping,
  Sleep,
  StreamLimits,
  ProjectionDefinition,
  WorkflowCatalog,
  WorkflowDefinition,
  WorkflowEngine,
} from '@esflow/core';
import { nodeIdGenerator, systemClock } from '@esflow/core/node';
import {
  AvroPayloadCodec,
  requiredSchemas,
  SchemaCatalog,
  SchemaRegistry,
  withFrameworkSchemas,
} from '@esflow/schemas';

/** What {@link createEsflowRuntime} composes. */
export interface EsflowRuntimeOptions {
  readonly store: EventStore;
  readonly registry: SchemaRegistry;
  /** The features to run, each with where it was registered (named in clash errors). */
  readonly features: readonly FeatureSource[];
  /** Instances kept rehydrated in memory (default 10 000). */
  readonly instanceCacheSize?: number;
  /** The instance cache's budget in bytes of event data (default 64 MiB). */
  readonly instanceCacheBytes?: number;
  /** How large an event and an instance may be (default `DEFAULT_STREAM_LIMITS`). */
  readonly limits?: Partial<StreamLimits>;
  /** Where to keep instance snapshots and how often (default: none, every load replays). */
  readonly snapshots?: InstanceSnapshots;
  /** Defaults to the system clock; tests may pass a controlled one. */
  readonly clock?: Clock;
  /** Defaults to random and UUIDv5 ids. */
  readonly ids?: IdGenerator;
  /** How the engine waits before retrying a lost race; tests may pass one that returns at once. */
  readonly sleep?: Sleep;
  /** Where messages and instances' correlation keys are indexed (default: in memory). */
  readonly messageIndex?: MessageIndex;
  /** Told of the engine's transitions, lost races and appends (e.g. `EsflowMetrics`). */
  readonly observer?: EngineObserver;
}

/** The engine over an application's features, and what it was built from. */
export interface EsflowRuntime {
  readonly engine: WorkflowEngine;
  /** The clock the engine stamps events with and timers fall due by. */
  readonly clock: Clock;
  readonly codec: AvroPayloadCodec;
  readonly catalog: WorkflowCatalog;
  readonly ids: IdGenerator;
  /**
   * Where messages from other services enter (`POST /messages`, the inbound Kafka consumer) and
   * operators retry and discard them; built over `messageIndex`.
   */
  readonly messages: MessageCorrelator;
  readonly messageIndex: MessageIndex;
  /** The features' inbound Kafka mappings (each names a message a workflow declares). */
  readonly inbound: readonly InboundMessageMapping[];
  /** The built-in projections first, then the features' own. */
  readonly projections: readonly ProjectionDefinition[];
  /** Every schema directory read, the framework's first. */
  readonly schemaDirectories: readonly string[];
}

/**
 * Composes an application from its features: merges them (a workflow or projection name
 * registered twice stops here, naming both registrations), loads the framework's and every
 * feature's schemas into one catalog, checks that each workflow's events have a schema,
 * checks the registry against the writer schemas kept in the store and registers the schemas
 * (`AvroPayloadCodec.create`), and builds the engine and the list of projections.
 * `EsflowModule` calls it at start-up; the CLI and the test kit call it directly. Throws
 * INVALID_DEFINITION (with what to fix) for a clash, an invalid schema or a missing one, and
 * INVALID_CONFIGURATION when the registry answers kept schema ids with other schemas. A registry
 * that cannot be reached stops it (STORE_UNAVAILABLE, naming the subjects) only when a current
 * schema has no id kept in the store yet; otherwise the runtime starts without it, its status
 * `down` (`codec.writerSchemas.status`) until a check finds it answering again.
 */
export async function createEsflowRuntime(options: EsflowRuntimeOptions): Promise<EsflowRuntime> {
  const composed = composeFeatures(options.features, BUILT_IN_PROJECTION_NAMES);
  const catalog = new WorkflowCatalog(composed.workflows);
  checkProjectionSources(composed.projections, catalog);
  const schemaDirectories = withFrameworkSchemas(composed.schemaDirectories);
  const schemas = SchemaCatalog.load(schemaDirectories);
  checkSchemasPresent(composed.workflows, schemas, schemaDirectories);
  const codec = await AvroPayloadCodec.create({
    catalog: schemas,
    registry: options.registry,
    store: options.store,
  });
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? nodeIdGenerator;
  const engine = createWorkflowEngine({
    store: options.store,
    codec,
    catalog,
    clock,
    ids,
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.instanceCacheSize === undefined
      ? {}
      : { cacheCapacity: options.instanceCacheSize }),
    ...(options.instanceCacheBytes === undefined ? {} : { cacheBytes: options.instanceCacheBytes }),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.snapshots ? { snapshots: options.snapshots } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
  });
  const messageIndex = options.messageIndex ?? createMemoryMessageIndex();
  // Message names are checked here, at start-up: one name declared by two workflows stops it.
  const messages = new MessageCorrelator({
    engine,
    catalog,
    store: options.store,
    codec,
    index: messageIndex,
    clock,
    ids,
    ...(options.limits?.maxEventBytes === undefined
      ? {}
      : { maxEventBytes: options.limits.maxEventBytes }),
  });
  return {
    engine,
    clock,
    codec,
    catalog,
    ids,
    messages,
    messageIndex,
    inbound: composed.inbound,
    projections: [...builtInProjections(catalog.names()), ...composed.projections],
    schemaDirectories,
  };
}

/** A projection that reads a workflow no feature registers would silently never run. */
function checkProjectionSources(
  projections: readonly ProjectionDefinition[],
  catalog: WorkflowCatalog,
): void {
  for (const projection of projections)
    for (const workflow of projection.workflows ?? [])
      if (!catalog.latest(workflow))
        throw new EsflowError(
          ErrorCode.InvalidDefinition,
          `projection ${projection.name} reads workflow ${workflow}, which no module registers (registered: ${catalog.names().join(', ') || 'none'})`,
        );
}

function checkSchemasPresent(
  workflows: readonly WorkflowDefinition[],
  schemas: SchemaCatalog,
  directories: readonly string[],
): void {
  const missing = [...requiredSchemas(workflows)]
    .filter(([fullName]) => !schemas.get(fullName))
    .map(([fullName, needs]) => {
      const { workflow, type, role, place } = needs[0]!;
      return `${workflow}: ${type} (${role}) has no schema: add ${place}, defining the record ${fullName}`;
    });
  if (missing.length > 0)
    throw new EsflowError(
      ErrorCode.InvalidDefinition,
      `events without an Avro schema (schema directories: ${directories.join(', ')}):\n  ${missing.join('\n  ')}`,
    );
}
