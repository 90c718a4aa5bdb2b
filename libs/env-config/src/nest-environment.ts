import { ConfigModule, ConfigService } from '@nestjs/config';
import { EsflowModuleAsyncOptions, EsflowModuleOptions } from '@esflow/nest';
import {
  openCommandQueue,
  openMessageIndex,
  openEventStore,
  openReadModelStore,
  openSchemaRegistry,
  openTimerIndex,
  openSnapshotStore,
} from './adapters';
import { EsflowEnvironment, loadEsflowEnvironment } from './esflow-environment';

/** The key under which `ConfigService` holds the validated {@link EsflowEnvironment}. */
export const ESFLOW_ENVIRONMENT = 'esflow';

/**
 * `ConfigModule.forRoot({ validate: validateEsflowEnvironment })`: checks esflow's variables
 * (a bad one stops start-up naming it and its rule) and keeps the result under
 * {@link ESFLOW_ENVIRONMENT}, beside the raw variables.
 */
export function validateEsflowEnvironment(
  variables: Record<string, unknown>,
): Record<string, unknown> {
  return { ...variables, [ESFLOW_ENVIRONMENT]: loadEsflowEnvironment(variables) };
}

/** The validated environment held by `ConfigService`. */
export function esflowEnvironmentOf(config: ConfigService): EsflowEnvironment {
  return config.getOrThrow<EsflowEnvironment>(ESFLOW_ENVIRONMENT);
}

/**
 * Opens the adapters the environment selects (EventStoreDB or SQLite, a Confluent-compatible or
 * the embedded registry, PostgreSQL or SQLite read models) as `EsflowModule` options. If one
 * cannot be opened, those opened before it are closed again and the error names the variable.
 */
export async function esflowOptionsFromEnvironment(
  environment: EsflowEnvironment,
): Promise<EsflowModuleOptions> {
  const opened: { close(): Promise<void> }[] = [];
  try {
    const store = await openEventStore(environment);
    opened.push(store);
    const registry = await openSchemaRegistry(environment);
    opened.push(registry);
    const readModel = await openReadModelStore(environment);
    opened.push(readModel);
    const timerIndex = openTimerIndex(environment);
    opened.push({ close: async () => timerIndex.close?.() });
    const commandQueue = openCommandQueue(environment);
    opened.push({ close: async () => commandQueue.close?.() });
    const messageIndex = openMessageIndex(environment);
    opened.push({ close: async () => messageIndex.close?.() });
    const snapshots = openSnapshotStore(environment);
    return {
      store,
      registry,
      readModel,
      timerIndex,
      commandQueue,
      messageIndex,
      instanceCacheSize: environment.instanceCacheSize,
      instanceCacheBytes: environment.instanceCacheBytes,
      ...(snapshots ? { snapshots: { store: snapshots, every: environment.snapshotEvery } } : {}),
      limits: {
        maxEventBytes: environment.maxEventBytes,
        maxInstanceBytes: environment.maxInstanceBytes,
      },
      projections: {
        leaseMs: environment.projectionLeaseMs,
        batchSize: environment.projectionBatchSize,
      },
      // The globally registered provider: the host's (`startEsflowTracing` in the bundled ones).
      ...(environment.tracing ? { tracing: true } : {}),
    };
  } catch (error) {
    await Promise.all(opened.map((adapter) => adapter.close().catch(() => undefined)));
    throw error;
  }
}

/**
 * `EsflowModule.forRootAsync(esflowFromEnvironment())`: esflow configured by environment
 * variables, as the bundled api and projector run. Needs `ConfigModule.forRoot` with
 * {@link validateEsflowEnvironment} (see {@link esflowConfigModule}).
 */
export function esflowFromEnvironment(): EsflowModuleAsyncOptions {
  return {
    inject: [ConfigService],
    useFactory: (config: ConfigService) =>
      esflowOptionsFromEnvironment(esflowEnvironmentOf(config)),
  };
}

/** The global `ConfigModule` the bundled hosts use: process environment only, validated. */
export function esflowConfigModule() {
  return ConfigModule.forRoot({
    isGlobal: true,
    ignoreEnvFile: true,
    validate: validateEsflowEnvironment,
  });
}
