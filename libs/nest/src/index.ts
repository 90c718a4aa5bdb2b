/**
 * @esflow/nest — esflow in a NestJS application: `EsflowModule.forRoot/forRootAsync/forFeature`,
 * the REST API (`EsflowRestModule`), the projection runtime (`EsflowProjectorModule`), the
 * injectable `ProjectionQueries`, and `createEsflowRuntime` for tools that run without Nest.
 * @packageDocumentation
 */
export { EsflowModule } from './esflow.module';
export { resolveEsflowOptions } from './esflow-module-options';
export type {
  EsflowModuleAsyncOptions,
  EsflowModuleOptions,
  ProjectionRuntimeOptions,
  ResolvedEsflowOptions,
} from './esflow-module-options';
export {
  COMMAND_QUEUE,
  MESSAGE_CORRELATOR,
  MESSAGE_INDEX,
  ESFLOW_METRICS,
  ESFLOW_OPTIONS,
  ESFLOW_RUNTIME,
  EVENT_STORE,
  PAYLOAD_CODEC,
  PROJECTIONS,
  READ_MODEL_QUERIES,
  READ_MODEL_STORE,
  SCHEMA_REGISTRY,
  TIMER_INDEX,
  WORKFLOW_CATALOG,
  WORKFLOW_ENGINE,
} from './tokens';
export { ProjectionQueries } from './projections/projection-queries';
export type { ProjectionQuery } from './projections/projection-queries';
export { EsflowRestModule } from './rest/esflow-rest.module';
export type { EsflowRestOptions } from './rest/rest-options';
export { ProblemDetailsFilter, writeProblem } from './rest/http/problem-details.filter';
export { hardenHttpEdge, hostAllowlist, isLoopback } from './rest/http/http-edge';
export { createEsflowOpenApiDocument } from './rest/openapi/openapi-document';
export type { EsflowOpenApiOptions } from './rest/openapi/openapi-document';
export type { HttpEdgeOptions } from './rest/http/http-edge';
// Access control (API keys, JWT) and who made a request.
export { EsflowAccessModule } from './access/esflow-access.module';
export { EsflowAccessGuard, requirementOf } from './access/esflow-access.guard';
export { EsflowAccess, ESFLOW_ACCESS_METADATA } from './access/esflow-access.decorator';
export { ESFLOW_ACCESS_OPTIONS, resolveAccessOptions } from './access/access-options';
export type {
  EsflowAccessOptions,
  EsflowAccessRequirement,
  EsflowApiKey,
  EsflowJwtOptions,
  ResolvedAccessOptions,
} from './access/access-options';
export { accessControlWarning } from './access/access-warning';
export { describeAccessControl } from './access/access-openapi';
export { ANONYMOUS_PRINCIPAL, principalOf, setPrincipal } from './rest/http/principal';
export type { EsflowPrincipal, EsflowRole } from './rest/http/principal';
export { findBodyProblem, MAX_JSON_DEPTH } from './rest/http/body-shape';
export type { BodyProblem } from './rest/http/body-shape';
export { EsflowProjectorModule } from './projector/esflow-projector.module';
export type { EsflowProjectorOptions } from './projector/esflow-projector.module';
export {
  PROCESSOR_REPORT_INTERVAL_MS,
  PROJECTOR_PROCESSORS,
  ProjectorService,
} from './projector/projector.service';
export { registerMessageMetrics } from './messages/message-metrics';
export { EsflowMetrics, mirroredCounter } from './metrics/esflow-metrics';
export { HttpMetricsMiddleware, UNMATCHED_ROUTE } from './metrics/http-metrics.middleware';
export { registerProjectionMetrics } from './metrics/projection-metrics';
export { EsflowCommandHandler } from './commands/command-handlers';
export type { ProjectionRunStatus } from './projector/projector.service';
export { configuredProjectionRunner, leaseOwner } from './projector/projection-runner-factory';
export { createEsflowRuntime } from './runtime/esflow-runtime';
export {
  REGISTRY_CHECK_INTERVAL_MS,
  SchemaRegistryMonitor,
} from './runtime/schema-registry-monitor';
export type { EsflowRuntime, EsflowRuntimeOptions } from './runtime/esflow-runtime';
// Health probes (@nestjs/terminus) and OpenTelemetry tracing.
export { answerHealthCheck, EsflowHealthModule } from './health/esflow-health.module';
export { EsflowHealthIndicators, HEALTH_CHECK_TIMEOUT_MS } from './health/esflow-health.indicators';
export { ESFLOW_TRACER } from './tokens';
export { ESFLOW_TRACER_NAME, EsflowSpan, EsflowTracer } from './tracing/esflow-tracer';
export type { BridgeTracing } from './tracing/esflow-tracer';
export {
  activeTraceIds,
  httpTracing,
  requestTraceContext,
  requestTraceIds,
} from './tracing/http-tracing';
export { EsflowTracingMiddleware } from './tracing/tracing.middleware';
export { startEsflowTracing } from './tracing/tracing-sdk';
export type {
  EsflowTraceExporter,
  EsflowTracingHandle,
  EsflowTracingSetup,
} from './tracing/tracing-sdk';
export { ProjectionStatuses } from './projections/projection-statuses';
// Migrations: one instance's (with its buffered messages looked up), and batches over a filter.
export {
  migrateInstance,
  migrationVerdict,
  WAITING_MESSAGES_LIMIT,
} from './migrations/instance-migration';
export type { InstanceMigrationPorts, MigrationVerdict } from './migrations/instance-migration';
export { migrationFilterMatches, migrationStateProblem } from './migrations/migration-filter';
export type { MigrationCandidate, MigrationFilter } from './migrations/migration-filter';
export {
  MAX_KEPT_BATCHES,
  MAX_LISTED_BATCH_ERRORS,
  MigrationBatches,
  readModelCandidates,
} from './migrations/migration-batches';
export type {
  MigrationBatchError,
  MigrationBatchesPorts,
  MigrationBatchProgress,
  MigrationBatchRequest,
} from './migrations/migration-batches';
