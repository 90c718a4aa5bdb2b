import { ErrorCode, EsflowError } from '../errors/esflow-error';
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
  /** The document stored under `id`, or undefined; sees this transaction's own writes. */
  get(collection: string, id: string): Promise<ReadModelDocument | undefined>;
  /** Stores `document` under `id`, replacing any document there. */
  put(collection: string, id: string, document: ReadModelDocument): Promise<void>;
  /** Removes the document stored under `id`, if any. */
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
 * {@link defineProjection} builds one from a handler per event type; this is the interface the
 * runtime runs (the built-in projections implement it directly).
 */
export interface ProjectionDefinition {
  /** Lower-case letters, digits and `_`: also part of table names. */
  readonly name: string;
  /** The version of the handlers' output; a change rebuilds the read model from the log. */
  readonly version: number;
  /** The collections the handlers write, with the fields each is queried by. */
  readonly collections: CollectionSpecs;
  /** The workflows whose events it reads, when it names them: checked against the registered ones. */
  readonly workflows?: readonly string[];
  /** Which events reach the handler (e.g. the workflow stream prefixes). */
  readonly filter?: AllStreamFilter;
  /** Applies one event to the documents; throwing stops this projection on this event. */
  handle(event: ProjectedEvent, documents: DocumentWriter): Promise<void>;
}

const PROJECTION_NAME = /^[a-z][a-z0-9_]{0,40}$/;

/** Throws unless `name` can name a projection, collection or indexed field (`[a-z][a-z0-9_]*`). */
export function checkProjectionName(name: string): void {
  if (!PROJECTION_NAME.test(name))
    throw new EsflowError(
      ErrorCode.InvalidDefinition,
      `projection and collection names must match ${PROJECTION_NAME} (got "${name}")`,
    );
}

/** The event a {@link defineProjection} handler receives: decoded, with where it was recorded. */
export interface ProjectionEvent<TData = Record<string, unknown>> {
  /** The event type (`PaymentReceived`). */
  readonly type: string;
  readonly workflow: string;
  readonly instanceId: string;
  /** The event's revision in its instance's stream. */
  readonly revision: number;
  /** The payload, decoded with the current schema (older versions resolved to it). */
  readonly data: TData;
  readonly metadata: EsflowEventMetadata;
  readonly recordedAt: Date;
}

/** A handler of one event type: reads and writes its projection's documents. */
export type ProjectionHandler = (
  event: ProjectionEvent,
  documents: DocumentWriter,
) => Promise<void> | void;

/** What {@link defineProjection} takes. */
export interface ProjectionSpec {
  /** Unique across the application; lower-case letters, digits and `_`. */
  readonly name: string;
  /** A positive integer; bump it when the handlers' output changes (the projection rebuilds). */
  readonly version: number;
  /** The workflows whose events it reads, by name. */
  readonly workflows: readonly string[];
  /** Its collections, each with the top-level fields it is queried by. */
  readonly collections: CollectionSpecs;
  /** One handler per event type; other event types never reach the projection. */
  readonly handlers: Readonly<Record<string, ProjectionHandler>>;
}

/**
 * Defines a projection from a handler per event type, to be registered with
 * `EsflowModule.forFeature({ projections })`. Only the handled event types of the named
 * workflows are read from the log (a server-side filter); each handler gets the event decoded
 * and its projection's documents, and runs in the transaction that stores the checkpoint, so a
 * crash never applies an event twice or skips one. Handlers may touch only the declared
 * collections (anything else is refused) and must be deterministic: a rebuild replays them.
 * Throws INVALID_DEFINITION, naming the rule, for a bad name, version or collection.
 */
export function defineProjection(spec: ProjectionSpec): ProjectionDefinition {
  const invalid = (message: string) =>
    new EsflowError(ErrorCode.InvalidDefinition, `projection ${spec.name}: ${message}`);
  checkProjectionName(spec.name);
  if (!Number.isInteger(spec.version) || spec.version < 1)
    throw invalid(`version must be a positive integer, got ${spec.version}`);
  const collections = Object.keys(spec.collections);
  if (collections.length === 0) throw invalid('declare at least one collection');
  for (const collection of collections) {
    checkProjectionName(collection);
    for (const field of spec.collections[collection]!.indexes)
      checkProjectionName(field.toLowerCase());
  }
  const eventTypes = Object.keys(spec.handlers);
  if (eventTypes.length === 0) throw invalid('give at least one handler');
  if (spec.workflows.length === 0) throw invalid('name the workflows whose events it reads');
  const guarded = (documents: DocumentWriter): DocumentWriter => {
    const check = (collection: string) => {
      if (!collections.includes(collection))
        throw invalid(
          `a handler used collection "${collection}", which is not declared (declared: ${collections.join(', ')})`,
        );
    };
    return {
      get: (collection, id) => (check(collection), documents.get(collection, id)),
      put: (collection, id, document) => (
        check(collection),
        documents.put(collection, id, document)
      ),
      delete: (collection, id) => (check(collection), documents.delete(collection, id)),
    };
  };
  return {
    name: spec.name,
    version: spec.version,
    collections: spec.collections,
    workflows: [...spec.workflows],
    filter: {
      eventTypes,
      streamNamePrefixes: spec.workflows.map((workflow) => `${workflow}-`),
    },
    async handle(event, documents) {
      const handler = spec.handlers[event.recorded.type];
      if (!handler) return;
      await handler(
        {
          type: event.recorded.type,
          workflow: event.metadata.workflow,
          instanceId: event.metadata.instanceId,
          revision: event.recorded.revision,
          data: await event.payload(),
          metadata: event.metadata,
          recordedAt: event.recorded.recordedAt,
        },
        guarded(documents),
      );
    },
  };
}
