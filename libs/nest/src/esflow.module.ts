import {
  DynamicModule,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationShutdown,
  Provider,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, ModulesContainer } from '@nestjs/core';
import type { Module as NestModule } from '@nestjs/core/injector/module';
import {
  ErrorCode,
  EsflowError,
  EsflowFeature,
  EventStore,
  FeatureSource,
  ReadModelQueries,
  ReadModelStore,
  TimerIndex,
  CommandQueue,
  MessageIndex,
  realSleep,
} from '@esflow/core';
import { systemClock } from '@esflow/core/node';
import { SchemaRegistry } from '@esflow/schemas';
import {
  EsflowModuleAsyncOptions,
  EsflowModuleOptions,
  resolveEsflowOptions,
  ResolvedEsflowOptions,
} from './esflow-module-options';
import { ProjectionQueries } from './projections/projection-queries';
import { createEsflowRuntime, EsflowRuntime } from './runtime/esflow-runtime';
import { SchemaRegistryMonitor } from './runtime/schema-registry-monitor';
import { versionRemovalCheckProvider } from './runtime/version-removal-check';
import { EsflowTracer } from './tracing/esflow-tracer';
import { EsflowMetrics } from './metrics/esflow-metrics';
import {
  ESFLOW_FEATURES,
  ESFLOW_OPTIONS,
  ESFLOW_RUNTIME,
  ESFLOW_METRICS,
  ESFLOW_TRACER,
  EVENT_STORE,
  PAYLOAD_CODEC,
  PROJECTIONS,
  READ_MODEL_QUERIES,
  READ_MODEL_STORE,
  TIMER_INDEX,
  COMMAND_QUEUE,
  MESSAGE_CORRELATOR,
  MESSAGE_INDEX,
  SCHEMA_REGISTRY,
  WORKFLOW_CATALOG,
  WORKFLOW_ENGINE,
} from './tokens';

/** The value a `forFeature` module provides: found at start-up by the core module. */
class FeatureRegistration {
  constructor(readonly feature: EsflowFeature) {}
}

let registrations = 0;

/** Which modules import `host` (the dynamic module a forFeature call made): the user's module. */
function importersOf(host: NestModule | undefined, modules: ModulesContainer): string {
  if (!host) return 'an unknown module';
  const names = [...modules.values()]
    .filter((module) => module.imports.has(host))
    .map((module) => module.metatype?.name ?? String(module.token));
  return names.length > 0 ? names.join(' and ') : 'an unknown module';
}

function discoverFeatures(
  discovery: DiscoveryService,
  modules: ModulesContainer,
  options: ResolvedEsflowOptions,
): FeatureSource[] {
  const fromModules = discovery
    .getProviders()
    .filter((wrapper) => wrapper.instance instanceof FeatureRegistration)
    .map((wrapper) => ({
      feature: (wrapper.instance as FeatureRegistration).feature,
      registeredBy: importersOf(wrapper.host, modules),
    }));
  const fromRoot = options.features.map((feature) => ({
    feature,
    registeredBy: 'EsflowModule.forRoot',
  }));
  return [...fromRoot, ...fromModules];
}

/** Closes the adapters when the application shuts down. */
@Injectable()
class EsflowLifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('Esflow');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SCHEMA_REGISTRY) private readonly registry: SchemaRegistry,
    @Inject(READ_MODEL_STORE) private readonly readModel: ReadModelStore,
    @Inject(TIMER_INDEX) private readonly timerIndex: TimerIndex,
    @Inject(COMMAND_QUEUE) private readonly commandQueue: CommandQueue,
    @Inject(MESSAGE_INDEX) private readonly messageIndex: MessageIndex,
    @Inject(ESFLOW_OPTIONS) private readonly options: ResolvedEsflowOptions,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    for (const [name, adapter] of [
      ['event store', this.store],
      ['schema registry', this.registry],
      ['read model', this.readModel],
      ['timer index', { close: async () => this.timerIndex.close?.() }],
      ['command queue', { close: async () => this.commandQueue.close?.() }],
      ['message index', { close: async () => this.messageIndex.close?.() }],
      ['snapshot store', { close: async () => this.options.snapshots?.store.close() }],
    ] as const)
      await adapter
        .close()
        .catch((error: unknown) =>
          this.logger.warn(`closing the ${name} failed: ${(error as Error).message}`),
        );
  }
}

const CORE_EXPORTS = [
  ESFLOW_OPTIONS,
  EVENT_STORE,
  SCHEMA_REGISTRY,
  READ_MODEL_STORE,
  TIMER_INDEX,
  COMMAND_QUEUE,
  MESSAGE_INDEX,
  MESSAGE_CORRELATOR,
  PAYLOAD_CODEC,
  WORKFLOW_CATALOG,
  WORKFLOW_ENGINE,
  PROJECTIONS,
  READ_MODEL_QUERIES,
  ESFLOW_RUNTIME,
  ESFLOW_TRACER,
  ESFLOW_METRICS,
  ProjectionQueries,
  SchemaRegistryMonitor,
];

/** Everything built from the options and the discovered features. */
const CORE_PROVIDERS: Provider[] = [
  {
    provide: EVENT_STORE,
    inject: [ESFLOW_OPTIONS],
    useFactory: (options: ResolvedEsflowOptions) => options.store,
  },
  {
    provide: SCHEMA_REGISTRY,
    inject: [ESFLOW_OPTIONS],
    useFactory: (options: ResolvedEsflowOptions) => options.registry,
  },
  {
    provide: READ_MODEL_STORE,
    inject: [ESFLOW_OPTIONS],
    useFactory: async (options: ResolvedEsflowOptions) => {
      await options.readModel.migrate();
      return options.readModel;
    },
  },
  {
    provide: TIMER_INDEX,
    inject: [ESFLOW_OPTIONS],
    useFactory: (options: ResolvedEsflowOptions) => options.timerIndex,
  },
  {
    provide: COMMAND_QUEUE,
    inject: [ESFLOW_OPTIONS],
    useFactory: (options: ResolvedEsflowOptions) => options.commandQueue,
  },
  {
    provide: MESSAGE_INDEX,
    inject: [ESFLOW_OPTIONS],
    useFactory: (options: ResolvedEsflowOptions) => options.messageIndex,
  },
  {
    provide: ESFLOW_FEATURES,
    inject: [DiscoveryService, ModulesContainer, ESFLOW_OPTIONS],
    useFactory: discoverFeatures,
  },
  {
    provide: ESFLOW_TRACER,
    inject: [ESFLOW_OPTIONS],
    useFactory: (options: ResolvedEsflowOptions): EsflowTracer | null =>
      !options.tracing
        ? null
        : EsflowTracer.of(options.tracing === true ? undefined : options.tracing.tracerProvider),
  },
  {
    provide: ESFLOW_METRICS,
    inject: [ESFLOW_OPTIONS],
    useFactory: (options: ResolvedEsflowOptions) => new EsflowMetrics(options.store),
  },
  {
    provide: ESFLOW_RUNTIME,
    inject: [ESFLOW_OPTIONS, ESFLOW_FEATURES, ESFLOW_TRACER, ESFLOW_METRICS],
    useFactory: async (
      options: ResolvedEsflowOptions,
      features: FeatureSource[],
      tracer: EsflowTracer | null,
      metrics: EsflowMetrics,
    ) => {
      const runtime = await createEsflowRuntime({
        // Traced, the engine's appends are spans of the request that made them.
        store: tracer ? tracer.traceEventStore(options.store) : options.store,
        registry: options.registry,
        features,
        instanceCacheSize: options.instanceCacheSize,
        instanceCacheBytes: options.instanceCacheBytes,
        limits: options.limits,
        messageIndex: options.messageIndex,
        observer: metrics.engineObserver,
        ...(options.snapshots
          ? {
              snapshots: {
                store: options.snapshots.store,
                policy: {
                  ...(options.snapshots.every === undefined
                    ? {}
                    : { every: options.snapshots.every }),
                  ...(options.snapshots.rememberRequests === undefined
                    ? {}
                    : { rememberRequests: options.snapshots.rememberRequests }),
                },
              },
            }
          : {}),
      });
      metrics.observeEngine(runtime.engine);
      return runtime;
    },
  },
  {
    provide: MESSAGE_CORRELATOR,
    inject: [ESFLOW_RUNTIME],
    useFactory: (runtime: EsflowRuntime) => runtime.messages,
  },
  {
    provide: PAYLOAD_CODEC,
    inject: [ESFLOW_RUNTIME],
    useFactory: (runtime: EsflowRuntime) => runtime.codec,
  },
  {
    provide: WORKFLOW_CATALOG,
    inject: [ESFLOW_RUNTIME],
    useFactory: (runtime: EsflowRuntime) => runtime.catalog,
  },
  {
    provide: WORKFLOW_ENGINE,
    inject: [ESFLOW_RUNTIME],
    useFactory: (runtime: EsflowRuntime) => runtime.engine,
  },
  {
    provide: PROJECTIONS,
    inject: [ESFLOW_RUNTIME],
    useFactory: (runtime: EsflowRuntime) => runtime.projections,
  },
  {
    provide: READ_MODEL_QUERIES,
    inject: [READ_MODEL_STORE],
    useFactory: (readModel: ReadModelStore) =>
      new ReadModelQueries(readModel, systemClock, realSleep),
  },
  ProjectionQueries,
  SchemaRegistryMonitor,
  versionRemovalCheckProvider,
  EsflowLifecycle,
];

/** The global part of esflow: one per application, made by `EsflowModule.forRoot*`. */
@Global()
@Module({})
class EsflowCoreModule {
  static create(options: Provider, imports: DynamicModule['imports'] = []): DynamicModule {
    return {
      module: EsflowCoreModule,
      global: true,
      imports: [DiscoveryModule, ...imports],
      providers: [options, ...CORE_PROVIDERS],
      exports: CORE_EXPORTS,
    };
  }
}

/**
 * esflow in a Nest application. Import `EsflowModule.forRoot(...)` (or `forRootAsync`) once, in
 * the root module, with the adapters to run on; import `EsflowModule.forFeature(feature)` in each
 * workflow's own module. At start-up the root finds every feature, merges them (a workflow or
 * projection name registered by two modules stops start-up naming both), loads and registers
 * their schemas with the framework's, and provides the engine and the rest under the tokens of
 * `tokens.ts` (global). Add `EsflowRestModule` for the REST API and `EsflowProjectorModule` to run
 * the projections in this process.
 */
@Module({})
export class EsflowModule {
  /** esflow on these adapters and options (validated at start-up; a bad option stops it). */
  static forRoot(options: EsflowModuleOptions): DynamicModule {
    return {
      module: EsflowModule,
      imports: [
        EsflowCoreModule.create({
          provide: ESFLOW_OPTIONS,
          useFactory: () => resolveEsflowOptions(options),
        }),
      ],
    };
  }

  /** esflow on options made by a factory, e.g. from `ConfigService`. */
  static forRootAsync(options: EsflowModuleAsyncOptions): DynamicModule {
    return {
      module: EsflowModule,
      imports: [
        EsflowCoreModule.create(
          {
            provide: ESFLOW_OPTIONS,
            inject: [...(options.inject ?? [])],
            useFactory: async (...args: never[]) =>
              resolveEsflowOptions(await options.useFactory(...args)),
          },
          options.imports ?? [],
        ),
      ],
    };
  }

  /**
   * Registers one workflow module's workflows, schema directories and projections. Import it in
   * that module (`imports: [EsflowModule.forFeature(orderFulfillmentFeature)]`); the feature
   * object, made by `defineFeature`, is the one `esflow.config` lists for the CLI.
   */
  static forFeature(feature: EsflowFeature): DynamicModule {
    const shapeOk =
      typeof feature === 'object' &&
      feature !== null &&
      [feature.workflows, feature.schemas, feature.projections].every(Array.isArray);
    if (!shapeOk)
      throw new EsflowError(
        ErrorCode.InvalidDefinition,
        'EsflowModule.forFeature takes the result of defineFeature({ workflows, schemas, projections })',
      );
    registrations += 1;
    return {
      module: EsflowModule,
      providers: [
        {
          provide: `esflow:feature:${registrations}`,
          useValue: new FeatureRegistration(feature),
        },
      ],
    };
  }
}
