/**
 * @esflow/cli — the `esflow` command (`schemas check|register`, `projections list|rebuild`) and
 * `defineConfig` for the project's `esflow.config`.
 * @packageDocumentation
 */
export { CONFIG_FILE_NAMES, defineConfig, loadEsflowConfig } from './esflow-config';
export type { EsflowCliConfig, EsflowConnection, LoadedConfig } from './esflow-config';
