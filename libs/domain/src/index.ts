/**
 * @esflow/core — workflows, projections, the engine and the ports. Pure TypeScript and XState:
 * no NestJS, no I/O. Node defaults for the clock and ids are in `@esflow/core/node`.
 * @packageDocumentation
 */

// Defining workflows, projections and the modules that bring them.
export {
  correlationKeysOf,
  DEFAULT_MESSAGE_TTL_SECONDS,
  defineWorkflow,
  durableCommand,
  MAX_MESSAGE_TTL_SECONDS,
  streamNameOf,
} from './workflow/workflow-definition';
export type {
  InvokedCommand,
  LatePolicy,
  MessageDefinition,
  MessageSpec,
  WorkflowDefinition,
  MigrationSpec,
  WorkflowDefinitionSpec,
} from './workflow/workflow-definition';
export {
  afterFailedAttempt,
  commandRetryPolicyOf,
  DEFAULT_COMMAND_RETRY,
} from './commands/command-retry';
export type { AfterFailure, CommandRetryPolicy } from './commands/command-retry';
export { defineProjection, checkProjectionName } from './projections/projection';
export type {
  CollectionSpecs,
  DocumentWriter,
  ProjectedEvent,
  ProjectionDefinition,
  ProjectionEvent,
  ProjectionHandler,
  ProjectionSpec,
  ReadModelDocument,
} from './projections/projection';
export { composeFeatures, defineFeature } from './feature/esflow-feature';
export type {
  ComposedFeatures,
  EsflowFeature,
  EsflowFeatureSpec,
  FeatureSource,
} from './feature/esflow-feature';
export { WorkflowCatalog } from './workflow/workflow-catalog';

// The engine.
export { createWorkflowEngine } from './engine/workflow-engine';
export type { WorkflowEngine, WorkflowEngineOptions } from './engine/workflow-engine';
export { NO_ENGINE_OBSERVER, UNKNOWN_LABEL } from './engine/engine-observer';
export type {
  EngineObserver,
  ObservedTransition,
  TransitionOutcome,
} from './engine/engine-observer';
export type {
  InstanceCacheStats,
  InstanceSnapshots,
  SnapshotStats,
} from './engine/instance-repository';

// Instance snapshots: a cache of replays, discarded and rebuilt at will.
export { createMemorySnapshotStore } from './snapshots/snapshot-store.port';
export type { SnapshotStore, StoredSnapshot } from './snapshots/snapshot-store.port';
export { DEFAULT_SNAPSHOT_POLICY, machineShapeOf } from './snapshots/instance-snapshot';
export type { SnapshotPolicy } from './snapshots/instance-snapshot';
export type { StartOutcome, StartWorkflowCommand } from './engine/start-workflow.handler';
export type { SendEventCommand, SendOutcome } from './engine/send-event.handler';
export type { StartWorkflowHandler } from './engine/start-workflow.handler';
export type { SendEventHandler } from './engine/send-event.handler';
export type { FireTimerHandler } from './engine/fire-timer.handler';
export type { FireTimerCommand, FireTimerOutcome } from './engine/fire-timer.handler';
export type { CommandOutcomeHandler } from './engine/command-outcome.handler';
export type { TerminateInstanceHandler } from './engine/terminate-instance.handler';
export type {
  TerminateInstanceCommand,
  TerminateOutcome,
} from './engine/terminate-instance.handler';
export {
  MAX_OPERATOR_ID_LENGTH,
  MAX_TERMINATION_REASON_LENGTH,
} from './engine/terminate-instance.handler';
export type { MigrateInstanceHandler } from './engine/migrate-instance.handler';
export type {
  MigrateInstanceCommand,
  MigrateOutcome,
  MigrationPlan,
  UnmappablePolicy,
} from './engine/migrate-instance.handler';
export { MAX_MIGRATION_REASON_LENGTH, mergePatch } from './engine/migrate-instance.handler';
export type {
  CommandOutcome,
  CommandReply,
  CommandSettlement,
  CompleteCommand,
  RaiseIncident,
  ResolveIncident,
} from './engine/command-outcome.handler';
export { DEFAULT_RETRY_POLICY } from './engine/retry-policy';
export { DEFAULT_STREAM_LIMITS } from './engine/event-recorder';
export type { StreamLimits } from './engine/event-recorder';
export { backoffDelay, isRetriable, retry } from './retry/retry';
export type { BackoffPolicy, RetryOptions, RetryPolicy } from './retry/retry';
export { schemaNameOf } from './engine/transition-planner';
export { InstanceQueries } from './queries/instance-queries';
export type { HistoryEntry } from './queries/instance-queries';
export type {
  InstanceList,
  InstancePage,
  InstanceSummary,
  ListInstancesQuery,
} from './queries/instance-list.port';
export { instanceStatusOf, statusOf } from './workflow/instance-state';
export type {
  IncidentView,
  InFlightCommandView,
  InstanceView,
  PendingTimerView,
  TimerMove,
} from './workflow/instance-state';
export { instanceIdProblem, MAX_INSTANCE_ID_LENGTH } from './workflow/instance-id';

// Replay tests: recorded streams folded through a (new) definition, compared with the record.
export {
  contextDifferences,
  recordedContextOfSnapshot,
  replayInstance,
  ReplayAspect,
  ReplayOutcome,
} from './replay/replay-instance';
export type {
  ContextDifference,
  RecordedContext,
  ReplayDivergence,
  ReplayEvent,
  ReplayFailure,
  ReplayOptions,
  ReplayReport,
} from './replay/replay-instance';

// Definition versions in use: the start-up refusal of removed versions and the deploy gate.
export {
  describeRemovedVersionInUse,
  removedVersionsInUse,
  RunningVersionTally,
  versionRemovalError,
} from './versions/versions-in-use';
export type {
  CountedEvent,
  RemovedVersionInUse,
  RunningVersionCount,
} from './versions/versions-in-use';
export { ReceiveReason, WaitingInstancesCollector } from './versions/waiting-instances';
export type { GateEvent, ReceivableEvent, WaitingGroup } from './versions/waiting-instances';
export {
  checkVersionsInUse,
  parseDeclaredMigrations,
  VersionsGateRule,
  WaitingVerdict,
} from './versions/deploy-gate';
export type {
  DeclaredMigration,
  VersionsGateFailure,
  VersionsGateReport,
  WaitingGroupReport,
} from './versions/deploy-gate';
export {
  describeState,
  parseStateText,
  resolveStateValue,
  stateNodesAccept,
  statePaths,
} from './versions/state-paths';
export type { ResolvedState } from './versions/state-paths';

// What esflow records.
export { EventCategory, InstanceStatus, readEsflowMetadata } from './workflow/event-metadata';
export type {
  EsflowEventMetadata,
  EventTraceContext,
  MessageReference,
  SchemaReference,
} from './workflow/event-metadata';
export {
  FRAMEWORK_EVENT_TYPES,
  FRAMEWORK_NAMESPACE,
  FrameworkEvent,
} from './workflow/framework-events';
export type {
  CommandCompletedPayload,
  CommandDispatchedPayload,
  CommandFailedPayload,
  CommandWithdrawnPayload,
  IncidentRaisedPayload,
  IncidentResolution,
  IncidentResolvedPayload,
  InstanceMigratedPayload,
  InstanceTerminatedPayload,
  TimerCancelledPayload,
  TimerFiredPayload,
  TimerScheduledPayload,
  WorkflowCompletedPayload,
} from './workflow/framework-events';

// Errors.
export {
  ErrorCode,
  EsflowError,
  hasErrorCode,
  isEsflowError,
  RevisionConflictError,
} from './errors/esflow-error';
export type { EsflowErrorLike, EsflowErrorOptions, ValidationIssue } from './errors/esflow-error';
export { ok, reject } from './errors/rejection';
export type { Rejection, Result } from './errors/rejection';

// Ports, and helpers for the adapters that implement them.
export { ExpectedRevision } from './event-store/event-store.port';
export type {
  AllStreamFilter,
  AppendResult,
  EventMetadataRecord,
  EventStore,
  EventStoreSubscription,
  EventToAppend,
  GlobalPosition,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoreCommit,
  StoreWriteStats,
  StreamRevision,
  SubscribeToAllOptions,
} from './event-store/event-store.port';
export {
  comparePositions,
  describeExpectedRevision,
  formatPosition,
  matchesFilter,
  parsePosition,
  satisfiesExpectedRevision,
  START_POSITION,
} from './event-store/position';
export { recognisePriorAppend } from './event-store/append-retry';
export type { StoredEventRef } from './event-store/event-store.port';
export { CommitSignal, pollingSubscription } from './event-store/polling-subscription';
export type { PollingSubscriptionSource } from './event-store/polling-subscription';
export { createMemoryEventStore } from './event-store/memory-event-store';
export type { EncodedPayload, PayloadCodec } from './codec/payload-codec.port';
export type { Clock } from './ports/clock.port';
export type { IdGenerator } from './ports/id-generator.port';
export { realSleep, realSleepUnlessAborted, sleepUnlessAborted } from './ports/sleeper.port';
export type { Sleep } from './ports/sleeper.port';

// Timers: the due-timer index the timer service keeps.
export { TimerStatus, TIMER_STATUSES } from './timers/timer-index.port';
export type {
  TimerChange,
  TimerIndex,
  TimerPage,
  TimerQuery,
  TimerRecord,
  TimerSettledBy,
} from './timers/timer-index.port';
export { createMemoryTimerIndex } from './timers/memory-timer-index';
export {
  checkTimerLimit,
  checkTimerStatus,
  formatTimerCursor,
  parseTimerCursor,
  settledTimerColumnsOf,
  settledTimerOf,
  timerColumnsOf,
  timerCountsOf,
  timerDueMs,
  timerInstantMs,
  timerPageOf,
  timerRecordOf,
  timerRowKey,
} from './timers/timer-index-support';
export type { TimerDueKey, TimerRow, TimerSettleRow } from './timers/timer-index-support';
export { TIMER_EVENT_FILTER, TimerService, timerChangesOf } from './timers/timer-service';
export type { TimerServiceObserver, TimerServiceOptions } from './timers/timer-service';

// Commands: the queue the dispatcher keeps, leased by in-process handlers and external workers.
export { COMMAND_STATUSES, CommandStatus } from './commands/command-queue.port';
export type {
  CommandChange,
  CommandPage,
  CommandQuery,
  CommandQueue,
  LeaseRequest,
  QueuedCommand,
} from './commands/command-queue.port';
export { createMemoryCommandQueue } from './commands/memory-command-queue';
export {
  checkCommandLimit,
  checkLeaseRequest,
  commandChangesApplied,
  commandColumnsOf,
  commandCountsOf,
  commandInstantMs,
  commandPageOf,
  commandRecordOf,
  commandRowKey,
  compareCommandDispatch,
  formatCommandCursor,
  holdsLease,
  isLeasable,
  leasedRowOf,
  parseCommandCursor,
  releasedRowOf,
} from './commands/command-queue-support';
export type {
  CheckedLease,
  CommandDispatchKey,
  CommandRow,
} from './commands/command-queue-support';

// The processor runtime: what projections, the Kafka bridge and the services to come are made of.
export { batchSize, catchUpEventSource, liveEventSource } from './processing/event-source';
export type { BatchLimits, EventSource } from './processing/event-source';
export { runProcessor } from './processing/processor';
export type { CheckpointedHandler } from './processing/checkpointed-handler';
export { Lease } from './processing/lease';
export type { LeaseStore } from './processing/lease';
export { LAG_COUNT_LIMIT, measureLag } from './processing/lag';
export type { Lag } from './processing/lag';
export type { Processor, ProcessorStatus } from './processing/processor';

// Projections: the read-model port, the runner and the built-in projections.
export {
  PROCESSOR_REPORT_RETENTION_MS,
  ProjectionRequestKind,
  ProjectionStatus,
} from './projections/read-model-store.port';
export type {
  Checkpoint,
  DocumentQuery,
  DocumentReader,
  ProcessorReport,
  ProcessorReports,
  ProjectionFailure,
  ProjectionCheckpoints,
  ProjectionGenerations,
  ProjectionRecord,
  ProjectionRequest,
  ProjectionRequests,
  ReadModelStore,
  ReadModelTransaction,
  RebuildState,
} from './projections/read-model-store.port';
export { ProjectionRunner } from './projections/projection-runner';
export type { ProjectionRunnerOptions } from './projections/projection-runner';
export { canonicalJson, collectionTable } from './projections/canonical-json';
export {
  BUILT_IN_PROJECTION_NAMES,
  builtInProjections,
  definitionVersionsProjection,
  instancesProjection,
  stateCountsProjection,
  stateKeyOf,
} from './projections/built-in/built-in-projections';
export { ReadModelQueries } from './projections/built-in/read-model-queries';
export type { DefinitionVersionUse, StateCount } from './projections/built-in/read-model-queries';
export { projectionDecoder } from './projections/built-in/projection-decoder';
export {
  COMMAND_EVENT_FILTER,
  CommandDispatcher,
  commandChangesOf,
  PermanentCommandFailure,
  retryPolicyOfCommand,
} from './commands/command-dispatcher';
export type {
  CommandDispatcherObserver,
  CommandDispatcherOptions,
  CommandHandler,
  CommandResult,
  DispatchedCommand,
} from './commands/command-dispatcher';
export { LeasedFollower } from './processing/leased-follower';
export type { LeasedFollowerOptions } from './processing/leased-follower';

// Sagas: compensate what was done, in reverse.
export { defineCompensations } from './saga/compensation';
export type {
  CompensatingStateOptions,
  Compensations,
  SagaContext,
  SagaLog,
  SagaStep,
} from './saga/compensation';

// Messages from other services: correlation, buffering, quarantine, the index and its service.
export { MESSAGE_STATUSES, MessageStatus, QuarantineReason } from './messages/message-index.port';
export type {
  IndexedMessage,
  MessageIndex,
  MessageIndexChange,
  MessagePage,
  MessageQuery,
} from './messages/message-index.port';
export { MessageOutcomeKind } from './messages/message-intake';
export type {
  IncomingMessage,
  InboundMessageMapping,
  MessageIntake,
  MessageOutcome,
  MessageSource,
  UnreadableMessage,
} from './messages/message-intake';
export { MESSAGE_RECORD_OVERHEAD_BYTES, MessageCorrelator } from './messages/message-correlator';
export type {
  MessageCorrelatorOptions,
  MessageDetails,
  MessageOutcomeListener,
} from './messages/message-correlator';
export {
  FRAMEWORK_RECORD_TYPES,
  MESSAGE_STREAM_PREFIX,
  MessageEvent,
  MessageStreams,
  messageStreamName,
} from './messages/message-stream';
export type {
  CorrelationTrigger,
  MessageCorrelatedPayload,
  MessageDiscardedPayload,
  MessageReceivedPayload,
  MessageRecord,
} from './messages/message-stream';
export {
  MessageCorrelationService,
  messageEventFilter,
  messageIndexUpdateOf,
} from './messages/message-correlation-service';
export type {
  MessageCorrelationServiceOptions,
  MessageIndexUpdate,
} from './messages/message-correlation-service';
export { messageIdempotencyKey, MessageTargets } from './engine/message-targets';
export type { MessageTarget } from './engine/message-targets';
export { canStillAccept } from './workflow/state-reachability';

// Message index adapters: the memory index and the rules the SQLite and PostgreSQL ones share.
export { createMemoryMessageIndex } from './messages/memory-message-index';
export {
  checkMessageLimit,
  formatMessageCursor,
  messageChangesApplied,
  messageChangeTargets,
  messageColumnsOf,
  messageCountsOf,
  messageInstantMs,
  messagePageOf,
  messageRecordOf,
  parseMessageCursor,
} from './messages/message-index-support';
export type {
  MessageChangeTargets,
  MessageIndexWrites,
  MessageKeyRow,
  MessageRow,
  StoredMessageKeyRow,
  StoredMessageRow,
} from './messages/message-index-support';
