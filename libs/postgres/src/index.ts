/**
 * @esflow/postgres — projections' read models in PostgreSQL: one table per projection,
 * collection and generation, documents as `jsonb` with expression indexes, checkpoints in the
 * same transaction.
 * @packageDocumentation
 */
export { createPostgresReadModelStore } from './postgres-read-model-store';
export type { PostgresReadModelStoreOptions } from './postgres-read-model-store';
