/**
 * @esflow/eventstoredb — the production event store: EventStoreDB over @eventstore/db-client,
 * with the client's errors translated to esflow's at the edge.
 * @packageDocumentation
 */
export { createEsdbEventStore } from './esdb-event-store';
export type { EsdbEventStoreOptions } from './esdb-event-store';
