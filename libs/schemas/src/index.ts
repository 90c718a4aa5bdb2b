/**
 * @esflow/schemas — Avro payloads for esflow: the schema catalog and codec (Confluent wire
 * format), the writer schemas it keeps beside the events (and the registry checked against
 * them), the schema-registry port and a Confluent-compatible HTTP client, the compatibility
 * checker and the schema-evolution gate that `esflow schemas check` runs in CI.
 * @packageDocumentation
 */

// The catalog and the codec.
export { SchemaCatalog } from './schema-catalog';
export type { CatalogEntry } from './schema-catalog';
export { AvroPayloadCodec } from './avro-payload-codec';
export type { AvroPayloadCodecOptions } from './avro-payload-codec';
export { frameworkSchemaDirectory, withFrameworkSchemas } from './framework-schemas';
export { validatePayload } from './payload-validator';
export { frame, HEADER_LENGTH, MAGIC_BYTE, unframe } from './wire-format';

// Registries.
export { subjectFor } from './registry/schema-registry.port';
export type {
  RegisteredSchema,
  SchemaRegistry,
  SubjectNamingStrategy,
} from './registry/schema-registry.port';
export {
  createConfluentHttpRegistry,
  DEFAULT_REGISTRY_TIMEOUT_MS,
} from './registry/confluent-http-registry';
export type { ConfluentHttpRegistryOptions } from './registry/confluent-http-registry';

// The writer schemas esflow keeps beside its events, and the registry checked against them.
export { canonicalSchema, schemaFingerprint } from './writer-schemas/schema-fingerprint';
export {
  keptSchema,
  SchemaLedger,
  WRITER_SCHEMA_KEPT,
  WRITER_SCHEMA_STREAM,
} from './writer-schemas/schema-ledger';
export type { KeptSchema } from './writer-schemas/schema-ledger';
export {
  compareWithRegistry,
  mismatchMessage,
  restoreKeptIds,
  WriterSchemas,
} from './writer-schemas/writer-schemas';
export type {
  RegistryComparison,
  RegistryStatus,
  RestoreReport,
  SchemaMismatch,
  WriterSchemasOptions,
} from './writer-schemas/writer-schemas';

// Compatibility.
export {
  COMPATIBILITY_LEVELS,
  CompatibilityLevel,
  DEFAULT_EVENT_STREAM_LEVEL,
  isCompatibilityLevel,
} from './compatibility/compatibility-level';
export { CompatibilityRule } from './compatibility/compatibility-rule';
export { checkCompatibility } from './compatibility/check-compatibility';
export type {
  CheckCompatibilityOptions,
  CompatibilityReport,
  ReleasedVersion,
  VersionedCompatibilityIssue,
} from './compatibility/check-compatibility';
export type { CompatibilityIssue } from './compatibility/reader-can-read';

// The schema-evolution gate.
export { releasedFromLock, runSchemaCheck, runSchemaRegister } from './gate/schema-gate-runner';
export type {
  RegisteredVersion,
  SchemaGateOptions,
  SchemaGateRun,
  SchemaRegisterRun,
} from './gate/schema-gate-runner';
export { SubjectStatus } from './gate/schema-gate';
export type { GateReport, SubjectReport } from './gate/schema-gate';
export { GateRule } from './gate/gate-failure';
export type { GateFailure } from './gate/gate-failure';
export { LOCK_FILE_NAME, readLockFile } from './gate/lock-file';
export type { LockedSubject, SchemaLock } from './gate/lock-file';
export { readFixture, releasedFixturesDir } from './gate/released-fixtures';
export type { ReleasedFixture } from './gate/released-fixtures';
export { requiredSchemas } from './gate/workflow-coverage';
export type { SchemaNeed } from './gate/workflow-coverage';
