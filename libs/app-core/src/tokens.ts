/** Dependency-injection tokens for the ports, in one place. */
export const ESFLOW_CONFIG = Symbol('ESFLOW_CONFIG');
export const EVENT_STORE = Symbol('EVENT_STORE');
export const SCHEMA_REGISTRY = Symbol('SCHEMA_REGISTRY');
export const PAYLOAD_CODEC = Symbol('PAYLOAD_CODEC');
export const WORKFLOW_CATALOG = Symbol('WORKFLOW_CATALOG');
export const WORKFLOW_ENGINE = Symbol('WORKFLOW_ENGINE');
export const READ_MODEL_STORE = Symbol('READ_MODEL_STORE');
export const READ_MODEL_QUERIES = Symbol('READ_MODEL_QUERIES');
export const PROJECTIONS = Symbol('PROJECTIONS');
