/**
 * @esflow/sqlite — esflow's embedded default on SQLite (better-sqlite3): the event store (WAL,
 * `synchronous=FULL`, group commit), the read-model store for projections, the timer index, the
 * command queue, the message index and the embedded schema registry. One file can hold the store
 * and the registry; the read model takes its own, which the timer index, the command queue and
 * the message index share.
 * @packageDocumentation
 */
export { createSqliteEventStore } from './event-store/sqlite-event-store';
export type { SqliteEventStore, SqliteEventStoreOptions } from './event-store/sqlite-event-store';
export { createSqliteReadModelStore } from './read-model/sqlite-read-model-store';
export type { SqliteReadModelStoreOptions } from './read-model/sqlite-read-model-store';
export { createSqliteTimerIndex } from './timers/sqlite-timer-index';
export type { SqliteTimerIndex, SqliteTimerIndexOptions } from './timers/sqlite-timer-index';
/** The command queue in the read-model file: leased atomically across processes (BEGIN IMMEDIATE). */
export { createSqliteCommandQueue } from './commands/sqlite-command-queue';
export type {
  SqliteCommandQueue,
  SqliteCommandQueueOptions,
} from './commands/sqlite-command-queue';
/** The message index in the read-model file: messages and instance keys, applied with their checkpoint. */
export { createSqliteMessageIndex } from './messages/sqlite-message-index';
export type {
  SqliteMessageIndex,
  SqliteMessageIndexOptions,
} from './messages/sqlite-message-index';
export { createEmbeddedSchemaRegistry } from './schema-registry/embedded-schema-registry';
export type {
  EmbeddedSchemaRegistryOptions,
  RegistryCompatibilityCheck,
} from './schema-registry/embedded-schema-registry';
/** Instance snapshots in a file of their own, written without fsync: a cache of replays. */
export { createSqliteSnapshotStore } from './snapshots/sqlite-snapshot-store';
export type { SqliteSnapshotStoreOptions } from './snapshots/sqlite-snapshot-store';
