/**
 * What the EventStoreDB adapter does beyond the shared store contract: resubscribing after a
 * lost connection, translating conflicts and faults into esflow's errors, and recognising
 * retried appends, including one whose answer was lost with the connection.
 *
 * Everything runs through the real client (@eventstore/db-client) over real gRPC against the
 * esdb-wire-double, a TEST DOUBLE of EventStoreDB's protocol (test/doubles/esdb/README.md).
 */
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStoreDBClient, isCommandError } from '@eventstore/db-client';
import {
  ErrorCode,
  EsflowError,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  RecordedEvent,
  RevisionConflictError,
  START_POSITION,
  comparePositions,
} from '@esflow/core';
import { createEsdbEventStore, EsdbEventStoreOptions } from '@esflow/eventstoredb';
import { EsdbWireDouble, startEsdbWireDouble } from '../doubles/esdb/esdb-wire-double';
import { freePort } from '../support/app-process';
import { uniqueCategory } from '../support/unique';
import { waitFor } from '../support/wait-for';

const event = (type = 'Happened', fields: Record<string, unknown> = {}): EventToAppend => ({
  eventId: randomUUID(),
  type,
  data: new Uint8Array([0, 1, 2, 255]),
  metadata: { note: 'adapter', ...fields },
});
const stream = () => `${uniqueCategory()}-${randomUUID()}`;
const quick: Partial<EsdbEventStoreOptions> = { retryDelayMs: 10, maxResubscribeDelayMs: 200 };

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/** An esflow error with a stable code, carrying no client error, not even as its cause. */
function expectEsflowError(error: unknown, code: ErrorCode, retriable: boolean): EsflowError {
  expect(error).toBeInstanceOf(EsflowError);
  const esflowError = error as EsflowError;
  expect({ code: esflowError.code, retriable: esflowError.retriable }).toEqual({ code, retriable });
  expect(isCommandError(esflowError)).toBe(false);
  expect(esflowError.cause).toBeUndefined();
  return esflowError;
}

/** Consumes a subscription into an array until closed. */
function consume(subscription: AsyncIterable<RecordedEvent>) {
  const seen: RecordedEvent[] = [];
  const done = (async () => {
    for await (const recorded of subscription) seen.push(recorded);
  })();
  return { seen, done };
}

function expectExactlyOnceInOrder(seen: RecordedEvent[], written: string[]) {
  expect(seen.map((e) => e.eventId).sort()).toEqual([...written].sort());
  expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length);
  for (let i = 1; i < seen.length; i++)
    expect(comparePositions(seen[i - 1]!.position, seen[i]!.position)).toBe(-1);
}

/**
 * A TCP relay in front of the double that can lose one append on its way (before the server
 * sees it) or lose its answer (after the server wrote it), recognising the append by an event id
 * in the bytes the client sends. Losing means resetting every relayed connection, as a network
 * failure would; new connections are relayed normally.
 */
async function startLossyRelay(targetPort: number) {
  type Plan = { lose: 'request' | 'answer'; marker: Buffer } | undefined;
  let plan: Plan;
  let holdAnswers = false;
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const resetAll = () => {
    holdAnswers = false;
    for (const pair of [...pairs]) {
      pairs.delete(pair);
      pair.client.resetAndDestroy();
      pair.upstream.resetAndDestroy();
    }
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (plan && chunk.includes(plan.marker)) {
        const { lose } = plan;
        plan = undefined;
        if (lose === 'request') return resetAll();
        holdAnswers = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!holdAnswers) client.write(chunk);
    });
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', close);
      socket.on('close', close);
    }
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
  return {
    connectionString: `esdb://127.0.0.1:${port}?tls=false`,
    /** The next append carrying this event id never reaches the server. */
    loseRequestOf: (eventId: string) => (plan = { lose: 'request', marker: Buffer.from(eventId) }),
    /** The next append carrying this event id is written, but its answer never arrives. */
    loseAnswerOf: (eventId: string) => (plan = { lose: 'answer', marker: Buffer.from(eventId) }),
    resetAll,
    stop: () =>
      new Promise<void>((resolve) => {
        resetAll();
        server.close(() => resolve());
      }),
  };
}

let double: EsdbWireDouble;
let store: EventStore;

beforeAll(async () => {
  double = await startEsdbWireDouble();
  store = createEsdbEventStore({ connectionString: double.connectionString, ...quick });
});
afterAll(async () => {
  await store?.close();
  await double?.stop();
});

describe('subscribeToAll after lost connections', () => {
  it('resubscribes after dropped connections and yields every event exactly once, in order', async () => {
    const category = uniqueCategory();
    const written: string[] = [];
    const write = async (streamName: string, count: number) => {
      const batch = Array.from({ length: count }, () => event());
      await store.append(streamName, batch, { expectedRevision: ExpectedRevision.Any });
      written.push(...batch.map((e) => e.eventId));
    };
    for (let i = 0; i < 10; i++) await write(`${category}-${i % 3}`, 3);
    await store.append(`${uniqueCategory()}-elsewhere`, [event(), event()], {
      expectedRevision: ExpectedRevision.NoStream,
    }); // filtered out
    const subscription = store.subscribeToAll({ filter: { streamNamePrefixes: [`${category}-`] } });
    const { seen, done } = consume(subscription);
    await waitFor(() => seen.length >= 30, { what: 'catch-up' });

    // The 6.2.1 client never resubscribes by itself: every event after a drop proves the
    // adapter did. Drop repeatedly, with appends racing the drops.
    for (let round = 0; round < 4; round++) {
      double.dropConnections();
      await Promise.all([write(`${category}-a`, 2), write(`${category}-b`, 1)]);
      await waitFor(() => seen.length >= written.length, { what: `events after drop ${round}` });
    }
    double.dropConnections();
    double.dropConnections();
    await write(`${category}-c`, 4);
    await waitFor(() => seen.length >= written.length, { what: 'events after a double drop' });

    await subscription.close();
    await done;
    expectExactlyOnceInOrder(seen, written);
    expect(seen.every((e) => e.streamName.startsWith(`${category}-`))).toBe(true);
  });

  it('loses and repeats nothing when the connection drops in the middle of a long catch-up', async () => {
    const category = uniqueCategory();
    const written: string[] = [];
    for (let i = 0; i < 30; i++) {
      const batch = Array.from({ length: 50 }, () => event('Bulk'));
      await store.append(`${category}-${i % 5}`, batch, { expectedRevision: ExpectedRevision.Any });
      written.push(...batch.map((e) => e.eventId));
    }
    const subscription = store.subscribeToAll({ filter: { streamNamePrefixes: [`${category}-`] } });
    const seen: RecordedEvent[] = [];
    let dropped = 0;
    const done = (async () => {
      for await (const recorded of subscription) {
        seen.push(recorded);
        // A slow consumer, so that the adapter holds back the server, and drops mid-way.
        if (seen.length % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        if (seen.length === 200 || seen.length === 900) {
          double.dropConnections();
          dropped += 1;
        }
      }
    })();
    await waitFor(() => seen.length >= written.length, { what: 'the whole catch-up' });
    await subscription.close();
    await done;
    expect(dropped).toBe(2);
    expectExactlyOnceInOrder(seen, written);
  });

  it('filters event types and system events client-side, whatever the server could filter', async () => {
    const category = uniqueCategory();
    const wanted = `Wanted${category}`;
    await store.append(`${category}-1`, [event(wanted), event('Other'), event('$internal')], {
      expectedRevision: ExpectedRevision.NoStream,
    });
    await store.append(`$${category}-system`, [event(wanted)], {
      expectedRevision: ExpectedRevision.NoStream,
    });
    // A type that the server's prefix filter lets through but an exact match does not.
    await store.append(`${category}-2`, [event(`${wanted}Later`), event(wanted)], {
      expectedRevision: ExpectedRevision.NoStream,
    });
    const byType = store.subscribeToAll({ filter: { eventTypes: [wanted] } });
    const both = store.subscribeToAll({
      filter: { streamNamePrefixes: [`${category}-2`], eventTypes: [wanted] },
    });
    const everything = store.subscribeToAll();
    const seen = [consume(byType), consume(both), consume(everything)];
    await waitFor(() => seen[0]!.seen.length >= 2 && seen[1]!.seen.length >= 1, {
      what: 'filtered events',
    });
    const marker = event('Marker');
    await store.append(`${category}-3`, [marker], { expectedRevision: ExpectedRevision.NoStream });
    await waitFor(() => seen[2]!.seen.some((e) => e.eventId === marker.eventId), {
      what: 'the marker',
    });
    await Promise.all([byType.close(), both.close(), everything.close()]);
    await Promise.all(seen.map((s) => s.done));
    expect(seen[0]!.seen.map((e) => [e.streamName, e.type])).toEqual([
      [`${category}-1`, wanted],
      [`${category}-2`, wanted],
    ]);
    expect(seen[1]!.seen.map((e) => e.streamName)).toEqual([`${category}-2`]);
    expect(
      seen[2]!.seen.filter((e) => e.type.startsWith('$') || e.streamName.startsWith('$')),
    ).toEqual([]);
  });

  it('ends iteration when closed, and when its store is closed', async () => {
    const own = createEsdbEventStore({ connectionString: double.connectionString, ...quick });
    const first = consume(own.subscribeToAll({ after: START_POSITION }));
    const second = own.subscribeToAll();
    const secondDone = consume(second);
    await second.close();
    await secondDone.done;
    await own.close();
    await first.done;
    expectEsflowError(
      await errorOf(own.append(stream(), [event()], { expectedRevision: ExpectedRevision.Any })),
      ErrorCode.StoreUnavailable,
      false,
    );
  });
});

describe('conflicts', () => {
  it('translates WrongExpectedVersion into RevisionConflictError with the port revisions', async () => {
    const name = stream();
    await store.append(name, [event(), event()], { expectedRevision: ExpectedRevision.NoStream });
    const exact = await errorOf(store.append(name, [event()], { expectedRevision: 0 }));
    expect(exact).toBeInstanceOf(RevisionConflictError);
    expect(exact).toMatchObject({
      code: ErrorCode.RevisionConflict,
      retriable: true,
      streamName: name,
      expected: '0',
      actual: 1,
    });
    expect(
      await errorOf(store.append(name, [event()], { expectedRevision: ExpectedRevision.NoStream })),
    ).toMatchObject({ expected: 'no_stream', actual: 1 });
    const missing = stream();
    expect(
      await errorOf(
        store.append(missing, [event()], { expectedRevision: ExpectedRevision.StreamExists }),
      ),
    ).toMatchObject({ streamName: missing, expected: 'stream_exists', actual: 'no_stream' });
    expect(await errorOf(store.append(missing, [event()], { expectedRevision: 3 }))).toMatchObject({
      expected: '3',
      actual: 'no_stream',
    });
    expectEsflowError(exact, ErrorCode.RevisionConflict, true);
    expect(await store.readStream(name)).toHaveLength(2);
  });

  it('never reports a conflict for any: concurrent appends to one stream all land', async () => {
    const name = stream();
    const results = await Promise.all(
      Array.from({ length: 15 }, () =>
        store.append(name, [event(), event()], { expectedRevision: ExpectedRevision.Any }),
      ),
    );
    expect(results.map((r) => r.nextExpectedRevision).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 15 }, (_, i) => 2 * i + 1),
    );
    expect((await store.readStream(name)).map((e) => e.revision)).toEqual(
      Array.from({ length: 30 }, (_, i) => i),
    );
  });
});

describe('idempotent appends', () => {
  it('recognises a retry even where EventStoreDB itself would write the events again', async () => {
    const name = stream();
    const batch = [event('A'), event('B')];
    const first = await store.append(name, batch, { expectedRevision: ExpectedRevision.NoStream });
    // The server would append these again: the expected revision is the stream's current one.
    const retry = await store.append(name, batch, { expectedRevision: 1 });
    expect(retry).toEqual({ ...first, deduplicated: true });
    await store.append(name, [event('C')], { expectedRevision: 1 });
    const underAny = await store.append(name, batch, { expectedRevision: ExpectedRevision.Any });
    expect(underAny).toEqual({ ...first, deduplicated: true });
    expect((await store.readStream(name)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
  });

  it('refuses a partly duplicated batch under any, which the server would write', async () => {
    const name = stream();
    const old = event('Old');
    await store.append(name, [old], { expectedRevision: ExpectedRevision.NoStream });
    // EventStoreDB writes [new, old] under any (it only checks the first id).
    expectEsflowError(
      await errorOf(
        store.append(name, [event('New'), old], { expectedRevision: ExpectedRevision.Any }),
      ),
      ErrorCode.AppendPartiallyDuplicated,
      false,
    );
    expectEsflowError(
      await errorOf(store.append(name, [old, event('New')], { expectedRevision: 0 })),
      ErrorCode.AppendPartiallyDuplicated,
      false,
    );
    expect((await store.readStream(name)).map((e) => e.type)).toEqual(['Old']);
  });

  it('finds a retried batch that reaches beyond the window of ids it compares', async () => {
    const narrow = createEsdbEventStore({
      connectionString: double.connectionString,
      ...quick,
      deduplicationWindow: 4,
    });
    const name = stream();
    const batch = Array.from({ length: 6 }, () => event('Batch'));
    const first = await narrow.append(name, batch, { expectedRevision: ExpectedRevision.NoStream });
    await narrow.append(name, [event('After'), event('After')], { expectedRevision: 5 });
    // The tail read (6 events) holds only the batch's last 4 ids.
    expect(await narrow.append(name, batch, { expectedRevision: ExpectedRevision.Any })).toEqual({
      ...first,
      deduplicated: true,
    });
    expect(await narrow.append(name, batch, { expectedRevision: 7 })).toEqual({
      ...first,
      deduplicated: true,
    });
    for (let i = 0; i < 3; i++)
      await narrow.append(name, [event('Later'), event('Later'), event('Later')], {
        expectedRevision: ExpectedRevision.Any,
      });
    // Far beyond the tail: EventStoreDB recognises a retry of the original expected revision,
    // and the adapter sees that the success ends before the revision it had read.
    expect(
      await narrow.append(name, batch, { expectedRevision: ExpectedRevision.NoStream }),
    ).toEqual({ ...first, deduplicated: true });
    expect(await narrow.readStream(name)).toHaveLength(17);
    await narrow.close();
  });

  describe('after an append in flight was dropped', () => {
    let relay: Awaited<ReturnType<typeof startLossyRelay>>;
    beforeAll(async () => {
      relay = await startLossyRelay(Number(new URL(double.connectionString).port));
    });
    afterAll(async () => relay?.stop());

    const through = (options: Partial<EsdbEventStoreOptions> = {}) =>
      createEsdbEventStore({ connectionString: relay.connectionString, ...quick, ...options });
    const until = async (name: string, length: number) =>
      waitFor(async () => (await store.readStream(name)).length >= length, {
        what: `${length} events in ${name}`,
      });

    it('whose answer was lost: the adapter retries, and the events are written once', async () => {
      const lossy = through();
      const name = stream();
      await lossy.append(name, [event('Before')], { expectedRevision: ExpectedRevision.NoStream });
      const batch = [event('X'), event('Y')];
      relay.loseAnswerOf(batch[0]!.eventId);
      const appending = lossy.append(name, batch, { expectedRevision: 0 });
      await until(name, 3); // the server wrote the batch; its answer is held back
      relay.resetAll();
      const result = await appending;
      // This call's first attempt wrote the events: not a duplicate from the caller's view.
      expect(result).toMatchObject({ nextExpectedRevision: 2, deduplicated: false });
      const stored = await store.readStream(name);
      expect(stored.map((e) => e.type)).toEqual(['Before', 'X', 'Y']);
      expect(result.position).toEqual(stored[2]!.position);
      // The caller repeating the call is told that nothing was written.
      expect(await lossy.append(name, batch, { expectedRevision: 0 })).toEqual({
        ...result,
        deduplicated: true,
      });
      await lossy.close();
    });

    it('that never reached the server: the adapter retries and writes the events', async () => {
      const lossy = through();
      const name = stream();
      await lossy.append(name, [event('Before')], { expectedRevision: ExpectedRevision.NoStream });
      const batch = [event('X'), event('Y')];
      relay.loseRequestOf(batch[1]!.eventId);
      const result = await lossy.append(name, batch, { expectedRevision: 0 });
      expect(result).toMatchObject({ nextExpectedRevision: 2, deduplicated: false });
      expect((await store.readStream(name)).map((e) => e.type)).toEqual(['Before', 'X', 'Y']);
      await lossy.close();
    });

    it('when the adapter gives up, the caller retrying the same append gets the original result', async () => {
      const lossy = through({ maxAttempts: 1 });
      const name = stream();
      await lossy.append(name, [event('Before')], { expectedRevision: ExpectedRevision.NoStream });
      const batch = [event('X')];
      relay.loseAnswerOf(batch[0]!.eventId);
      const appending = errorOf(lossy.append(name, batch, { expectedRevision: 0 }));
      await until(name, 2);
      relay.resetAll();
      expectEsflowError(await appending, ErrorCode.StoreUnavailable, true);
      const retry = await waitFor(
        () =>
          lossy.append(name, batch, { expectedRevision: 0 }).catch((error: unknown) => {
            expectEsflowError(error, ErrorCode.StoreUnavailable, true);
            return undefined;
          }),
        { what: 'a successful retry' },
      );
      expect(retry).toMatchObject({ nextExpectedRevision: 1, deduplicated: true });
      expect((await store.readStream(name)).map((e) => e.type)).toEqual(['Before', 'X']);
      await lossy.close();
    });
  });

  it('keeps every append exactly once while connections keep dropping', async () => {
    // Patient enough to outlast the drops below (they come every 30 ms).
    const patient = createEsdbEventStore({
      connectionString: double.connectionString,
      ...quick,
      maxAttempts: 10,
    });
    const names = Array.from({ length: 8 }, () => stream());
    const batches = new Map(names.map((name) => [name, [] as string[]]));
    const before = double.rpcCallCounts()['ServerFeatures/GetSupportedMethods'] ?? 0;
    const writer = async (name: string) => {
      for (let revision = -1; revision < 24; revision += 2) {
        const batch = [event(), event()];
        const result = await patient.append(name, batch, {
          expectedRevision: revision === -1 ? ExpectedRevision.NoStream : revision,
        });
        expect(result.nextExpectedRevision).toBe(revision + 2);
        batches.get(name)!.push(...batch.map((e) => e.eventId));
      }
    };
    const dropping = (async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        double.dropConnections();
      }
    })();
    await Promise.all([...names.map(writer), dropping]);
    for (const name of names)
      expect((await store.readStream(name)).map((e) => e.eventId)).toEqual(batches.get(name));
    // The client fetched server features again: it did reconnect while appending.
    expect(double.rpcCallCounts()['ServerFeatures/GetSupportedMethods']).toBeGreaterThan(before);
    await patient.close();
  });
});

describe('faults become esflow errors', () => {
  it('an unreachable server: STORE_UNAVAILABLE, retriable, from every call', async () => {
    const nobody = createEsdbEventStore({
      connectionString: `esdb://127.0.0.1:${await freePort()}?tls=false`,
      ...quick,
      maxAttempts: 2,
    });
    const errors = await Promise.all([
      errorOf(nobody.ping()),
      errorOf(nobody.append(stream(), [event()], { expectedRevision: ExpectedRevision.Any })),
      errorOf(nobody.readStream(stream())),
      errorOf(nobody.readAll({ maxCount: 1 })),
    ]);
    for (const error of errors)
      expect(expectEsflowError(error, ErrorCode.StoreUnavailable, true).message).toMatch(
        /^EventStoreDB \w+ failed: /,
      );
    await nobody.close();
  });

  it('an append over the server’s maximum size: PAYLOAD_TOO_LARGE', async () => {
    const small = await startEsdbWireDouble({ maxAppendSize: 1024 });
    const own = createEsdbEventStore({ connectionString: small.connectionString, ...quick });
    const big = { ...event(), data: new Uint8Array(4096) };
    expectEsflowError(
      await errorOf(own.append(stream(), [big], { expectedRevision: ExpectedRevision.Any })),
      ErrorCode.PayloadTooLarge,
      false,
    );
    await own.close();
    await small.stop();
  });

  it('a malformed connection string: INVALID_CONFIGURATION', () => {
    expect(() => createEsdbEventStore({ connectionString: 'esdb://' })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidConfiguration }),
    );
  });
});

describe('what is stored', () => {
  it('binary data with JSON metadata, type and id as given; positions and times as read', async () => {
    const name = stream();
    const written = event('Stored', { nested: { a: [1, 2] } });
    const result = await store.append(name, [written], {
      expectedRevision: ExpectedRevision.NoStream,
    });
    const client = EventStoreDBClient.connectionString(double.connectionString);
    try {
      const raw = [];
      for await (const resolved of client.readStream(name)) raw.push(resolved.event!);
      expect(raw).toHaveLength(1);
      expect(raw[0]).toMatchObject({
        id: written.eventId,
        type: 'Stored',
        isJson: false,
        metadata: { note: 'adapter', nested: { a: [1, 2] } },
      });
      expect(Array.from(raw[0]!.data as Uint8Array)).toEqual([0, 1, 2, 255]);
      const [recorded] = await store.readStream(name);
      expect(recorded).toMatchObject({
        streamName: name,
        revision: 0,
        position: result.position,
        recordedAt: raw[0]!.created,
      });
    } finally {
      await client.dispose();
    }
  });

  it('pages $all with small pages, forwards and backwards, leaving system events out', async () => {
    // A double of its own: small pages over a short log.
    const own = await startEsdbWireDouble();
    const paged = createEsdbEventStore({
      connectionString: own.connectionString,
      ...quick,
      readPageSize: 3,
    });
    const category = uniqueCategory();
    const filter = { streamNamePrefixes: [`${category}-`] };
    for (let i = 0; i < 7; i++) {
      await paged.append(`${category}-${i % 2}`, [event(`E${i}`), event('$system')], {
        expectedRevision: ExpectedRevision.Any,
      });
      await paged.append(`${uniqueCategory()}-noise`, [event('Noise')], {
        expectedRevision: ExpectedRevision.Any,
      });
    }
    const all = await paged.readAll({ filter });
    expect(all.map((e) => e.type)).toEqual(['E0', 'E1', 'E2', 'E3', 'E4', 'E5', 'E6']);
    expect(
      (await paged.readAll({ filter, after: all[1]!.position, maxCount: 4 })).map((e) => e.type),
    ).toEqual(['E2', 'E3', 'E4', 'E5']);
    expect(
      (await paged.readAll({ filter, direction: 'backwards', after: all[5]!.position })).map(
        (e) => e.type,
      ),
    ).toEqual(['E4', 'E3', 'E2', 'E1', 'E0']);
    expect(
      (await paged.readAll({ filter, after: START_POSITION, maxCount: 1 })).map((e) => e.type),
    ).toEqual(['E0']);
    expect(await paged.readAll({ direction: 'backwards', after: START_POSITION })).toEqual([]);
    const latest = await paged.readAll({ direction: 'backwards', maxCount: 2 });
    expect(latest.map((e) => e.type)).toEqual(['Noise', 'E6']);
    expect(await paged.readAll()).toHaveLength(14);
    await paged.close();
    await own.stop();
  });
});
