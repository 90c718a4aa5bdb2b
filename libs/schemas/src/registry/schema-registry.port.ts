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
 * The registry port: subjects, versions and global ids, as in Confluent's Schema Registry.
 * Implemented by the embedded registry (default) and a Confluent-compatible HTTP client.
 */
export interface SchemaRegistry {
  /**
   * Registers `schema` under `subject` unless an identical schema (same canonical form) is
   * already registered there; either way returns its version and global id.
   */
  register(subject: string, schema: string): Promise<RegisteredSchema>;
  /** The schema with this global id, or a SCHEMA_NOT_FOUND error. */
  schemaById(id: number): Promise<string>;
  /** The newest version under `subject`, or undefined if the subject has none. */
  latest(subject: string): Promise<RegisteredSchema | undefined>;
  close(): Promise<void>;
}

/**
 * How a record's subject is named. `record` (RecordNameStrategy, esflow's default) lets one
 * topic carry many event types; `topic-record` scopes the record name by topic.
 */
export type SubjectNamingStrategy = 'record' | 'topic-record';

export function subjectFor(
  recordName: string,
  strategy: SubjectNamingStrategy = 'record',
  topic?: string,
): string {
  return strategy === 'topic-record' && topic ? `${topic}-${recordName}` : recordName;
}
