import { join } from 'node:path';
import { ErrorCode, EsflowError, EventStore, ReadModelStore } from '@esflow/core';
import { createEsdbEventStore } from '@esflow/eventstoredb';
import { createPostgresReadModelStore } from '@esflow/postgres';
import { createConfluentHttpRegistry, SchemaRegistry } from '@esflow/schemas';
import {
  createEmbeddedSchemaRegistry,
  createSqliteEventStore,
  createSqliteReadModelStore,
} from '@esflow/sqlite';
import { EsflowEnvironment } from './esflow-environment';

/** The one SQLite file of the embedded default: event streams and the schema registry. */
export function embeddedDatabaseFile(config: EsflowEnvironment): string {
  return join(config.dataDir, 'esflow.sqlite');
}

async function reachable<T>(
  what: string,
  where: string,
  adapter: T,
  ping: () => Promise<void>,
): Promise<T> {
  try {
    await ping();
    return adapter;
  } catch (error) {
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `cannot reach ${what} at ${where}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * The event store this process uses: EventStoreDB when ESDB_CONNECTION_STRING is set, else the
 * embedded SQLite file. Start-up fails with a clear message if the chosen store cannot be reached.
 */
export async function openEventStore(config: EsflowEnvironment): Promise<EventStore> {
  if (config.esdbConnectionString) {
    const store = createEsdbEventStore({ connectionString: config.esdbConnectionString });
    return reachable(
      'EventStoreDB (ESDB_CONNECTION_STRING)',
      config.esdbConnectionString,
      store,
      () => store.ping(),
    );
  }
  return createSqliteEventStore({
    filename: embeddedDatabaseFile(config),
    synchronous: config.sqliteSynchronous,
  });
}

/** The schema registry: a Confluent-compatible one when SCHEMA_REGISTRY_URL is set, else embedded. */
export async function openSchemaRegistry(config: EsflowEnvironment): Promise<SchemaRegistry> {
  if (config.schemaRegistryUrl) {
    const registry = createConfluentHttpRegistry({ url: config.schemaRegistryUrl });
    return reachable(
      'the schema registry (SCHEMA_REGISTRY_URL)',
      config.schemaRegistryUrl,
      registry,
      async () => void (await registry.latest('esflow-connection-check')),
    );
  }
  return createEmbeddedSchemaRegistry({ filename: embeddedDatabaseFile(config) });
}

/**
 * The read-model store: PostgreSQL when ESFLOW_READMODEL_URL is set, else `readmodel.sqlite` in
 * the data directory (a file of its own, so projection writes never wait on event appends).
 * Its tables are created here, by whichever process starts first.
 */
export async function openReadModelStore(config: EsflowEnvironment): Promise<ReadModelStore> {
  const { postgresUrl, schema } = config.readModel;
  const store = postgresUrl
    ? createPostgresReadModelStore({ connectionString: postgresUrl, schema })
    : createSqliteReadModelStore({ filename: join(config.dataDir, 'readmodel.sqlite') });
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `cannot prepare the read model${postgresUrl ? ` at ${postgresUrl}` : ''}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return store;
}
