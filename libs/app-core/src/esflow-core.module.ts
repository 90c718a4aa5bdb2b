import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import {
  EventStore,
  ProjectionDefinition,
  ReadModelStore,
  realSleep,
  WorkflowCatalog,
} from '@esflow/domain';
import { builtInProjections, ReadModelQueries } from '@esflow/projections';
import { SchemaRegistry } from '@esflow/schemas';
import { openEventStore, openReadModelStore, openSchemaRegistry } from './adapters';
import { buildWorkflowEngine, EngineParts } from './engine-factory';
import { EsflowConfig, loadConfig } from './esflow-config';
import {
  ESFLOW_CONFIG,
  EVENT_STORE,
  PAYLOAD_CODEC,
  PROJECTIONS,
  READ_MODEL_QUERIES,
  READ_MODEL_STORE,
  SCHEMA_REGISTRY,
  WORKFLOW_CATALOG,
  WORKFLOW_ENGINE,
} from './tokens';

/** Closes the stores and the registry when the application shuts down. */
class CoreLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SCHEMA_REGISTRY) private readonly registry: SchemaRegistry,
    @Inject(READ_MODEL_STORE) private readonly readModel: ReadModelStore,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
    await this.registry.close();
    await this.readModel.close();
  }
}

/** Internal: the engine with the codec and catalog it was built with. */
const ENGINE_PARTS = Symbol('ENGINE_PARTS');

/**
 * Binds esflow's ports for both apps: configuration, the event store, the schema registry and
 * codec, the workflow catalog and the engine. Adapters are chosen here, nowhere else.
 */
@Global()
@Module({
  providers: [
    { provide: ESFLOW_CONFIG, useFactory: () => loadConfig() },
    {
      provide: EVENT_STORE,
      inject: [ESFLOW_CONFIG],
      useFactory: (config: EsflowConfig) => openEventStore(config),
    },
    {
      provide: SCHEMA_REGISTRY,
      inject: [ESFLOW_CONFIG],
      useFactory: (config: EsflowConfig) => openSchemaRegistry(config),
    },
    {
      provide: ENGINE_PARTS,
      inject: [ESFLOW_CONFIG, EVENT_STORE, SCHEMA_REGISTRY],
      useFactory: (config: EsflowConfig, store: EventStore, registry: SchemaRegistry) =>
        buildWorkflowEngine({
          store,
          registry,
          schemaDir: config.schemaDir,
          cacheCapacity: config.instanceCacheSize,
        }),
    },
    {
      provide: PAYLOAD_CODEC,
      inject: [ENGINE_PARTS],
      useFactory: (parts: EngineParts) => parts.codec,
    },
    {
      provide: WORKFLOW_CATALOG,
      inject: [ENGINE_PARTS],
      useFactory: (parts: EngineParts) => parts.catalog,
    },
    {
      provide: WORKFLOW_ENGINE,
      inject: [ENGINE_PARTS],
      useFactory: (parts: EngineParts) => parts.engine,
    },
    {
      provide: READ_MODEL_STORE,
      inject: [ESFLOW_CONFIG],
      useFactory: (config: EsflowConfig) => openReadModelStore(config),
    },
    {
      provide: READ_MODEL_QUERIES,
      inject: [READ_MODEL_STORE],
      useFactory: (readModel: ReadModelStore) => new ReadModelQueries(readModel, realSleep),
    },
    {
      provide: PROJECTIONS,
      inject: [WORKFLOW_CATALOG],
      useFactory: (catalog: WorkflowCatalog): ProjectionDefinition[] =>
        builtInProjections(catalog.names()),
    },
    CoreLifecycle,
  ],
  exports: [
    ESFLOW_CONFIG,
    EVENT_STORE,
    SCHEMA_REGISTRY,
    PAYLOAD_CODEC,
    WORKFLOW_CATALOG,
    WORKFLOW_ENGINE,
    READ_MODEL_STORE,
    READ_MODEL_QUERIES,
    PROJECTIONS,
  ],
})
export class EsflowCoreModule {}
