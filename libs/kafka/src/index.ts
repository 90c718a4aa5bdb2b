export * from './kafka-errors';
export * from './event-headers';
export * from './checkpoint';
export * from './batching';
export * from './kafka-bridge';
export type { KafkaLogger } from './kafka-client';
export * from './consumer/esflow-consumer';
