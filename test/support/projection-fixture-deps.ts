export { ProjectionRunner, realSleep } from '@esflow/domain';
export type { EventStore, ProjectionDefinition, ReadModelStore } from '@esflow/domain';
export { systemClock as systemClockForTests } from '@esflow/app-core';
