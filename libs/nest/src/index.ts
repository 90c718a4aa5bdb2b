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
export { findBodyProblem, MAX_JSON_DEPTH } from './rest/http/body-shape';
export type { BodyProblem } from './rest/http/body-shape';
export { EsflowProjectorModule } from './projector/esflow-projector.module';
export type { EsflowProjectorOptions } from './projector/esflow-projector.module';
export { PROJECTOR_PROCESSORS, ProjectorService } from './projector/projector.service';
export { registerMessageMetrics } from './messages/message-metrics';
export { EsflowCommandHandler } from './commands/command-handlers';
export type { ProjectionRunStatus } from './projector/projector.service';
export { configuredProjectionRunner, leaseOwner } from './projector/projection-runner-factory';
export { createEsflowRuntime } from './runtime/esflow-runtime';
export {
  REGISTRY_CHECK_INTERVAL_MS,
  SchemaRegistryMonitor,
} from './runtime/schema-registry-monitor';
export type { EsflowRuntime, EsflowRuntimeOptions } from './runtime/esflow-runtime';
