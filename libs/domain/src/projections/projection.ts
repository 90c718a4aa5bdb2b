import { AllStreamFilter, RecordedEvent } from '../event-store/event-store.port';
import { EsflowEventMetadata } from '../workflow/event-metadata';

/** A JSON document in a read-model collection. */
export type ReadModelDocument = Record<string, unknown>;

/**
 * What a projection's handlers may do to its read model: plain document operations on its own
 * collections, inside the transaction that also stores the checkpoint. No other I/O: a handler
 * must give the same result when the event is replayed during a rebuild.
 */
export interface DocumentWriter {
  get(collection: string, id: string): Promise<ReadModelDocument | undefined>;
  put(collection: string, id: string, document: ReadModelDocument): Promise<void>;
  delete(collection: string, id: string): Promise<void>;
}

/** An event as a projection sees it: the recorded event, esflow's metadata, lazy payload. */
export interface ProjectedEvent {
  readonly recorded: RecordedEvent;
  readonly metadata: EsflowEventMetadata;
  /** Decodes the Avro payload with the current schema. */
  payload(): Promise<Record<string, unknown>>;
}

/** A collection and the top-level document fields it is queried by (indexed). */
export type CollectionSpecs = Readonly<Record<string, { readonly indexes: readonly string[] }>>;

/**
 * A projection is code: a handler per event that updates documents. Bump `version` when the
 * handler's output changes; on start a projection whose stored version differs rebuilds itself.
 */
export interface ProjectionDefinition {
  /** Lower-case letters, digits and `_`: also part of table names. */
  readonly name: string;
  readonly version: number;
  readonly collections: CollectionSpecs;
  /** Which events reach the handler (e.g. the workflow stream prefixes). */
  readonly filter?: AllStreamFilter;
  handle(event: ProjectedEvent, documents: DocumentWriter): Promise<void>;
}

const PROJECTION_NAME = /^[a-z][a-z0-9_]{0,40}$/;

export function checkProjectionName(name: string): void {
  if (!PROJECTION_NAME.test(name))
    throw new Error(
      `projection and collection names must match ${PROJECTION_NAME} (got "${name}")`,
    );
}
