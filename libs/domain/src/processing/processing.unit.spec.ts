import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../event-store/memory-event-store';
import { EventStore, ExpectedRevision, RecordedEvent } from '../event-store/event-store.port';
import { runProcessor } from './processor';
import { batchSize, catchUpEventSource, liveEventSource } from './event-source';
import { LAG_COUNT_LIMIT, measureLag } from './lag';
import { Lease, LeaseStore } from './lease';

let counter = 0;
async function append(store: EventStore, stream: string, count: number, bytes = 4) {
  for (let i = 0; i < count; i++)
    await store.append(
      stream,
      [
        {
          eventId: `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`,
          type: 'Happened',
          data: new Uint8Array(bytes),
          metadata: {},
        },
      ],
      { expectedRevision: ExpectedRevision.Any },
    );
}

const events = (...sizes: number[]) => sizes.map((size) => ({ data: new Uint8Array(size) }));

describe('batchSize', () => {
  it('takes everything pending when it fits both limits', () => {
    expect(batchSize(events(10, 10, 10), { maxEvents: 5, maxBytes: 100 })).toBe(3);
  });
  it('stops at the event limit', () => {
    expect(batchSize(events(1, 1, 1, 1), { maxEvents: 3, maxBytes: 100 })).toBe(3);
  });
  it('stops before the event that would exceed the byte limit', () => {
    expect(batchSize(events(40, 40, 40), { maxEvents: 10, maxBytes: 100 })).toBe(2);
  });
  it('still takes one event that is larger than the byte limit on its own', () => {
    expect(batchSize(events(500, 1), { maxEvents: 10, maxBytes: 100 })).toBe(1);
  });
  it('is zero when nothing is pending, and ignores bytes without a byte limit', () => {
    expect(batchSize([], { maxEvents: 10, maxBytes: 100 })).toBe(0);
    expect(batchSize(events(1_000, 1_000), { maxEvents: 10 })).toBe(2);
  });
});

describe('liveEventSource', () => {
  it('yields every event once, catch-up then live, in batches within the limits', async () => {
    const store = createMemoryEventStore();
    await append(store, 'a-1', 5);
    const source = liveEventSource(store);
    const first = await source.next({ maxEvents: 3 });
    expect(first.map((e) => e.revision)).toEqual([0, 1, 2]);
    expect((await source.next({ maxEvents: 3 })).map((e) => e.revision)).toEqual([3, 4]);
    const live = source.next({ maxEvents: 3 });
    await append(store, 'a-1', 1);
    expect((await live).map((e) => e.revision)).toEqual([5]);
    await source.close();
  });

  it('reads ahead only as far as allowed, and on once the consumer takes events', async () => {
    const store = createMemoryEventStore();
    await append(store, 'b-1', 20);
    const source = liveEventSource(store, { readAheadEvents: 4 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(source.buffered).toBeLessThanOrEqual(4);
    const seen: number[] = [];
    while (seen.length < 20)
      for (const event of await source.next({ maxEvents: 3 })) seen.push(event.revision);
    expect(seen).toEqual([...Array(20).keys()]);
    await source.close();
  });

  it('returns [] to a waiting consumer when aborted or closed', async () => {
    const store = createMemoryEventStore();
    const source = liveEventSource(store);
    const controller = new AbortController();
    const waiting = source.next({ maxEvents: 10 }, controller.signal);
    controller.abort();
    expect(await waiting).toEqual([]);
    const again = source.next({ maxEvents: 10 });
    await source.close();
    expect(await again).toEqual([]);
  });

  it('hands the events read before a store failure over first, then the failure', async () => {
    const failing: EventStore = {
      ...createMemoryEventStore(),
      subscribeToAll: () => {
        async function* broken(): AsyncGenerator<RecordedEvent> {
          yield { ...sample(), revision: 0 };
          throw new Error('store down');
        }
        const iterator = broken();
        return { [Symbol.asyncIterator]: () => iterator, close: async () => undefined };
      },
    };
    const source = liveEventSource(failing);
    expect(await source.next({ maxEvents: 10 })).toHaveLength(1);
    await expect(source.next({ maxEvents: 10 })).rejects.toThrow('store down');
  });
});

describe('catchUpEventSource', () => {
  it('pages to the head as it is then, and ends', async () => {
    const store = createMemoryEventStore();
    await append(store, 'c-1', 5);
    const source = catchUpEventSource(store);
    expect(await source.next({ maxEvents: 2 })).toHaveLength(2);
    expect(await source.next({ maxEvents: 2 })).toHaveLength(2);
    expect(await source.next({ maxEvents: 2 })).toHaveLength(1);
    expect(await source.next({ maxEvents: 2 })).toEqual([]);
    expect(await source.next({ maxEvents: 2 })).toEqual([]);
  });
});

describe('runProcessor', () => {
  it('applies every batch and stops when the source is done', async () => {
    const store = createMemoryEventStore();
    await append(store, 'd-1', 7);
    const applied: number[][] = [];
    await runProcessor({
      source: catchUpEventSource(store),
      handler: {
        checkpoint: async () => undefined,
        apply: async (batch) => void applied.push(batch.map((e) => e.revision)),
      },
      limits: { maxEvents: 3 },
      signal: new AbortController().signal,
    });
    expect(applied).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
  });

  it('gives timers and I/O a turn between batches, even when everything answers at once', async () => {
    const store = createMemoryEventStore();
    await append(store, 'd-2', 300);
    let timerFired = false;
    setTimeout(() => (timerFired = true), 0);
    let firedBeforeTheEnd = false;
    let applied = 0;
    await runProcessor({
      source: catchUpEventSource(store),
      handler: {
        checkpoint: async () => undefined,
        apply: async (batch) => {
          applied += batch.length;
          if (applied === 300) firedBeforeTheEnd = timerFired;
        },
      },
      limits: { maxEvents: 1 },
      signal: new AbortController().signal,
    });
    expect(firedBeforeTheEnd).toBe(true);
  });

  it('throws what the handler throws, having applied nothing more', async () => {
    const store = createMemoryEventStore();
    await append(store, 'e-1', 4);
    let calls = 0;
    await expect(
      runProcessor({
        source: catchUpEventSource(store),
        handler: {
          checkpoint: async () => undefined,
          apply: async () => {
            calls++;
            throw new Error('target down');
          },
        },
        limits: { maxEvents: 2 },
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow('target down');
    expect(calls).toBe(1);
  });
});

describe('measureLag', () => {
  it('counts exactly, at any backlog, where the store counts', async () => {
    const store = createMemoryEventStore();
    await append(store, 'f-1', 12_000, 1);
    const [tenth] = await store.readAll({ maxCount: 10 }).then((all) => all.slice(9));
    const lag = await measureLag(store, { after: tenth!.position, now: new Date() });
    expect(lag).toMatchObject({ events: 11_990, exact: true });
  });

  it('counts by reading, up to a bound, where it cannot, and says so', async () => {
    const memory = createMemoryEventStore();
    const { countEvents: _dropped, ...withoutCount } = memory;
    await append(memory, 'g-1', LAG_COUNT_LIMIT + 5, 1);
    const lag = await measureLag(withoutCount as EventStore, { after: undefined, now: new Date() });
    expect(lag).toMatchObject({ events: LAG_COUNT_LIMIT, exact: false });
    const [last] = await memory.readAll({ direction: 'backwards', maxCount: 4 });
    expect(
      await measureLag(withoutCount as EventStore, { after: last!.position, now: new Date() }),
    ).toMatchObject({ events: 0, exact: true });
  });

  it('is zero when nothing is pending, and ages by the oldest pending event', async () => {
    const store = createMemoryEventStore({ now: () => new Date('2026-01-01T00:00:00Z') });
    await append(store, 'h-1', 2);
    const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
    expect(await measureLag(store, { after: last!.position, now: new Date() })).toEqual({
      events: 0,
      seconds: 0,
      exact: true,
    });
    const lag = await measureLag(store, {
      after: undefined,
      now: new Date('2026-01-01T00:00:10Z'),
    });
    expect(lag).toEqual({ events: 2, seconds: 10, exact: true });
  });
});

describe('Lease', () => {
  function leases(): LeaseStore & { holder(): string | undefined } {
    let holder: { owner: string; until: number } | undefined;
    let clock = 0;
    return {
      holder: () => holder?.owner,
      async acquireLease(_name, owner, ttlMs) {
        clock += 1;
        if (holder && holder.owner !== owner && holder.until > clock) return false;
        holder = { owner, until: clock + ttlMs };
        return true;
      },
      async releaseLease(_name, owner) {
        if (holder?.owner === owner) holder = undefined;
      },
    };
  }

  it('is held by one owner at a time, renewed, and handed over on release', async () => {
    const store = leases();
    const first = new Lease(store, 'p', 'first', 100);
    const second = new Lease(store, 'p', 'second', 100);
    expect(await first.renew()).toBe(true);
    expect(await second.renew()).toBe(false);
    expect(await first.renew()).toBe(true);
    await first.release();
    expect(first.held).toBe(false);
    expect(await second.renew()).toBe(true);
    expect(store.holder()).toBe('second');
  });

  it('waits for a held lease until it is free, or gives up when aborted', async () => {
    const store = leases();
    await new Lease(store, 'p', 'other', 3).renew();
    const waiting = new Lease(store, 'p', 'me', 100);
    expect(await waiting.acquire(new AbortController().signal, 1, async () => {})).toBe(true);
    const aborted = new AbortController();
    aborted.abort();
    expect(
      await new Lease(store, 'p', 'third', 100).acquire(aborted.signal, 1, async () => {}),
    ).toBe(false);
  });
});

function sample(): RecordedEvent {
  return {
    eventId: '00000000-0000-4000-8000-000000000000',
    type: 'Happened',
    data: new Uint8Array(1),
    metadata: {},
    streamName: 'x-1',
    revision: 0,
    position: { commit: 0n, prepare: 0n },
    recordedAt: new Date(),
  };
}
