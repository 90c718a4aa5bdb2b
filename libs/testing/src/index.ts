/**
 * @esflow/testing — esflow's test kit: given/when/then workflow specifications run by the real
 * engine, an app fixture that boots an `EsflowModule` application on temporary SQLite files, and
 * the contract suites (vitest) that every event-store, read-model, timer-index, command-queue,
 * message-index and registry adapter passes; a controlled clock for timers.
 * @packageDocumentation
 */
export {
  completed,
  dispatched,
  Scenario,
  Then,
  timerCancelled,
  timerFired,
  commandCompleted,
  commandFailed,
  commandWithdrawn,
  incidentRaised,
  timerScheduled,
  WorkflowSpecification,
  WorkflowSpecificationError,
} from './workflow-specification';
export type {
  ExpectedRecord,
  RecordedFact,
  ScenarioResult,
  SpecCommandResult,
  SpecMessage,
  SpecEvent,
  WorkflowSpecificationOptions,
} from './workflow-specification';
export { startTestApp } from './test-app';
export type { TestApp, TestAppOptions } from './test-app';
export { describeEventStoreContract } from './contracts/event-store.contract';
export type { EventStoreCapabilities, EventStoreUnderTest } from './contracts/event-store.contract';
export {
  describeCheckpointStoreContract,
  describeDocumentStoreContract,
  describeLeaseStoreContract,
  describeProcessorReportsContract,
  describeProjectionRequestsContract,
  describeReadModelStoreContract,
} from './contracts/read-model-store.contract';
export type {
  DocumentStore,
  ReadModelStoreUnderTest,
  StoreUnderTest,
} from './contracts/read-model-store.contract';
export { describeSchemaRegistryContract } from './contracts/schema-registry.contract';
export type {
  SchemaRegistryCapabilities,
  SchemaRegistryUnderTest,
} from './contracts/schema-registry.contract';
export { describeTimerIndexContract } from './contracts/timer-index.contract';
export type {
  ReopenedTimerIndex,
  TimerIndexCapabilities,
  TimerIndexUnderTest,
} from './contracts/timer-index.contract';
/** The contract suite every command queue adapter passes (memory, SQLite, PostgreSQL). */
export { describeCommandQueueContract, queuedCommand } from './contracts/command-queue.contract';
export type {
  CommandQueueCapabilities,
  CommandQueueUnderTest,
  ReopenedCommandQueue,
} from './contracts/command-queue.contract';
/** The contract suite every message index adapter passes (memory, SQLite, PostgreSQL). */
export { describeMessageIndexContract, indexedMessage } from './contracts/message-index.contract';
export type {
  MessageIndexCapabilities,
  MessageIndexUnderTest,
  ReopenedMessageIndex,
} from './contracts/message-index.contract';
/** The contract suite every instance snapshot store adapter passes (memory, SQLite). */
export { describeSnapshotStoreContract } from './contracts/snapshot-store.contract';
export type { SnapshotStoreUnderTest } from './contracts/snapshot-store.contract';
export type { ContractTestApi } from './contracts/test-api';
export { waitFor } from './support/wait-for';
export { uniqueCategory } from './support/unique';
export { ManualClock } from './support/manual-clock';
