export { ProjectionRunner, realSleep } from '@esflow/core';
export type { EventStore, ProjectionDefinition, ReadModelStore } from '@esflow/core';
export { systemClock as systemClockForTests } from '@esflow/core/node';
