/**
 * Integration suite of the esdb-wire-double (a TEST DOUBLE of EventStoreDB's gRPC protocol, never
 * EventStoreDB itself). Every behaviour is driven ONLY through the real client,
 * EventStoreDBClient.connectionString(...) from @eventstore/db-client, over real gRPC.
 * The double's rpcCallCounts() is only read, to show which rpc the client chose.
 */
import { randomUUID } from 'node:crypto';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  binaryEvent,
  eventTypeFilter,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { startEsdbWireDouble, type EsdbWireDouble } from './esdb-wire-double';

/* ----------------------------------------------------------------------------------------------
 * helpers
 * -------------------------------------------------------------------------------------------- */

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

const testEvent = (type = 'TestEvent', n = 0, id?: string) =>
  jsonEvent({ type, data: { n }, ...(id ? { id } : {}) });

async function readAllOf<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function waitUntil(condition: () => boolean, timeoutMs = 5_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries an operation that failed for a reason other than a concurrency conflict. */
async function withRetries<T>(operation: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof WrongExpectedVersionError || attempt >= attempts) throw error;
      await sleep(50 * attempt);
    }
  }
}

/** Records what a client subscription emits. */
function record<E extends ResolvedEvent | AllStreamResolvedEvent>(subscription: {
  on(event: 'data', listener: (event: E) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close' | 'end' | 'confirmation' | 'caughtUp', listener: () => void): unknown;
}) {
  const seen = {
    events: [] as E[],
    /** what happened, in order: 'confirmation', 'caughtUp', 'event', 'error', 'end', 'close' */
    signals: [] as string[],
    errors: [] as Error[],
  };
  subscription.on('data', (event) => {
    seen.events.push(event);
    seen.signals.push('event');
  });
  subscription.on('error', (error) => {
    seen.errors.push(error);
    seen.signals.push('error');
  });
  for (const signal of ['close', 'end', 'confirmation'] as const) {
    subscription.on(signal, () => seen.signals.push(signal));
  }
  subscription.on('caughtUp', () => {
    seen.signals.push('caughtUp');
  });
  return seen;
}

/* ----------------------------------------------------------------------------------------------
 * appends and reads, through both append rpcs
 * -------------------------------------------------------------------------------------------- */

describe.each([
  {
    path: 'Streams.BatchAppend (default)',
    batchAppend: true,
    rpc: 'Streams/BatchAppend',
    otherRpc: 'Streams/Append',
  },
  {
    path: 'Streams.Append (no BatchAppend)',
    batchAppend: false,
    rpc: 'Streams/Append',
    otherRpc: 'Streams/BatchAppend',
  },
])('esdb-wire-double appends via $path', ({ batchAppend, rpc, otherRpc }) => {
  let double: EsdbWireDouble;
  let client: EventStoreDBClient;

  beforeAll(async () => {
    double = await startEsdbWireDouble({ batchAppend });
    client = EventStoreDBClient.connectionString(double.connectionString);
  });

  afterAll(async () => {
    await client?.dispose();
    await double?.stop();
  });

  it('is reached by the client through the advertised append rpc', async () => {
    await client.appendToStream(unique('features'), testEvent());
    const counts = double.rpcCallCounts();
    expect(counts['ServerFeatures/GetSupportedMethods']).toBeGreaterThanOrEqual(1);
    expect(counts[rpc]).toBeGreaterThanOrEqual(1);
    expect(counts[otherRpc]).toBeUndefined();
    expect(double.connectionString).toMatch(/^esdb:\/\/127\.0\.0\.1:\d+\?tls=false$/);
  });

  describe('expected revision', () => {
    it('any: creates a stream at revision 0 and returns revision and position', async () => {
      const stream = unique('any');
      const first = await client.appendToStream(stream, testEvent(), { expectedRevision: ANY });
      expect(first.success).toBe(true);
      expect(first.nextExpectedRevision).toBe(0n);
      expect(first.position).toBeDefined();
      expect(first.position!.commit).toBe(first.position!.prepare);

      const second = await client.appendToStream(stream, [testEvent(), testEvent()]);
      expect(second.nextExpectedRevision).toBe(2n);
      expect(second.position!.commit > first.position!.commit).toBe(true);
    });

    it('no_stream: succeeds on a new stream, then fails with the current revision', async () => {
      const stream = unique('no-stream');
      const ok = await client.appendToStream(stream, testEvent(), { expectedRevision: NO_STREAM });
      expect(ok.nextExpectedRevision).toBe(0n);

      const error = await rejectionOf(
        client.appendToStream(stream, testEvent('Other'), { expectedRevision: NO_STREAM }),
      );
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect(error).toMatchObject({
        type: 'wrong-expected-version',
        streamName: stream,
        expectedVersion: NO_STREAM,
        actualVersion: 0n,
      });
    });

    it('stream_exists: fails on a missing stream with current no_stream, succeeds once it exists', async () => {
      const stream = unique('stream-exists');
      const error = await rejectionOf(
        client.appendToStream(stream, testEvent(), { expectedRevision: STREAM_EXISTS }),
      );
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect(error).toMatchObject({
        streamName: stream,
        expectedVersion: STREAM_EXISTS,
        actualVersion: NO_STREAM,
      });

      await client.appendToStream(stream, testEvent());
      const ok = await client.appendToStream(stream, testEvent(), {
        expectedRevision: STREAM_EXISTS,
      });
      expect(ok.nextExpectedRevision).toBe(1n);
    });

    it('exact revision: succeeds when it matches, otherwise reports current and expected', async () => {
      const stream = unique('exact');
      await client.appendToStream(stream, [testEvent(), testEvent(), testEvent()]); // 0..2
      const ok = await client.appendToStream(stream, testEvent(), { expectedRevision: 2n });
      expect(ok.nextExpectedRevision).toBe(3n);

      for (const stale of [1n, 5n]) {
        const error = await rejectionOf(
          client.appendToStream(stream, testEvent(), { expectedRevision: stale }),
        );
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({
          streamName: stream,
          expectedVersion: stale,
          actualVersion: 3n,
        });
      }

      const missing = await rejectionOf(
        client.appendToStream(unique('exact-missing'), testEvent(), { expectedRevision: 0n }),
      );
      expect(missing).toMatchObject({ expectedVersion: 0n, actualVersion: NO_STREAM });
    });

    it('20 racing appends with the same exact expected revision: exactly one wins', async () => {
      const stream = unique('race');
      await client.appendToStream(stream, [testEvent(), testEvent()]); // revisions 0, 1
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          client.appendToStream(stream, [testEvent('Racer', i), testEvent('Racer', i)], {
            expectedRevision: 1n,
          }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(19);
      for (const loss of lost) {
        expect(loss.reason).toBeInstanceOf(WrongExpectedVersionError);
        expect(loss.reason).toMatchObject({ expectedVersion: 1n, actualVersion: 3n });
      }
      const events = await readAllOf(client.readStream(stream));
      expect(events.map((e) => e.event!.revision)).toEqual([0n, 1n, 2n, 3n]);
      const winner = (won[0] as PromiseFulfilledResult<{ nextExpectedRevision: bigint }>).value;
      expect(winner.nextExpectedRevision).toBe(3n);
    });
  });

  describe('idempotent appends (same event ids)', () => {
    it('a retry with the same ids and the same expected revision succeeds without writing again', async () => {
      const stream = unique('idem-exact');
      const batch = [testEvent('A', 1), testEvent('B', 2)];
      const first = await client.appendToStream(stream, batch, { expectedRevision: NO_STREAM });
      const retry = await client.appendToStream(stream, batch, { expectedRevision: NO_STREAM });
      expect(retry).toEqual(first);

      const next = [testEvent('C', 3)];
      const third = await client.appendToStream(stream, next, { expectedRevision: 1n });
      const thirdRetry = await client.appendToStream(stream, next, { expectedRevision: 1n });
      expect(thirdRetry).toEqual(third);
      expect(third.nextExpectedRevision).toBe(2n);

      // ...even after the stream moved on.
      await client.appendToStream(stream, testEvent('D', 4), { expectedRevision: 2n });
      const late = await client.appendToStream(stream, batch, { expectedRevision: NO_STREAM });
      expect(late).toEqual(first);

      const stored = await readAllOf(client.readStream(stream));
      expect(stored.map((e) => e.event!.type)).toEqual(['A', 'B', 'C', 'D']);
    });

    it('any: appending the same event twice stores one copy (the docs example)', async () => {
      const stream = unique('idem-any');
      const event = testEvent('Once');
      const first = await client.appendToStream(stream, event);
      const second = await client.appendToStream(stream, event);
      expect(second).toEqual(first);
      await client.appendToStream(stream, testEvent('Other'));
      const third = await client.appendToStream(stream, event, { expectedRevision: ANY });
      expect(third).toEqual(first);
      const stored = await readAllOf(client.readStream(stream));
      expect(stored.map((e) => e.event!.type)).toEqual(['Once', 'Other']);
    });

    it('an in-flight append that failed on a dropped connection can be retried safely', async () => {
      const stream = unique('idem-drop');
      const batch = [testEvent('X', 1), testEvent('Y', 2)];
      const attempt = client.appendToStream(stream, batch, { expectedRevision: NO_STREAM });
      double.dropConnections();
      const outcome = await attempt.then(
        () => 'written',
        (error: unknown) => error,
      );
      if (outcome !== 'written') expect(outcome).toBeInstanceOf(UnavailableError);
      // Retry as an adapter would: same ids, same expected revision, a few attempts (right after a
      // drop the client may still hand the call to its dead BatchAppend stream).
      const retry = await withRetries(() =>
        client.appendToStream(stream, batch, { expectedRevision: NO_STREAM }),
      );
      expect(retry.nextExpectedRevision).toBe(1n);
      const stored = await readAllOf(client.readStream(stream));
      expect(stored.map((e) => e.event!.type)).toEqual(['X', 'Y']);
    });

    it('a retry whose ids only partly match the stored events is a WrongExpectedVersion', async () => {
      const stream = unique('idem-partial');
      const a = testEvent('A');
      const b = testEvent('B');
      await client.appendToStream(stream, [a, b], { expectedRevision: NO_STREAM });

      const partlyExact = await rejectionOf(
        client.appendToStream(stream, [a, testEvent('New')], { expectedRevision: NO_STREAM }),
      );
      expect(partlyExact).toMatchObject({ expectedVersion: NO_STREAM, actualVersion: 1n });

      const partlyAny = await rejectionOf(
        client.appendToStream(stream, [a, testEvent('New')], { expectedRevision: ANY }),
      );
      expect(partlyAny).toMatchObject({ expectedVersion: ANY, actualVersion: 1n });

      // Different ids at a stale revision: a plain concurrency conflict.
      const stale = await rejectionOf(
        client.appendToStream(stream, [testEvent('C')], { expectedRevision: 0n }),
      );
      expect(stale).toMatchObject({ expectedVersion: 0n, actualVersion: 1n });
    });

    it('any: a batch whose FIRST id is new is written even if a later id exists (server source, not the docs)', async () => {
      const stream = unique('idem-first');
      const a = testEvent('A');
      await client.appendToStream(stream, a);
      const result = await client.appendToStream(stream, [testEvent('New'), a], {
        expectedRevision: ANY,
      });
      expect(result.nextExpectedRevision).toBe(2n);
      const stored = await readAllOf(client.readStream(stream));
      expect(stored.map((e) => e.event!.type)).toEqual(['A', 'New', 'A']);
    });
    it('idempotency is positional: a "retry" at the new current revision writes again', async () => {
      const stream = unique('idem-positional');
      const event = testEvent('Dup');
      const first = await client.appendToStream(stream, event, { expectedRevision: NO_STREAM });
      const again = await client.appendToStream(stream, event, {
        expectedRevision: first.nextExpectedRevision,
      });
      expect(again.nextExpectedRevision).toBe(1n);
      const stored = await readAllOf(client.readStream(stream));
      expect(stored.map((e) => e.event!.id)).toEqual([event.id, event.id]);
    });

    it('the same event id may be used in two streams; retries stay per stream', async () => {
      const [a, b] = [unique('reuse-a'), unique('reuse-b')];
      const shared = testEvent('Shared');
      const inA = await client.appendToStream(a, shared, { expectedRevision: NO_STREAM });
      const inB = await client.appendToStream(b, shared, { expectedRevision: NO_STREAM });
      expect(inB.position!.commit > inA.position!.commit).toBe(true);
      expect(await client.appendToStream(a, shared, { expectedRevision: NO_STREAM })).toEqual(inA);
      expect(await client.appendToStream(b, shared, { expectedRevision: NO_STREAM })).toEqual(inB);
      expect(await readAllOf(client.readStream(a))).toHaveLength(1);
      expect(await readAllOf(client.readStream(b))).toHaveLength(1);
    });
  });

  describe('event contents', () => {
    it('round-trips binary data, JSON metadata, ids, types and created timestamps', async () => {
      const stream = unique('contents');
      const bytes = Uint8Array.from([0, 1, 2, 127, 128, 254, 255, 0x7b]);
      const rawMetadata = Uint8Array.from([0xff, 0x00, 0x10]); // not JSON
      const id = randomUUID();
      const before = Date.now();
      await client.appendToStream(stream, [
        binaryEvent({ id, type: 'BinaryThing', data: bytes, metadata: { traceId: 't-1', n: 7 } }),
        jsonEvent({
          type: 'JsonThing',
          data: { nested: { a: [1, 'two', null] } },
          metadata: rawMetadata,
        }),
        binaryEvent({ type: 'EmptyThing', data: new Uint8Array(0) }),
      ]);
      const after = Date.now();

      const [binary, json, empty] = await readAllOf(client.readStream(stream));
      expect(binary!.event).toMatchObject({
        streamId: stream,
        id,
        revision: 0n,
        type: 'BinaryThing',
        isJson: false,
        metadata: { traceId: 't-1', n: 7 },
      });
      expect(binary!.event!.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(binary!.event!.data as Uint8Array)).toEqual(Array.from(bytes));
      const created = binary!.event!.created.getTime();
      expect(created).toBeGreaterThanOrEqual(before - 1);
      expect(created).toBeLessThanOrEqual(after + 1);

      expect(json!.event).toMatchObject({
        type: 'JsonThing',
        isJson: true,
        data: { nested: { a: [1, 'two', null] } },
      });
      expect(json!.event!.metadata).toBeInstanceOf(Uint8Array);
      expect(Array.from(json!.event!.metadata as Uint8Array)).toEqual([0xff, 0x00, 0x10]);

      expect(empty!.event).toMatchObject({
        type: 'EmptyThing',
        isJson: false,
        metadata: undefined,
      });
      expect(Array.from(empty!.event!.data as Uint8Array)).toEqual([]);
    });
  });

  describe('reading a stream', () => {
    it('reads forwards and backwards from a revision, with maxCount', async () => {
      const stream = unique('read');
      await client.appendToStream(
        stream,
        Array.from({ length: 10 }, (_, n) => testEvent('E', n)),
      );
      const revisions = async (options: Parameters<EventStoreDBClient['readStream']>[1]) =>
        (await readAllOf(client.readStream(stream, options))).map((e) => e.event!.revision);

      expect(await revisions({})).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
      expect(await revisions({ fromRevision: 3n, maxCount: 4 })).toEqual([3n, 4n, 5n, 6n]);
      expect(await revisions({ fromRevision: 8n, maxCount: 5 })).toEqual([8n, 9n]);
      expect(await revisions({ fromRevision: 20n })).toEqual([]);
      expect(await revisions({ direction: BACKWARDS, fromRevision: END, maxCount: 3 })).toEqual([
        9n,
        8n,
        7n,
      ]);
      expect(await revisions({ direction: BACKWARDS, fromRevision: 4n })).toEqual([
        4n,
        3n,
        2n,
        1n,
        0n,
      ]);
      expect(await revisions({ direction: FORWARDS, fromRevision: START, maxCount: 1 })).toEqual([
        0n,
      ]);
    });

    it('reports StreamNotFoundError for a stream that does not exist', async () => {
      const stream = unique('missing');
      const error = await rejectionOf(readAllOf(client.readStream(stream)));
      expect(error).toBeInstanceOf(StreamNotFoundError);
      expect(error).toMatchObject({ type: 'stream-not-found', streamName: stream });
      const backwards = await rejectionOf(
        readAllOf(client.readStream(stream, { direction: BACKWARDS, fromRevision: END })),
      );
      expect(backwards).toBeInstanceOf(StreamNotFoundError);
    });
  });

  describe('reading $all', () => {
    it('returns every event in append order with strictly increasing positions', async () => {
      const prefix = unique('all');
      const [a, b] = [`${prefix}-a`, `${prefix}-b`];
      await client.appendToStream(a, testEvent('T', 0));
      await client.appendToStream(b, [testEvent('T', 1), testEvent('T', 2)]);
      await client.appendToStream(a, testEvent('T', 3));

      const all = await readAllOf(client.readAll());
      const mine = all.filter((e) => e.event!.streamId.startsWith(prefix));
      expect(mine.map((e) => (e.event!.data as { n: number }).n)).toEqual([0, 1, 2, 3]);
      expect(mine.map((e) => e.event!.streamId)).toEqual([a, b, b, a]);
      for (let i = 1; i < all.length; i++) {
        const previous = all[i - 1]!.event!.position;
        const current = all[i]!.event!.position;
        expect(current.commit > previous.commit).toBe(true);
        expect(current.prepare > previous.prepare).toBe(true);
        expect(current.commit).toBe(current.prepare);
        expect(all[i]!.commitPosition).toBe(current.commit);
      }
    });

    it('reads forwards from a position (inclusive) and backwards from a position (exclusive)', async () => {
      const prefix = unique('allpos');
      const positions: Position[] = [];
      for (let n = 0; n < 5; n++) {
        const result = await client.appendToStream(`${prefix}-s`, testEvent('T', n));
        positions.push(result.position!);
      }
      const forwards = await readAllOf(
        client.readAll({ fromPosition: positions[2]!, maxCount: 2 }),
      );
      expect(forwards.map((e) => (e.event!.data as { n: number }).n)).toEqual([2, 3]);

      const backwards = await readAllOf(
        client.readAll({ direction: BACKWARDS, fromPosition: positions[2]!, maxCount: 2 }),
      );
      expect(backwards.map((e) => (e.event!.data as { n: number }).n)).toEqual([1, 0]);

      const last = await readAllOf(
        client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }),
      );
      expect(last[0]!.event!.position).toEqual(positions[4]);
      expect(await readAllOf(client.readAll({ fromPosition: END }))).toEqual([]);
    });
  });
});

/* ----------------------------------------------------------------------------------------------
 * subscriptions
 * -------------------------------------------------------------------------------------------- */

describe('esdb-wire-double subscriptions', () => {
  let double: EsdbWireDouble;
  let client: EventStoreDBClient;

  beforeAll(async () => {
    double = await startEsdbWireDouble();
    client = EventStoreDBClient.connectionString(double.connectionString);
  });

  afterAll(async () => {
    await client?.dispose();
    await double?.stop();
  });

  it('subscribeToStream: from start, from a revision (exclusive) and from end; catch-up then live', async () => {
    const stream = unique('sub-stream');
    await client.appendToStream(stream, [testEvent('E', 0), testEvent('E', 1), testEvent('E', 2)]);

    const fromStart = client.subscribeToStream(stream, { fromRevision: START });
    const fromRevision = client.subscribeToStream(stream, { fromRevision: 1n });
    const fromEnd = client.subscribeToStream(stream, { fromRevision: END });
    const [start, revision, end] = [record(fromStart), record(fromRevision), record(fromEnd)];
    await waitUntil(() => [start, revision, end].every((s) => s.signals.includes('caughtUp')));

    await client.appendToStream(stream, [testEvent('E', 3), testEvent('E', 4)]);
    await waitUntil(
      () => start.events.length === 5 && revision.events.length === 3 && end.events.length === 2,
    );
    await sleep(50);

    const revs = (s: typeof start) => s.events.map((e) => e.event!.revision);
    expect(revs(start)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(revs(revision)).toEqual([2n, 3n, 4n]);
    expect(revs(end)).toEqual([3n, 4n]);
    for (const s of [start, revision, end]) {
      expect(s.signals[0]).toBe('confirmation');
      expect(s.signals.filter((x) => x === 'caughtUp')).toHaveLength(1);
      expect(s.errors).toEqual([]);
    }
    await Promise.all([fromStart.unsubscribe(), fromRevision.unsubscribe(), fromEnd.unsubscribe()]);
  });

  it('subscribeToStream waits for a stream that does not exist yet', async () => {
    const stream = unique('sub-later');
    const subscription = client.subscribeToStream(stream);
    const seen = record(subscription);
    await waitUntil(() => seen.signals.includes('caughtUp'));
    await client.appendToStream(stream, testEvent('Late'));
    await waitUntil(() => seen.events.length === 1);
    expect(seen.errors).toEqual([]);
    await subscription.unsubscribe();
  });

  it('subscribeToAll from a position sees the events after the position, then live ones, exactly once', async () => {
    const prefix = unique('sub-all');
    const stream = `${prefix}-s`;
    let startAt: Position | undefined;
    for (let n = 0; n < 100; n++) {
      const result = await client.appendToStream(stream, testEvent('T', n));
      if (n === 29) startAt = result.position; // subscribe after event #29
    }
    const subscription = client.subscribeToAll({ fromPosition: startAt! });
    const seen = record<AllStreamResolvedEvent>(subscription);

    // Race live appends against the catch-up phase.
    const writers = (async () => {
      for (let n = 100; n < 160; n += 3) {
        // 100..159
        await client.appendToStream(stream, [
          testEvent('T', n),
          testEvent('T', n + 1),
          testEvent('T', n + 2),
        ]);
      }
    })();
    await writers;
    const mine = () => seen.events.filter((e) => e.event!.streamId === stream);
    await waitUntil(() => mine().length >= 130, 10_000, '130 events');
    await client.appendToStream(stream, testEvent('T', 160));
    await waitUntil(() => mine().length >= 131, 5_000, 'the live event');
    await sleep(100);

    const numbers = mine().map((e) => (e.event!.data as { n: number }).n);
    const expected = [...Array.from({ length: 130 }, (_, i) => i + 30), 160]; // 30..160
    expect(numbers).toEqual(expected);
    expect(seen.signals[0]).toBe('confirmation');
    expect(seen.signals.filter((s) => s === 'caughtUp')).toHaveLength(1);
    expect(seen.errors).toEqual([]);
    // positions strictly increase across the catch-up/live switch-over
    const positions = seen.events.map((e) => e.event!.position.commit);
    expect([...positions].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(positions);
    expect(new Set(positions).size).toBe(positions.length);
    await subscription.unsubscribe();
  });

  it('a slow consumer of a large catch-up gets every event once (gRPC flow control)', async () => {
    const stream = unique('large');
    const payload = new Uint8Array(4096).fill(7);
    for (let batch = 0; batch < 10; batch++) {
      await client.appendToStream(
        stream,
        Array.from({ length: 100 }, (_, i) =>
          binaryEvent({ type: 'Big', data: payload, metadata: { n: batch * 100 + i } }),
        ),
      );
    }
    const subscription = client.subscribeToStream(stream);
    const numbers: number[] = [];
    for await (const resolved of subscription) {
      numbers.push((resolved.event!.metadata as { n: number }).n);
      if (numbers.length % 100 === 0) await sleep(20); // slow consumer
      if (numbers.length === 1000) break;
    }
    expect(numbers).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const read = await readAllOf(client.readStream(stream));
    expect(read).toHaveLength(1000);
  });

  it('subscribeToAll from end sees only events appended afterwards', async () => {
    const stream = unique('sub-end');
    await client.appendToStream(stream, testEvent('Before'));
    const subscription = client.subscribeToAll({ fromPosition: END });
    const seen = record(subscription);
    await waitUntil(() => seen.signals.includes('caughtUp'));
    await client.appendToStream(stream, testEvent('After'));
    await waitUntil(() => seen.events.some((e) => e.event!.streamId === stream));
    await sleep(50);
    expect(
      seen.events.filter((e) => e.event!.streamId === stream).map((e) => e.event!.type),
    ).toEqual(['After']);
    await subscription.unsubscribe();
  });

  describe('server-side filters on subscribeToAll', () => {
    let prefix: string;
    const expectFiltered = async (
      filter: Parameters<EventStoreDBClient['subscribeToAll']>[0],
      expected: Array<[stream: string, type: string]>,
    ) => {
      const subscription = client.subscribeToAll({ fromPosition: START, ...filter });
      const seen = record(subscription);
      await waitUntil(() => seen.signals.includes('caughtUp'));
      await sleep(50);
      await subscription.unsubscribe();
      expect(seen.errors).toEqual([]);
      expect(seen.events.map((e) => [e.event!.streamId, e.event!.type])).toEqual(expected);
    };

    beforeAll(async () => {
      prefix = unique('flt');
      await client.appendToStream(`${prefix}-order-1`, [
        testEvent(`${prefix}OrderPlaced`),
        testEvent(`${prefix}OrderShipped`),
      ]);
      await client.appendToStream(`${prefix}-user-1`, testEvent(`${prefix}UserCreated`));
      await client.appendToStream(`${prefix}-order-2`, testEvent(`${prefix}OrderPlaced`));
      await client.appendToStream(`x${prefix}-order-3`, testEvent(`x${prefix}OrderPlaced`));
    });

    it('by stream name prefix', async () => {
      await expectFiltered({ filter: streamNameFilter({ prefixes: [`${prefix}-order-`] }) }, [
        [`${prefix}-order-1`, `${prefix}OrderPlaced`],
        [`${prefix}-order-1`, `${prefix}OrderShipped`],
        [`${prefix}-order-2`, `${prefix}OrderPlaced`],
      ]);
    });

    it('by stream name regex', async () => {
      await expectFiltered(
        { filter: streamNameFilter({ regex: `^${prefix}-(user|order)-[12]$` }) },
        [
          [`${prefix}-order-1`, `${prefix}OrderPlaced`],
          [`${prefix}-order-1`, `${prefix}OrderShipped`],
          [`${prefix}-user-1`, `${prefix}UserCreated`],
          [`${prefix}-order-2`, `${prefix}OrderPlaced`],
        ],
      );
    });

    it('by event type prefix', async () => {
      await expectFiltered(
        { filter: eventTypeFilter({ prefixes: [`${prefix}Order`, `${prefix}User`] }) },
        [
          [`${prefix}-order-1`, `${prefix}OrderPlaced`],
          [`${prefix}-order-1`, `${prefix}OrderShipped`],
          [`${prefix}-user-1`, `${prefix}UserCreated`],
          [`${prefix}-order-2`, `${prefix}OrderPlaced`],
        ],
      );
    });

    it('by event type regex (unanchored, like the server)', async () => {
      await expectFiltered({ filter: eventTypeFilter({ regex: `${prefix}Order(Placed)$` }) }, [
        [`${prefix}-order-1`, `${prefix}OrderPlaced`],
        [`${prefix}-order-2`, `${prefix}OrderPlaced`],
        [`x${prefix}-order-3`, `x${prefix}OrderPlaced`],
      ]);
    });
  });

  it('filtered subscribeToAll reports checkpoints every checkpointInterval x 32 events considered', async () => {
    // A double of its own, so that the whole of $all is known.
    const own = await startEsdbWireDouble();
    const ownClient = EventStoreDBClient.connectionString(own.connectionString);
    try {
      for (let n = 0; n < 150; n++) {
        const stream = n % 10 === 0 ? 'cp-match' : 'cp-other';
        await ownClient.appendToStream(stream, testEvent('T', n));
      }
      const all = await readAllOf(ownClient.readAll());
      expect(all).toHaveLength(150);

      const run = async (checkpointInterval: number) => {
        const checkpoints: Position[] = [];
        const subscription = ownClient.subscribeToAll({
          fromPosition: START,
          filter: streamNameFilter({
            prefixes: ['cp-match'],
            checkpointInterval,
            checkpointReached: (_subscription, position) => {
              checkpoints.push(position);
            },
          }),
        });
        const seen = record(subscription);
        await waitUntil(() => seen.signals.includes('caughtUp'));
        await sleep(50);
        await subscription.unsubscribe();
        return { checkpoints, seen };
      };

      const every32 = await run(1);
      expect(every32.seen.events.map((e) => (e.event!.data as { n: number }).n)).toEqual(
        Array.from({ length: 15 }, (_, i) => i * 10),
      );
      expect(every32.checkpoints).toEqual([31, 63, 95, 127].map((i) => all[i]!.event!.position));

      const every64 = await run(2);
      expect(every64.checkpoints).toEqual([63, 127].map((i) => all[i]!.event!.position));

      // Resuming from a checkpoint loses no matching event.
      const resumed = await readAllOf(ownClient.readAll({ fromPosition: every32.checkpoints[1]! }));
      expect(resumed[0]!.event!.position).toEqual(all[63]!.event!.position);
      const resumedSub = ownClient.subscribeToAll({
        fromPosition: every32.checkpoints[1]!,
        filter: streamNameFilter({ prefixes: ['cp-match'] }),
      });
      const resumedSeen = record(resumedSub);
      await waitUntil(() => resumedSeen.signals.includes('caughtUp'));
      await sleep(50);
      await resumedSub.unsubscribe();
      expect(resumedSeen.events.map((e) => (e.event!.data as { n: number }).n)).toEqual([
        70, 80, 90, 100, 110, 120, 130, 140,
      ]);
    } finally {
      await ownClient.dispose();
      await own.stop();
    }
  });

  it('after dropConnections() the subscription emits an error (no auto-resubscribe) and can be resumed from its last position', async () => {
    const prefix = unique('drop');
    const stream = `${prefix}-s`;
    await client.appendToStream(stream, [testEvent('T', 0), testEvent('T', 1), testEvent('T', 2)]);

    const subscription = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const seen = record(subscription);
    await waitUntil(() => seen.events.length === 3 && seen.signals.includes('caughtUp'));
    const lastPosition = seen.events[seen.events.length - 1]!.event!.position;

    double.dropConnections();
    await waitUntil(() => seen.errors.length > 0, 5_000, 'the subscription error');
    await sleep(200);

    // What the 6.2.1 client does: one 'error' event carrying an UnavailableError
    // ("14 UNAVAILABLE: read ECONNRESET"); no 'end', no 'close', no resubscription.
    expect(seen.errors).toHaveLength(1);
    expect(seen.errors[0]).toBeInstanceOf(UnavailableError);
    expect(seen.errors[0]).toMatchObject({ type: 'unavailable', code: 14 });
    expect(seen.signals.filter((s) => s === 'end' || s === 'close')).toEqual([]);
    expect(subscription.destroyed).toBe(false);

    // The client reconnects on its next call; the old subscription stays dead.
    await client.appendToStream(stream, [testEvent('T', 3), testEvent('T', 4)]);
    await sleep(200);
    expect(seen.events).toHaveLength(3);

    // The adapter resubscribes from its last position and sees the rest exactly once.
    const resumed = client.subscribeToAll({
      fromPosition: lastPosition,
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const resumedSeen = record(resumed);
    await waitUntil(() => resumedSeen.signals.includes('caughtUp'));
    await client.appendToStream(stream, testEvent('T', 5));
    await waitUntil(() => resumedSeen.events.length === 3);
    await sleep(50);
    expect(resumedSeen.events.map((e) => (e.event!.data as { n: number }).n)).toEqual([3, 4, 5]);
    expect(resumedSeen.errors).toEqual([]);
    await resumed.unsubscribe();
  });

  it('a stream subscription iterated with for await rejects with UnavailableError on a drop', async () => {
    const stream = unique('drop-stream');
    await client.appendToStream(stream, testEvent('T', 0));
    const subscription = client.subscribeToStream(stream);
    let lastRevision = -1n;
    const iteration = (async () => {
      for await (const resolved of subscription) {
        lastRevision = resolved.event!.revision;
        if (lastRevision === 0n) double.dropConnections();
      }
    })();
    const error = await rejectionOf(iteration);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(lastRevision).toBe(0n);

    const resumed = client.subscribeToStream(stream, { fromRevision: lastRevision });
    const resumedSeen = record(resumed);
    await withRetries(() => client.appendToStream(stream, testEvent('T', 1)));
    await waitUntil(() => resumedSeen.events.length === 1);
    expect(resumedSeen.events[0]!.event!.revision).toBe(1n);
    await resumed.unsubscribe();
  });
});

describe('esdb-wire-double lifecycle', () => {
  it('listens on the requested port and stops cleanly', async () => {
    const probe = await startEsdbWireDouble();
    const port = Number(new URL(probe.connectionString.replace('esdb://', 'http://')).port);
    await probe.stop();
    const double = await startEsdbWireDouble({ port });
    expect(double.connectionString).toBe(`esdb://127.0.0.1:${port}?tls=false`);
    const client = EventStoreDBClient.connectionString(double.connectionString);
    await client.appendToStream('lifecycle', testEvent());
    await client.dispose();
    await double.stop();
    await double.stop(); // idempotent
  });
});
