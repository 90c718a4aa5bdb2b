import {
  AllStreamFilter,
  EventStore,
  GlobalPosition,
  RecordedEvent,
} from '../event-store/event-store.port';

/** How much one batch may hold: at most `maxEvents`, and `maxBytes` of data when given. */
export interface BatchLimits {
  readonly maxEvents: number;
  /** Most data bytes in one batch; a single larger event still forms a batch alone. */
  readonly maxBytes?: number;
}

/**
 * A pull-based source of recorded events in the store's global order, from a checkpoint. The
 * consumer asks for the next batch when it is ready for it, which is the back-pressure: nothing is
 * read far ahead of what is taken, and no one polls on a fixed sleep.
 */
export interface EventSource {
  /**
   * Waits until at least one event is there, then returns a batch within `limits`, in store
   * order, each event exactly once across calls. Returns `[]` when the source is done (a catch-up
   * source that reached the head), closed, or when `signal` aborts the wait. Rejects if the store
   * fails; events read before the failure are returned first.
   */
  next(limits: BatchLimits, signal?: AbortSignal): Promise<readonly RecordedEvent[]>;
  /** Events read and not taken yet: a backlog the consumer has not seen. */
  readonly buffered: number;
  /** Stops reading; a pending `next` returns `[]`. Idempotent. */
  close(): Promise<void>;
}

/** How many of `pending` (in order) fit `limits`: at least one when any is there. */
export function batchSize(pending: readonly { readonly data: Uint8Array }[], limits: BatchLimits) {
  let bytes = 0;
  let count = 0;
  for (const event of pending) {
    if (count >= limits.maxEvents) break;
    bytes += event.data.byteLength;
    if (count > 0 && limits.maxBytes !== undefined && bytes > limits.maxBytes) break;
    count++;
  }
  return count;
}

/** A promise that the producer side resolves: one wait at a time, woken by `wake()`. */
class Signal {
  private waiter: (() => void) | undefined;

  wait(abort?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        abort?.removeEventListener('abort', done);
        this.waiter = undefined;
        resolve();
      };
      this.waiter = done;
      abort?.addEventListener('abort', done, { once: true });
    });
  }

  wake(): void {
    this.waiter?.();
  }
}

/**
 * Lets timers and I/O run before going on (a macrotask turn, without setTimeout's 1 ms clamp): a
 * processor whose store and target answer synchronously (SQLite) would otherwise chain microtasks
 * through a whole backlog and starve the process's HTTP server and lease renewals.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  );
}

/**
 * Catch-up, then live: every event after `after` that matches `filter`, over the store's
 * subscription. At most `readAheadEvents` (default 5000) are held before the consumer takes
 * them; the reader then waits for room instead of reading on.
 */
export function liveEventSource(
  store: EventStore,
  options: {
    readonly after?: GlobalPosition;
    readonly filter?: AllStreamFilter;
    readonly readAheadEvents?: number;
  } = {},
): EventSource {
  const readAhead = Math.max(1, options.readAheadEvents ?? 5_000);
  const subscription = store.subscribeToAll({
    ...(options.after ? { after: options.after } : {}),
    ...(options.filter ? { filter: options.filter } : {}),
  });
  const buffer: RecordedEvent[] = [];
  const data = new Signal();
  const room = new Signal();
  let closed = false;
  let failure: { error: unknown } | undefined;

  const reader = (async () => {
    try {
      for await (const event of subscription) {
        buffer.push(event);
        data.wake();
        while (buffer.length >= readAhead && !closed) await room.wait();
        if (closed) return;
      }
      if (!closed) failure = { error: new Error('the store subscription ended unexpectedly') };
    } catch (error) {
      if (!closed) failure = { error };
    } finally {
      data.wake();
    }
  })();

  return {
    get buffered() {
      return buffer.length;
    },
    async next(limits, signal) {
      while (buffer.length === 0) {
        if (closed || signal?.aborted) return [];
        if (failure) throw failure.error;
        await data.wait(signal);
      }
      // Let the reader hand over what it already has, so a batch is not cut at a single event.
      if (buffer.length < limits.maxEvents) await yieldToEventLoop();
      const batch = buffer.splice(0, batchSize(buffer, limits));
      room.wake();
      return batch;
    },
    async close() {
      if (closed) return;
      closed = true;
      data.wake();
      room.wake();
      await subscription.close();
      await reader;
    },
  };
}

/**
 * Catch-up only: the events after `after` up to the store's head as it is when each page is read,
 * then done (`next` returns `[]`). Pages of `readAll`; nothing is read before it is asked for.
 * For rebuilds, which swap in once they have caught up.
 */
export function catchUpEventSource(
  store: EventStore,
  options: { readonly after?: GlobalPosition; readonly filter?: AllStreamFilter } = {},
): EventSource {
  let after = options.after;
  let done = false;
  return {
    buffered: 0,
    async next(limits, signal) {
      if (done || signal?.aborted) return [];
      const page = await store.readAll({
        ...(after ? { after } : {}),
        maxCount: limits.maxEvents,
        ...(options.filter ? { filter: options.filter } : {}),
      });
      const batch = page.slice(0, batchSize(page, limits));
      if (batch.length === 0) done = true;
      else after = batch[batch.length - 1]!.position;
      return batch;
    },
    async close() {
      done = true;
    },
  };
}
