/**
 * `@esflow/kafka/testing` — read what the bridge committed, as a read_committed consumer sees
 * it: for tests and benchmarks of applications that consume esflow's topics.
 * @packageDocumentation
 */
export { readTopicsToEnd, watchTopics } from './topic-reader';
export type { CommittedRecord } from './topic-reader';
