import { join } from 'node:path';
import {
  ErrorCode,
  EsflowError,
  EventStore,
  isRetriable,
  ReadModelStore,
  TimerIndex,
  CommandQueue,
  MessageIndex,
  SnapshotStore,
} from '@esflow/core';
import type * as EventStoreDb from '@esflow/eventstoredb';
import type * as Postgres from '@esflow/postgres';
import { createConfluentHttpRegistry, SchemaRegistry } from '@esflow/schemas';
import {
  createEmbeddedSchemaRegistry,
  createSqliteEventStore,
  createSqliteReadModelStore,
  createSqliteTimerIndex,
  createSqliteCommandQueue,
  createSqliteMessageIndex,
  createSqliteSnapshotStore,
} from '@esflow/sqlite';
import { EsflowEnvironment } from './esflow-environment';

// The EventStoreDB and PostgreSQL adapters are loaded when configured, not before: their
// clients (gRPC and protobuf, pg) would load some 200 modules into a process on the embedded
// default for nothing (with the tracing SDK, 360 modules and 7 MiB of heap, measured).
/* eslint-disable @typescript-eslint/no-require-imports */
const eventStoreDb = (): typeof EventStoreDb =>
  require('@esflow/eventstoredb') as typeof EventStoreDb;
const postgres = (): typeof Postgres => require('@esflow/postgres') as typeof Postgres;
/* eslint-enable @typescript-eslint/no-require-imports */

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
    const store = eventStoreDb().createEsdbEventStore({
      connectionString: config.esdbConnectionString,
    });
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

/**
 * The schema registry: a Confluent-compatible one when SCHEMA_REGISTRY_URL is set, else embedded.
 * A first call checks it: start-up fails, in one line naming SCHEMA_REGISTRY_URL, the URL and the
 * cause in words, if it answers but is not a usable registry (not a Confluent-compatible API at
 * that path, refused access). One that cannot be reached (refused, timed out, failing) is
 * returned all the same: start-up needs it only for schemas that have no id kept in the event
 * store yet, which `WriterSchemas.open` decides (and then fails in the same one line, naming them).
 */
export async function openSchemaRegistry(config: EsflowEnvironment): Promise<SchemaRegistry> {
  if (config.schemaRegistryUrl) {
    const registry = createConfluentHttpRegistry({
      url: config.schemaRegistryUrl,
      configuredBy: 'SCHEMA_REGISTRY_URL',
    });
    try {
      await registry.latest('esflow-connection-check');
    } catch (error) {
      // Its errors name SCHEMA_REGISTRY_URL, the URL and the cause themselves.
      if (!isRetriable(error)) throw error;
    }
    return registry;
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
    ? postgres().createPostgresReadModelStore({ connectionString: postgresUrl, schema })
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

/**
 * The command dispatcher's queue, beside the read model: in the same PostgreSQL schema when
 * ESFLOW_READMODEL_URL is set, else in `readmodel.sqlite` (tables of its own).
 */
export function openCommandQueue(config: EsflowEnvironment): CommandQueue {
  const { postgresUrl, schema } = config.readModel;
  return postgresUrl
    ? postgres().createPostgresCommandQueue({ connectionString: postgresUrl, schema })
    : createSqliteCommandQueue({ filename: join(config.dataDir, 'readmodel.sqlite') });
}

/**
 * The message correlator's index of messages and instance keys, beside the read model: in the
 * same PostgreSQL schema when ESFLOW_READMODEL_URL is set, else in `readmodel.sqlite` (tables of
 * its own).
 */
export function openMessageIndex(config: EsflowEnvironment): MessageIndex {
  const { postgresUrl, schema } = config.readModel;
  return postgresUrl
    ? postgres().createPostgresMessageIndex({ connectionString: postgresUrl, schema })
    : createSqliteMessageIndex({ filename: join(config.dataDir, 'readmodel.sqlite') });
}

/**
 * The timer service's due-timer index, beside the read model: in the same PostgreSQL schema when
 * ESFLOW_READMODEL_URL is set, else in `readmodel.sqlite` (tables of its own).
 */
export function openTimerIndex(config: EsflowEnvironment): TimerIndex {
  const { postgresUrl, schema } = config.readModel;
  return postgresUrl
    ? postgres().createPostgresTimerIndex({ connectionString: postgresUrl, schema })
    : createSqliteTimerIndex({ filename: join(config.dataDir, 'readmodel.sqlite') });
}

/**
 * The instance snapshot store: `snapshots.sqlite` in the data directory (a cache of replays,
 * local to this process's machine whatever the event store), or none when ESFLOW_SNAPSHOT_EVERY
 * is 0.
 */
export function openSnapshotStore(config: EsflowEnvironment): SnapshotStore | undefined {
  if (config.snapshotEvery === 0) return undefined;
  return createSqliteSnapshotStore({ filename: join(config.dataDir, 'snapshots.sqlite') });
}
