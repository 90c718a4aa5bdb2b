import {
  AllStreamFilter,
  EventStoreSubscription,
  GlobalPosition,
  RecordedEvent,
} from './event-store.port';

/**
 * What a store provides for {@link pollingSubscription}: pages of its global log in order, and a
 * wait for its next local commit.
 */
export interface PollingSubscriptionSource {
  /** Up to `maxCount` matching events strictly after `after` (or from the start), in order. */
  readPage(
    after: GlobalPosition | undefined,
    maxCount: number,
    filter?: AllStreamFilter,
  ): Promise<RecordedEvent[]>;
  /** Resolves at the next local commit or after `timeoutMs`, whichever comes first. */
  waitForChange(timeoutMs: number): Promise<void>;
}

/**
 * A catch-up subscription over any store that can page its global log: read pages until
 * caught up, then wait for a commit notification (or a poll interval, for writers in other
 * processes) and read again. The checkpoint advances only past yielded events, so each event
 * is yielded exactly once, across catch-up and live alike.
 */
export function pollingSubscription(
  source: PollingSubscriptionSource,
  options: {
    after?: GlobalPosition;
    filter?: AllStreamFilter;
    pageSize?: number;
    pollIntervalMs?: number;
  },
): EventStoreSubscription {
  const pageSize = options.pageSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 50;
  let closed = false;
  let wake: (() => void) | undefined;

  async function* events(): AsyncGenerator<RecordedEvent> {
    let checkpoint = options.after;
    while (!closed) {
      const page = await source.readPage(checkpoint, pageSize, options.filter);
      for (const event of page) {
        if (closed) return;
        checkpoint = event.position;
        yield event;
      }
      if (page.length < pageSize && !closed) {
        await Promise.race([
          source.waitForChange(pollIntervalMs),
          new Promise<void>((resolve) => (wake = resolve)),
        ]);
      }
    }
  }

  const iterator = events();
  return {
    [Symbol.asyncIterator]: () => iterator,
    close: async () => {
      closed = true;
      wake?.();
    },
  };
}

/**
 * Wakes subscriptions waiting for new events when this process commits; a wait also ends after
 * its timeout, so commits by other processes are seen by polling.
 */
export class CommitSignal {
  private waiters = new Set<() => void>();

  notify(): void {
    const current = this.waiters;
    this.waiters = new Set();
    current.forEach((wake) => wake());
  }

  wait(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.waiters.add(wake);
    });
  }
}
