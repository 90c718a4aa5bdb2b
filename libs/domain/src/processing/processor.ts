import { RecordedEvent } from '../event-store/event-store.port';
import { CheckpointedHandler } from './checkpointed-handler';
import { BatchLimits, EventSource, yieldToEventLoop } from './event-source';
import { Lag } from './lag';

/**
 * What every processor (a projection, the Kafka bridge, the services to come) reports in the same
 * shape, so that health endpoints judge them alike: its name and kind, its state, the store
 * position of the last event it applied, its lag, and the last error with its stable code.
 */
export interface ProcessorStatus {
  readonly name: string;
  readonly kind: string;
  /** e.g. `live`, `catchingUp`, `rebuilding`, `retrying`, `stopped`, `fenced`, `waitingForLease`. */
  readonly state: string;
  /** `commit/prepare` of the last applied event, null before the first. */
  readonly position: string | null;
  readonly lag: Lag | null;
  /** Whether the processor needs an operator (stopped on an error, fenced). */
  readonly failing: boolean;
  readonly lastError?: { readonly code: string; readonly message: string };
}

/**
 * A long-running component that follows the log (a projection, the Kafka bridge, the timer
 * service and dispatcher to come): started with its process, stopped with it (finishing what is
 * in flight), and reporting a {@link ProcessorStatus}. The projector runtime runs any of them.
 */
export interface Processor {
  readonly name: string;
  /** Starts in the background; idempotent. */
  start(): void;
  /** Stops, finishing the work in flight, and releases what it holds; idempotent. */
  stop(): Promise<void>;
  status(): ProcessorStatus;
}

/**
 * The processor loop: takes batches from `source` and hands each to `handler`, until the source
 * is done (a catch-up source at the head) or `signal` aborts (between batches: a batch in flight
 * is finished first). It gives the event loop a turn after every batch, so a long catch-up never
 * starves the process (its status endpoints, its lease renewals). A failure of either side is thrown to the caller, which decides (retry,
 * stop, report); `onApplied` sees every applied batch (status, counters).
 */
export async function runProcessor(options: {
  readonly source: EventSource;
  readonly handler: CheckpointedHandler;
  readonly limits: BatchLimits;
  readonly signal: AbortSignal;
  readonly onApplied?: (batch: readonly RecordedEvent[]) => void;
}): Promise<void> {
  const { source, handler, limits, signal } = options;
  while (!signal.aborted) {
    const batch = await source.next(limits, signal);
    if (batch.length === 0) return;
    await handler.apply(batch);
    options.onApplied?.(batch);
    await yieldToEventLoop();
  }
}
