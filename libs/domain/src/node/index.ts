/**
 * `@esflow/core/node` — Node.js implementations of the core's clock and id ports: what a
 * process passes to {@link createWorkflowEngine} unless a test injects its own.
 * @packageDocumentation
 */
export { systemClock } from './system-clock';
export { nodeIdGenerator, uuidV5 } from './node-id-generator';
