import {
  START,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type EventStoreDBClient,
} from '@eventstore/db-client';
import {
  AllStreamFilter,
  backoffDelay,
  EsflowError,
  EventStoreSubscription,
  GlobalPosition,
  RecordedEvent,
  comparePositions,
} from '@esflow/core';
import { isPermanentSubscriptionError, translateError } from './esdb-errors';
import {
  isSystemEvent,
  isWanted,
  positionOf,
  toRecordedEvent,
  toServerFilter,
} from './esdb-mapping';

export interface ResubscribingOptions {
  readonly after?: GlobalPosition;
  readonly filter?: AllStreamFilter;
  /** First delay before subscribing again after a lost subscription; doubled per failure. */
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  /** Called once when the subscription ends (closed, or failed for good). */
  readonly onEnd: () => void;
}

/** Events buffered ahead of the consumer before the server is asked to wait (gRPC flow control). */
const HIGH_WATER = 512;
const LOW_WATER = 128;

/**
 * A catch-up subscription to `$all` that survives lost connections. Client 6.2.1 does not
 * resubscribe by itself: a dropped connection surfaces as one `error` on the subscription and
 * nothing after it. This subscription then subscribes again, after a growing, jittered delay,
 * from the position of the last event it received (exclusive), so nothing is lost and nothing
 * is repeated; events already received stay queued for the consumer across the switch.
 *
 * The stream-name prefixes (or else the event types) are filtered by the server; the rest of the
 * filter and system events (`$` streams and types) are filtered here.
 */
export class ResubscribingAllSubscription implements EventStoreSubscription {
  private readonly queue: RecordedEvent[] = [];
  private resumeAfter: GlobalPosition | undefined;
  private current: AllStreamSubscription | undefined;
  private closed = false;
  private failure: EsflowError | undefined;
  private wake: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly iterator: AsyncGenerator<RecordedEvent>;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly options: ResubscribingOptions,
  ) {
    const after = options.after;
    // START_POSITION ({-1, -1}) and the like mean "from the beginning".
    this.resumeAfter = after && after.commit >= 0n && after.prepare >= 0n ? after : undefined;
    this.iterator = this.events();
    this.subscribe();
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return this.iterator;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.queue.length = 0;
    const current = this.current;
    this.current = undefined;
    this.notify();
    this.options.onEnd();
    if (current) await release(current);
  }

  private async *events(): AsyncGenerator<RecordedEvent> {
    try {
      for (;;) {
        if (this.closed) return;
        const next = this.queue.shift();
        if (next) {
          if (this.queue.length <= LOW_WATER && this.current?.isPaused()) this.current.resume();
          yield next;
          continue;
        }
        if (this.failure) throw this.failure;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // A consumer that stops iterating (break, throw) ends the subscription too.
      await this.close();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private subscribe(): void {
    if (this.closed) return;
    const from = this.resumeAfter;
    let subscription: AllStreamSubscription;
    try {
      subscription = this.client.subscribeToAll({
        fromPosition: from ? { commit: from.commit, prepare: from.prepare } : START,
        filter: toServerFilter(this.options.filter),
      });
    } catch (error) {
      // The client refused the request itself (nothing was sent): subscribing again cannot help.
      this.fail(error);
      return;
    }
    this.current = subscription;
    subscription.on('confirmation', () => {
      if (this.current === subscription) this.failures = 0;
    });
    subscription.on('data', (resolved: AllStreamResolvedEvent) =>
      this.receive(subscription, resolved),
    );
    // The listeners stay attached after the subscription is replaced, so that a late error of
    // an abandoned subscription is never an unhandled 'error' event.
    subscription.on('error', (error: Error) => this.lost(subscription, error));
    subscription.on('end', () => this.lost(subscription, undefined));
    subscription.on('close', () => this.lost(subscription, undefined));
  }

  private receive(subscription: AllStreamSubscription, resolved: AllStreamResolvedEvent): void {
    if (this.current !== subscription || this.closed || !resolved.event) return;
    const position = positionOf(resolved);
    // Positions are exclusive: the server starts after `resumeAfter`; this guards the promise.
    if (this.resumeAfter && comparePositions(position, this.resumeAfter) <= 0) return;
    this.resumeAfter = position;
    if (isSystemEvent(resolved.event.streamId, resolved.event.type)) return;
    const recorded = toRecordedEvent(resolved);
    if (!recorded || !isWanted(recorded, this.options.filter)) return;
    this.queue.push(recorded);
    if (this.queue.length >= HIGH_WATER) subscription.pause();
    this.notify();
  }

  private fail(error: unknown): void {
    this.failure = translateError(error, 'subscribeToAll');
    this.options.onEnd();
    this.notify();
  }

  private lost(subscription: AllStreamSubscription, error: Error | undefined): void {
    if (this.current !== subscription || this.closed) return;
    this.current = undefined;
    void release(subscription);
    if (error && isPermanentSubscriptionError(error)) {
      this.fail(error);
      return;
    }
    this.failures += 1;
    const delay = backoffDelay(
      {
        initialDelayMs: this.options.retryDelayMs,
        maxDelayMs: this.options.maxRetryDelayMs,
        jitter: 'equal',
      },
      this.failures,
      Math.random,
    );
    this.retryTimer = setTimeout(() => this.subscribe(), delay);
  }
}

async function release(subscription: AllStreamSubscription): Promise<void> {
  try {
    await subscription.unsubscribe();
  } catch {
    // The call is already gone (the connection dropped): nothing left to cancel.
  }
  subscription.destroy();
}
