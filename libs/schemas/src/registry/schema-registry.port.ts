import { CompatibilityLevel } from '../compatibility/compatibility-level';

/** A schema as registered under a subject. */
export interface RegisteredSchema {
  readonly subject: string;
  readonly version: number;
  /** Global id: the same schema text has the same id under every subject. */
  readonly id: number;
  /** The Avro schema JSON. */
  readonly schema: string;
}

/**
 * The registry port: subjects, versions, global ids and per-subject compatibility levels, as in
 * Confluent's Schema Registry. Implemented by the embedded registry (the default run) and by a
 * Confluent-compatible HTTP registry; both pass `describeSchemaRegistryContract` of
 * @esflow/testing.
 */
export interface SchemaRegistry {
  /**
   * How messages name this registry, e.g. `the schema registry at http://… (SCHEMA_REGISTRY_URL)`;
   * absent: `the schema registry`.
   */
  readonly description?: string;
  /**
   * Registers `schema` under `subject`. An identical schema (same normalised form) already
   * there is returned as it is; a new one becomes the next version if it is compatible under
   * the subject's level, else a SCHEMA_INCOMPATIBLE error is thrown and nothing is registered.
   */
  register(subject: string, schema: string): Promise<RegisteredSchema>;
  /** The schema with this global id, or a SCHEMA_NOT_FOUND error. */
  schemaById(id: number): Promise<string>;
  /** The newest version under `subject`, or undefined if the subject has none. */
  latest(subject: string): Promise<RegisteredSchema | undefined>;
  /** One version of a subject, or undefined. */
  version(subject: string, version: number): Promise<RegisteredSchema | undefined>;
  /** Version numbers of a subject, ascending; empty if the subject does not exist. */
  versions(subject: string): Promise<number[]>;
  /** Sets the subject's compatibility level (the subject need not exist yet). */
  setCompatibility(subject: string, level: CompatibilityLevel): Promise<void>;
  /** The subject's own level, or undefined when it follows the registry's default. */
  compatibility(subject: string): Promise<CompatibilityLevel | undefined>;
  /**
   * Optional capability: puts each schema back under its subject, version and global id, for
   * a registry that lost them (wiped). Ids and subject versions already taken are left as they
   * are, so the caller checks the result with {@link SchemaRegistry.schemaById}. A registry that
   * cannot choose ids over its API lacks the method or throws a non-retriable error saying what
   * to do instead.
   */
  restore?(schemas: readonly RegisteredSchema[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * How a record's subject is named. `record` (RecordNameStrategy, esflow's default) lets one
 * topic carry many event types; `topic-record` scopes the record name by topic.
 */
export type SubjectNamingStrategy = 'record' | 'topic-record';

/**
 * The registry subject of a record under a naming strategy: the record's full name, or
 * `<topic>-<record>` for `topic-record` when a topic is given.
 */
export function subjectFor(
  recordName: string,
  strategy: SubjectNamingStrategy = 'record',
  topic?: string,
): string {
  return strategy === 'topic-record' && topic ? `${topic}-${recordName}` : recordName;
}
