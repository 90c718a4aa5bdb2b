/**
 * Dependency-injection tokens of what `EsflowModule.forRoot` provides, in one place. Inject them
 * with `@Inject(WORKFLOW_ENGINE) engine: WorkflowEngine` and so on; every one is global.
 */

/** The validated {@link EsflowModuleOptions}. */
export const ESFLOW_OPTIONS = Symbol('ESFLOW_OPTIONS');
/** The `EventStore` the application appends to. */
export const EVENT_STORE = Symbol('EVENT_STORE');
/** The `SchemaRegistry` schemas are registered in. */
export const SCHEMA_REGISTRY = Symbol('SCHEMA_REGISTRY');
/** The `ReadModelStore` projections write to (migrated at start-up). */
export const READ_MODEL_STORE = Symbol('READ_MODEL_STORE');
/** The `PayloadCodec` (Avro) over every registered schema directory. */
export const PAYLOAD_CODEC = Symbol('PAYLOAD_CODEC');
/** The `WorkflowCatalog` of every registered workflow definition. */
export const WORKFLOW_CATALOG = Symbol('WORKFLOW_CATALOG');
/** The `WorkflowEngine`: start instances, send them events, read them. */
export const WORKFLOW_ENGINE = Symbol('WORKFLOW_ENGINE');
/** Every `ProjectionDefinition` the application runs: built-in ones first, then the features'. */
export const PROJECTIONS = Symbol('PROJECTIONS');
/** `ReadModelQueries` over the built-in projections (instance list, counts, versions). */
export const READ_MODEL_QUERIES = Symbol('READ_MODEL_QUERIES');
/** The whole {@link EsflowRuntime} the tokens above are taken from. */
export const ESFLOW_RUNTIME = Symbol('ESFLOW_RUNTIME');
/** Internal: the features registered with forRoot and forFeature, with where they came from. */
export const ESFLOW_FEATURES = Symbol('ESFLOW_FEATURES');
/** The due-timer index (`EsflowModuleOptions.timerIndex`, or one in memory). */
export const TIMER_INDEX = Symbol('TIMER_INDEX');
/** The queue of dispatched commands (`EsflowModuleOptions.commandQueue`, or one in memory). */
export const COMMAND_QUEUE = Symbol('COMMAND_QUEUE');
/** The index of messages and correlation keys (`EsflowModuleOptions.messageIndex`, or one in memory). */
export const MESSAGE_INDEX = Symbol('MESSAGE_INDEX');
/** The `MessageCorrelator`: where messages enter, and operators retry and discard them. */
export const MESSAGE_CORRELATOR = Symbol('MESSAGE_CORRELATOR');
/** The `EsflowTracer` while tracing is on (`EsflowModuleOptions.tracing`), else null. */
export const ESFLOW_TRACER = Symbol('ESFLOW_TRACER');
/**
 * The application's `EsflowMetrics`: one prom-client registry (`.registry`) that `/metrics`
 * renders and that the application's own metrics may join.
 */
export const ESFLOW_METRICS = Symbol('ESFLOW_METRICS');
