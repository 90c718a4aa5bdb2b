/**
 * @esflow/kafka — workflow events on Kafka: the bridge that publishes every event exactly once
 * (transactional produce of each batch with its checkpoint) to one topic per workflow, and a
 * typed consumer helper that decodes through the schema registry and drops duplicates.
 * @packageDocumentation
 */
export {
  BRIDGE_RETRY_POLICY,
  bridgeProcessorStatus,
  createKafkaBridge,
  disabledBridgeStatus,
  kafkaBridgeProcessor,
  KafkaBridgeState,
  workflowStreamFilter,
} from './kafka-bridge';
export type { KafkaBridge, KafkaBridgeOptions, KafkaBridgeStatus } from './kafka-bridge';
export type { BridgeTransaction } from './bridge/bridge-session';
export type { KafkaLogger } from './kafka-client';
export { isKafkaBridgeError, KafkaBridgeError, KafkaErrorCode } from './kafka-errors';
export {
  ESFLOW_AVRO_CONTENT_TYPE,
  EsflowHeader,
  toOutgoingRecord,
  topicFor,
} from './event-headers';
export type { OutgoingRecord } from './event-headers';
export { recordedTraceContext, TraceHeader } from './tracing/publish-tracing';
export type { BridgePublishTracing, PublishTrace } from './tracing/publish-tracing';
export { DEFAULT_BATCH_LIMITS } from './batching';
export type { BatchLimits } from './batching';
export { checkpointTopicFor, decodeCheckpoint, encodeCheckpoint } from './checkpoint';
export type { BridgeCheckpoint } from './checkpoint';
export { createEsflowConsumer, RecentEventIds } from './consumer/esflow-consumer';
export type {
  EsflowConsumer,
  EsflowConsumerOptions,
  EsflowEventMetadata,
  EsflowKafkaEvent,
  SeenEventIds,
} from './consumer/esflow-consumer';

// The inbound consumer: other services' events become workflow messages through the intake.
export {
  createInboundMessageConsumer,
  DEFAULT_INBOUND_GROUP_ID,
  INBOUND_RETRY_POLICY,
} from './inbound/inbound-consumer';
export type {
  InboundMessageConsumer,
  InboundMessageConsumerOptions,
} from './inbound/inbound-consumer';
export { InboundConsumerState } from './inbound/inbound-status';
export type { InboundConsumerStats } from './inbound/inbound-status';
export {
  indexInboundMappings,
  readPath,
  toIncomingMessage,
  toJsonSafe,
} from './inbound/inbound-mapping';
export type {
  DecodedInboundRecord,
  InboundMappingIndex,
  MappedRecord,
  MappingMatch,
  PathRead,
} from './inbound/inbound-mapping';
