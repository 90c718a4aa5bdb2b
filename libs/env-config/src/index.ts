/**
 * @esflow/env-config — esflow configured by environment variables, as the bundled api,
 * projector and CLI run it: validation of `PORT`, `ESFLOW_*`, `ESDB_CONNECTION_STRING`,
 * `SCHEMA_REGISTRY_URL` and `KAFKA_*`, and the adapters those variables select.
 * @packageDocumentation
 */
export { loadEsflowEnvironment } from './esflow-environment';
export type { EsflowEnvironment } from './esflow-environment';
export {
  embeddedDatabaseFile,
  openEventStore,
  openReadModelStore,
  openSchemaRegistry,
  openTimerIndex,
  openCommandQueue,
  openMessageIndex,
} from './adapters';
export {
  ESFLOW_ENVIRONMENT,
  esflowConfigModule,
  esflowEnvironmentOf,
  esflowFromEnvironment,
  esflowOptionsFromEnvironment,
  validateEsflowEnvironment,
} from './nest-environment';
export { runEsflowProcess } from './bootstrap';
