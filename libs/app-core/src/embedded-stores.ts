import { join } from 'node:path';
import { createSqliteEventStore, SqliteEventStore } from '@esflow/eventstore-sqlite';
import { createEmbeddedSchemaRegistry, SchemaRegistry } from '@esflow/schemas';
import { EsflowConfig } from './esflow-config';

/** The one SQLite file of the embedded default: event streams and the schema registry. */
export function embeddedDatabaseFile(config: EsflowConfig): string {
  return join(config.dataDir, 'esflow.sqlite');
}

export function openEmbeddedEventStore(config: EsflowConfig): SqliteEventStore {
  return createSqliteEventStore({
    filename: embeddedDatabaseFile(config),
    synchronous: config.sqliteSynchronous,
  });
}

export function openEmbeddedRegistry(config: EsflowConfig): SchemaRegistry {
  return createEmbeddedSchemaRegistry({ filename: embeddedDatabaseFile(config) });
}
