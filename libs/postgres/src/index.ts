/**
 * @esflow/postgres — projections' read models in PostgreSQL: one table per projection,
 * collection and generation, documents as `jsonb` with expression indexes, checkpoints in the
 * same transaction; and the timer index, the command queue and the message index, in the same
 * schema.
 * @packageDocumentation
 */
export { createPostgresReadModelStore } from './postgres-read-model-store';
export type { PostgresReadModelStoreOptions } from './postgres-read-model-store';
export { createPostgresTimerIndex } from './postgres-timer-index';
export type { PostgresTimerIndex, PostgresTimerIndexOptions } from './postgres-timer-index';
/** The command queue in the read-model schema: leased with `FOR UPDATE SKIP LOCKED`. */
export { createPostgresCommandQueue } from './postgres-command-queue';
export type { PostgresCommandQueue, PostgresCommandQueueOptions } from './postgres-command-queue';
/** The message index in the read-model schema: one batch at a time, arrival order by commit. */
export { createPostgresMessageIndex } from './postgres-message-index';
export type { PostgresMessageIndex, PostgresMessageIndexOptions } from './postgres-message-index';
