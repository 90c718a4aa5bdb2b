import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import {
  createWorkflowEngine,
  EventStore,
  ProjectionDefinition,
  ReadModelStore,
  realSleep,
  WorkflowCatalog,
  WorkflowEngine,
} from '@esflow/domain';
import { builtInProjections, ReadModelQueries } from '@esflow/projections';
import { AvroPayloadCodec, SchemaCatalog, SchemaRegistry } from '@esflow/schemas';
import { builtInWorkflows } from '@esflow/workflows';
import { openEventStore, openReadModelStore, openSchemaRegistry } from './adapters';
import { EsflowConfig, loadConfig } from './esflow-config';
import { nodeIdGenerator } from './node-id-generator';
import { systemClock } from './system-clock';
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
      provide: PAYLOAD_CODEC,
      inject: [ESFLOW_CONFIG, SCHEMA_REGISTRY],
      useFactory: (config: EsflowConfig, registry: SchemaRegistry) =>
        AvroPayloadCodec.create({ catalog: SchemaCatalog.load(config.schemaDir), registry }),
    },
    { provide: WORKFLOW_CATALOG, useFactory: () => new WorkflowCatalog(builtInWorkflows) },
    {
      provide: WORKFLOW_ENGINE,
      inject: [ESFLOW_CONFIG, EVENT_STORE, PAYLOAD_CODEC, WORKFLOW_CATALOG],
      useFactory: (
        config: EsflowConfig,
        store: EventStore,
        codec: AvroPayloadCodec,
        catalog: WorkflowCatalog,
      ): WorkflowEngine =>
        createWorkflowEngine({
          store,
          codec,
          catalog,
          clock: systemClock,
          ids: nodeIdGenerator,
          cacheCapacity: config.instanceCacheSize,
        }),
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
