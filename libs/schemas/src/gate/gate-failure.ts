import { CompatibilityDirection } from '../compatibility/compatibility-level';
import { CompatibilityRule } from '../compatibility/compatibility-rule';

/** The gate's own rules, besides the compatibility rules of Avro schema resolution. */
export const GateRule = {
  /** A .avsc file is not valid JSON. */
  InvalidJson: 'INVALID_JSON',
  /** A .avsc file's top-level schema is not a named record. */
  NotANamedRecord: 'NOT_A_NAMED_RECORD',
  /** A .avsc file does not parse as Avro (unknown type, bad default, duplicate symbol, ...). */
  InvalidSchema: 'INVALID_SCHEMA',
  /** Two files define the same full name. */
  DuplicateName: 'DUPLICATE_NAME',
  /** A record field has no `doc`. */
  FieldWithoutDoc: 'FIELD_WITHOUT_DOC',
  /** A workflow accepts or records an event type that has no schema. */
  EventWithoutSchema: 'EVENT_WITHOUT_SCHEMA',
  /** A schema is no event of any workflow (and is not used inside another schema). */
  SchemaWithoutWorkflow: 'SCHEMA_WITHOUT_WORKFLOW',
  /** A subject with released versions has no schema in the working tree any more. */
  SubjectRemoved: 'SUBJECT_REMOVED',
  /** The registry refused to register a schema. */
  RegistryRejected: 'REGISTRY_REJECTED',
} as const;
export type GateRule = (typeof GateRule)[keyof typeof GateRule];

/** One reason the gate fails, in words a developer can act on. */
export interface GateFailure {
  readonly rule: GateRule | CompatibilityRule;
  /** The whole sentence: file or subject, versions, field, rule, and what to do. */
  readonly message: string;
  readonly subject?: string;
  /** The .avsc file, relative to the schema directory. */
  readonly file?: string;
  /** The field path, where one is to blame. */
  readonly field?: string;
  readonly againstVersion?: number;
  readonly direction?: CompatibilityDirection;
}
