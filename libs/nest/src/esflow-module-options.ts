import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';
import type { TracerProvider } from '@opentelemetry/api';
import {
  DEFAULT_STREAM_LIMITS,
  ErrorCode,
  EsflowError,
  EsflowFeature,
  EventStore,
  ReadModelStore,
  TimerIndex,
  CommandQueue,
  createMemoryCommandQueue,
  createMemoryTimerIndex,
  createMemoryMessageIndex,
  MessageIndex,
  SnapshotStore,
} from '@esflow/core';
import { SchemaRegistry } from '@esflow/schemas';

/** How the projection runtime runs projections. */
export interface ProjectionRuntimeOptions {
  /**
   * How long a process's claim on a projection lasts without renewal, in ms (default 10 000):
   * the time a second process waits before it takes over from a dead one. At least 500.
   */
  readonly leaseMs?: number;
  /** Events applied per read-model transaction (default 500, 1 to 10 000). */
  readonly batchSize?: number;
}

/**
 * What `EsflowModule.forRoot` takes: the adapters esflow runs on, and its options. The module
 * owns the adapters: it closes them when the application shuts down.
 */
export interface EsflowModuleOptions {
  /** Where streams are appended (e.g. `createSqliteEventStore`, `createEsdbEventStore`). */
  readonly store: EventStore;
  /** Where schemas are registered (e.g. `createEmbeddedSchemaRegistry`, `createConfluentHttpRegistry`). */
  readonly registry: SchemaRegistry;
  /** Where projections keep their documents (e.g. `createSqliteReadModelStore`). */
  readonly readModel: ReadModelStore;
  /**
   * Where the timer service keeps its due-timer index (e.g. `createSqliteTimerIndex` on the
   * read model's file, `createPostgresTimerIndex`), which `GET /timers` reads. Without one, an
   * index in memory: the process that runs the timer service rebuilds it from the log at each
   * start, and only that process can answer `GET /timers`.
   */
  readonly timerIndex?: TimerIndex;
  /**
   * Where the command dispatcher queues dispatched commands for in-process handlers and external
   * workers (e.g. `createSqliteCommandQueue` on the read model's file, `createPostgresCommandQueue`).
   * Without one, a queue in memory: the process that runs the dispatcher rebuilds it from the log
   * at each start, and only that process can serve workers and `GET /incidents`.
   */
  readonly commandQueue?: CommandQueue;
  /**
   * Where messages from other services and the correlation keys of instances are indexed
   * (e.g. `createSqliteMessageIndex` on the read model's file, `createPostgresMessageIndex`),
   * which `POST /messages` correlates with and `GET /messages` reads. Without one, an index in
   * memory: the process that runs the message correlation service rebuilds it from the log at
   * each start, and only that process sees what it holds.
   */
  readonly messageIndex?: MessageIndex;
  /** Instances kept rehydrated in memory (default 10 000; 0 turns the cache off). */
  readonly instanceCacheSize?: number;
  /** The instance cache's budget in bytes of event data (default 64 MiB). */
  readonly instanceCacheBytes?: number;
  /**
   * Most bytes of one stored event (default 256 KiB) and of one instance's stream (default
   * 16 MiB); larger is refused (413 PAYLOAD_TOO_LARGE / INSTANCE_TOO_LARGE), nothing written.
   */
  readonly limits?: { readonly maxEventBytes?: number; readonly maxInstanceBytes?: number };
  /**
   * Where instance snapshots are kept (e.g. `createSqliteSnapshotStore({ filename })` from
   * @esflow/sqlite, a file of its own) and how often: every `every` events (default 500), keeping
   * the requests answered in the last `rememberRequests` revisions (default 1 000). A cold load
   * then replays from the latest snapshot instead of the stream's first event. Without one,
   * every cold load replays the whole stream. Snapshots are a cache: delete them at will.
   */
  readonly snapshots?: {
    readonly store: SnapshotStore;
    readonly every?: number;
    readonly rememberRequests?: number;
  };
  readonly projections?: ProjectionRuntimeOptions;
  /** Features registered at the root, beside those of `EsflowModule.forFeature`. */
  readonly features?: readonly EsflowFeature[];
  /**
   * OpenTelemetry tracing (default off: no span, context or trace header is made). `true`: spans
   * of the globally registered tracer provider (the application's own SDK, or
   * `startEsflowTracing`); or the provider to use. On, each REST request's span context is
   * recorded on the events it appends (`metadata.traceContext`), the engine's appends, the
   * projections' applies and the Kafka bridge's publishes are spans of that trace.
   */
  readonly tracing?: boolean | { readonly tracerProvider: TracerProvider };
}

/** `EsflowModule.forRootAsync`: options made by a factory with injected dependencies. */
export interface EsflowModuleAsyncOptions {
  /** Modules whose providers the factory injects (e.g. `ConfigModule`). */
  readonly imports?: ModuleMetadata['imports'];
  /** Tokens passed to `useFactory`, in order. */
  readonly inject?: FactoryProvider['inject'];
  readonly useFactory: (...args: never[]) => EsflowModuleOptions | Promise<EsflowModuleOptions>;
}

/** {@link EsflowModuleOptions} with every default applied. */
export interface ResolvedEsflowOptions extends EsflowModuleOptions {
  readonly instanceCacheSize: number;
  readonly instanceCacheBytes: number;
  readonly limits: { readonly maxEventBytes: number; readonly maxInstanceBytes: number };
  readonly projections: Required<ProjectionRuntimeOptions>;
  readonly features: readonly EsflowFeature[];
  readonly timerIndex: TimerIndex;
  readonly commandQueue: CommandQueue;
  readonly messageIndex: MessageIndex;
}

const PORT_METHODS = {
  store: ['append', 'readStream', 'readAll', 'subscribeToAll', 'ping', 'close'],
  registry: ['register', 'schemaById', 'latest', 'close'],
  readModel: ['migrate', 'find', 'transact', 'acquireLease', 'close'],
} as const;

const EXAMPLES = {
  store: 'createSqliteEventStore({ filename }) from @esflow/sqlite',
  registry: 'createEmbeddedSchemaRegistry({ filename }) from @esflow/sqlite',
  readModel: 'createSqliteReadModelStore({ filename }) from @esflow/sqlite',
} as const;

function integerIn(value: unknown, path: string, min: number, max: number, problems: string[]) {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    problems.push(`${path} must be a whole number from ${min} to ${max}, got ${String(value)}`);
}

/**
 * Checks the options once, at start-up, listing every problem in one INVALID_CONFIGURATION
 * error (which option, which rule), and applies the defaults.
 */
export function resolveEsflowOptions(options: EsflowModuleOptions): ResolvedEsflowOptions {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null)
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      'EsflowModule options must be an object with store, registry and readModel',
    );
  for (const key of ['store', 'registry', 'readModel'] as const) {
    const adapter = options[key] as unknown as Record<string, unknown> | undefined;
    if (adapter === undefined || adapter === null) {
      problems.push(`${key} is required, e.g. ${EXAMPLES[key]}`);
      continue;
    }
    const missing = PORT_METHODS[key].filter((method) => typeof adapter[method] !== 'function');
    if (missing.length > 0)
      problems.push(`${key} does not implement its port: no ${missing.join(', ')}`);
  }
  integerIn(options.instanceCacheSize, 'instanceCacheSize', 0, 10_000_000, problems);
  integerIn(options.instanceCacheBytes, 'instanceCacheBytes', 0, 2 ** 40, problems);
  integerIn(options.limits?.maxEventBytes, 'limits.maxEventBytes', 1, 2 ** 30, problems);
  integerIn(options.limits?.maxInstanceBytes, 'limits.maxInstanceBytes', 1, 2 ** 40, problems);
  integerIn(options.snapshots?.every, 'snapshots.every', 1, 10_000_000, problems);
  integerIn(
    options.snapshots?.rememberRequests,
    'snapshots.rememberRequests',
    0,
    10_000_000,
    problems,
  );
  if (options.snapshots !== undefined && typeof options.snapshots.store?.read !== 'function')
    problems.push('snapshots.store does not implement its port (SnapshotStore): no read');
  integerIn(options.projections?.leaseMs, 'projections.leaseMs', 500, 3_600_000, problems);
  integerIn(options.projections?.batchSize, 'projections.batchSize', 1, 10_000, problems);
  if (options.features !== undefined && !Array.isArray(options.features))
    problems.push('features must be an array of defineFeature(...) results');
  if (problems.length > 0)
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `invalid EsflowModule options:\n  - ${problems.join('\n  - ')}`,
    );
  return {
    ...options,
    instanceCacheSize: options.instanceCacheSize ?? 10_000,
    instanceCacheBytes: options.instanceCacheBytes ?? 64 * 1024 * 1024,
    limits: {
      maxEventBytes: options.limits?.maxEventBytes ?? DEFAULT_STREAM_LIMITS.maxEventBytes,
      maxInstanceBytes: options.limits?.maxInstanceBytes ?? DEFAULT_STREAM_LIMITS.maxInstanceBytes,
    },
    projections: {
      leaseMs: options.projections?.leaseMs ?? 10_000,
      batchSize: options.projections?.batchSize ?? 500,
    },
    features: options.features ?? [],
    timerIndex: options.timerIndex ?? createMemoryTimerIndex(),
    commandQueue: options.commandQueue ?? createMemoryCommandQueue(),
    messageIndex: options.messageIndex ?? createMemoryMessageIndex(),
  };
}
