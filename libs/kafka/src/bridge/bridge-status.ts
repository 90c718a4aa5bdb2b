import {
  AllStreamFilter,
  comparePositions,
  EventStore,
  formatPosition,
  GlobalPosition,
  measureLag,
  ProcessorStatus,
} from '@esflow/core';
import { BridgeCheckpoint } from '../checkpoint';

/**
 * The bridge's lifecycle states, as {@link KafkaBridgeStatus} reports them. `retrying` recovers by
 * itself; after `fenced`, or `stopped` by a non-retriable error, the bridge publishes nothing more
 * until it is stopped and started again.
 */
export const KafkaBridgeState = {
  /** Caught up with the store; publishing new events as they are committed. */
  Running: 'running',
  /** Connected and publishing a backlog (after start or after an outage). */
  CatchingUp: 'catchingUp',
  /** The last attempt failed with a retriable error; waiting to try again. */
  Retrying: 'retrying',
  /** Not started, stopped, or stopped by a non-retriable error (see lastError). */
  Stopped: 'stopped',
  /** Another bridge with the same transactional id took over; this one stopped for good. */
  Fenced: 'fenced',
  /** Kafka is not configured (KAFKA_BROKERS unset). */
  Disabled: 'disabled',
} as const;
/** One of the {@link KafkaBridgeState} values. */
export type KafkaBridgeState = (typeof KafkaBridgeState)[keyof typeof KafkaBridgeState];

/**
 * A snapshot of a bridge for health checks and metrics: its state, the store position last
 * committed to Kafka, its lag, the last error (with its stable `code`) and this process's counters.
 */
export interface KafkaBridgeStatus {
  readonly status: KafkaBridgeState;
  /** Store position of the last event committed to Kafka (`commit/prepare`), null if none. */
  readonly position: string | null;
  /**
   * How far Kafka is behind the store: matching events after `position` (exact where the store
   * counts, as SQLite does; counted up to 10 000 elsewhere) and the age in seconds of the oldest
   * of them. Refreshed every second, also while Kafka is down.
   */
  readonly lag: { readonly events: number; readonly seconds: number };
  readonly lastError?: {
    readonly code: string;
    readonly message: string;
    readonly retriable: boolean;
    readonly at: string;
  };
  /** Events this process has committed to Kafka since it started. */
  readonly publishedEvents: number;
  /** Committed transactions (batches) of this process. */
  readonly transactions: number;
  readonly transactionalId?: string;
  readonly checkpointTopic?: string;
}

/** The status of a process where Kafka is not configured. */
export function disabledBridgeStatus(): KafkaBridgeStatus {
  return {
    status: KafkaBridgeState.Disabled,
    position: null,
    lag: { events: 0, seconds: 0 },
    publishedEvents: 0,
    transactions: 0,
  };
}

/** The bridge's {@link KafkaBridgeStatus} as {@link ProcessorStatus}, like every processor's. */
export function bridgeProcessorStatus(status: KafkaBridgeStatus): ProcessorStatus {
  return {
    name: 'kafka-bridge',
    kind: 'kafkaBridge',
    state: status.status,
    position: status.position,
    lag: status.status === KafkaBridgeState.Disabled ? null : status.lag,
    failing:
      status.status === KafkaBridgeState.Fenced || status.status === KafkaBridgeState.Stopped,
    ...(status.lastError
      ? { lastError: { code: status.lastError.code, message: status.lastError.message } }
      : {}),
  };
}

/**
 * What the bridge knows of itself, owned in one place: its state, the checkpoint committed last,
 * its lag (measured against the store on a timer, so also while Kafka is down), its counters and
 * last error.
 */
export class BridgeStatusTracker {
  private state: KafkaBridgeState = KafkaBridgeState.Stopped;
  private committed: GlobalPosition | undefined;
  private head: GlobalPosition | undefined;
  private lag = { events: 0, seconds: 0 };
  private lastError: KafkaBridgeStatus['lastError'];
  private publishedEvents = 0;
  private transactions = 0;
  private measuring = false;

  constructor(
    private readonly store: EventStore,
    private readonly filter: AllStreamFilter,
    private readonly identity: { transactionalId: string; checkpointTopic: string },
    private readonly now: () => number,
  ) {}

  /** Events committed by this process so far (to tell a session that made progress). */
  get published(): number {
    return this.publishedEvents;
  }

  set(state: KafkaBridgeState): void {
    this.state = state;
  }

  /** A session resumed after `checkpoint`; `head` is the store's last matching event then. */
  resumed(checkpoint: BridgeCheckpoint | undefined, head: GlobalPosition | undefined): void {
    this.committed = checkpoint?.position;
    this.head = head;
    this.state = this.caughtUp() ? KafkaBridgeState.Running : KafkaBridgeState.CatchingUp;
  }

  /** A transaction of `events` events committed `checkpoint`. */
  committedBatch(checkpoint: BridgeCheckpoint, events: number, backlogLeft: boolean): void {
    this.committed = checkpoint.position;
    this.publishedEvents += events;
    this.transactions += 1;
    if (this.state === KafkaBridgeState.CatchingUp && this.caughtUp())
      this.state = KafkaBridgeState.Running;
    if (this.state === KafkaBridgeState.Running && !backlogLeft)
      this.lag = { events: 0, seconds: 0 };
  }

  failed(failure: { code: string; message: string; retriable: boolean }): void {
    // Field by field: an Error's message is not an own enumerable property to spread.
    this.lastError = {
      code: failure.code,
      message: failure.message,
      retriable: failure.retriable,
      at: new Date(this.now()).toISOString(),
    };
  }

  /** Measures the lag again; keeps the last figures if the store cannot be read. */
  async refreshLag(): Promise<void> {
    if (this.measuring) return;
    this.measuring = true;
    try {
      const { events, seconds } = await measureLag(this.store, {
        after: this.committed,
        filter: this.filter,
        now: new Date(this.now()),
      });
      this.lag = { events, seconds };
    } catch {
      // the store is down too: keep the last figures
    } finally {
      this.measuring = false;
    }
  }

  snapshot(): KafkaBridgeStatus {
    return {
      status: this.state,
      position: this.committed ? formatPosition(this.committed) : null,
      lag: this.lag,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      publishedEvents: this.publishedEvents,
      transactions: this.transactions,
      transactionalId: this.identity.transactionalId,
      checkpointTopic: this.identity.checkpointTopic,
    };
  }

  private caughtUp(): boolean {
    return (
      !this.head ||
      (this.committed !== undefined && comparePositions(this.committed, this.head) >= 0)
    );
  }
}
