import { GlobalPosition, RecordedEvent } from '../event-store/event-store.port';

/**
 * The target of a processor: applies batches of events and keeps its own checkpoint, so that a
 * restart resumes exactly where the last applied batch ended. A projection's generation writes
 * the batch and the checkpoint in one read-model transaction; the Kafka bridge produces both in
 * one Kafka transaction. Either way a crash never applies an event twice or skips one.
 */
export interface CheckpointedHandler {
  /** Where to resume: the position of the last event applied, undefined before the first. */
  checkpoint(): Promise<GlobalPosition | undefined>;
  /** Applies the batch and records its last event as the checkpoint, atomically. */
  apply(batch: readonly RecordedEvent[]): Promise<void>;
}
