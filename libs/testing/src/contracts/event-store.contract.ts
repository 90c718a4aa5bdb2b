import { randomUUID } from 'node:crypto';
import {
  ErrorCode,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  RecordedEvent,
  EsflowErrorLike,
  hasErrorCode,
  comparePositions,
} from '@esflow/core';
import { uniqueCategory } from '../support/unique';
import { waitFor } from '../support/wait-for';
import { ContractTestApi } from './test-api';

/**
 * What a factory gives {@link describeEventStoreContract}: the store to test and how to dispose of
 * it. The suite creates one before its tests and disposes of it after them; the tests use fresh
 * names, so the store need not be empty.
 */
export interface EventStoreUnderTest {
  readonly store: EventStore;
  dispose(): Promise<void>;
}

/**
 * The optional capabilities of the `EventStore` port an adapter has. One it lacks is declared
 * (and the suite checks that it is really absent), never silently skipped.
 */
export interface EventStoreCapabilities {
  /** `countEvents`: an exact count without reading the events. */
  readonly countEvents: boolean;
  /** `findEvent`: where an event is stored, looked up by its id. */
  readonly findEvent: boolean;
  /** `readStreamStarts`: each stream's first event, without reading the rest of the log. */
  readonly readStreamStarts: boolean;
}

/**
 * The one behaviour every event-store adapter must have. Each adapter's spec calls this with a
 * factory; a capability an adapter lacks must be declared here as an option, never skipped.
 */
export function describeEventStoreContract(
  adapter: string,
  create: () => Promise<EventStoreUnderTest>,
  api: ContractTestApi,
  capabilities: EventStoreCapabilities = {
    countEvents: true,
    findEvent: true,
    readStreamStarts: true,
  },
): void {
  const { afterAll, beforeAll, describe, expect, it } = api;
  describe(`event store contract: ${adapter}`, () => {
    let subject: EventStoreUnderTest;
    let store: EventStore;
    beforeAll(async () => {
      subject = await create();
      store = subject.store;
    });
    afterAll(async () => subject.dispose());

    const event = (type = 'Happened', fields: Record<string, unknown> = {}): EventToAppend => ({
      eventId: randomUUID(),
      type,
      data: new Uint8Array([0, 1, 2, 255]),
      metadata: { note: 'contract', ...fields },
    });
    const stream = () => `${uniqueCategory()}-${randomUUID()}`;
    const conflictOf = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      // Recognised by its code: an adapter built on another copy of @esflow/core passes too.
      expect(hasErrorCode(error, ErrorCode.RevisionConflict), String(error)).toBe(true);
      const { code, retriable, details } = error as EsflowErrorLike;
      return { code, retriable, actual: details?.['actual'] };
    };

    describe('expected revision', () => {
      it('no_stream creates a stream at revision 0 and refuses an existing one', async () => {
        const name = stream();
        const first = await store.append(name, [event()], {
          expectedRevision: ExpectedRevision.NoStream,
        });
        expect(first).toMatchObject({ nextExpectedRevision: 0, deduplicated: false });
        const conflict = await conflictOf(
          store.append(name, [event()], { expectedRevision: ExpectedRevision.NoStream }),
        );
        expect(conflict.code).toBe(ErrorCode.RevisionConflict);
        expect(conflict.actual).toBe(0);
        expect(await store.readStream(name)).toHaveLength(1);
      });

      it('stream_exists refuses a missing stream and accepts an existing one', async () => {
        const name = stream();
        const conflict = await conflictOf(
          store.append(name, [event()], { expectedRevision: ExpectedRevision.StreamExists }),
        );
        expect(conflict.actual).toBe('no_stream');
        await store.append(name, [event()], { expectedRevision: ExpectedRevision.Any });
        const second = await store.append(name, [event()], {
          expectedRevision: ExpectedRevision.StreamExists,
        });
        expect(second.nextExpectedRevision).toBe(1);
      });

      it('an exact revision must match the last event', async () => {
        const name = stream();
        await store.append(name, [event(), event()], {
          expectedRevision: ExpectedRevision.NoStream,
        });
        await conflictOf(store.append(name, [event()], { expectedRevision: 0 }));
        await conflictOf(store.append(name, [event()], { expectedRevision: 2 }));
        const ok = await store.append(name, [event()], { expectedRevision: 1 });
        expect(ok.nextExpectedRevision).toBe(2);
        expect((await store.readStream(name)).map((e) => e.revision)).toEqual([0, 1, 2]);
      });

      it('any appends whatever the revision', async () => {
        const name = stream();
        await store.append(name, [event()], { expectedRevision: ExpectedRevision.Any });
        const result = await store.append(name, [event()], {
          expectedRevision: ExpectedRevision.Any,
        });
        expect(result.nextExpectedRevision).toBe(1);
      });
    });

    describe('reading a stream', () => {
      it('returns events with data, metadata and type intact, forwards and backwards', async () => {
        const name = stream();
        const written = [event('A', { n: 0 }), event('B', { n: 1 }), event('C', { n: 2 })];
        await store.append(name, written, { expectedRevision: ExpectedRevision.NoStream });
        const forwards = await store.readStream(name);
        expect(forwards.map((e) => [e.type, e.eventId, e.revision, e.metadata['n']])).toEqual(
          written.map((e, i) => [e.type, e.eventId, i, i]),
        );
        expect(Array.from(forwards[0]!.data)).toEqual([0, 1, 2, 255]);
        expect(forwards[0]!.streamName).toBe(name);
        expect(forwards[0]!.recordedAt).toBeInstanceOf(Date);
        const backwards = await store.readStream(name, { direction: 'backwards', maxCount: 2 });
        expect(backwards.map((e) => e.revision)).toEqual([2, 1]);
        const middle = await store.readStream(name, { fromRevision: 1, maxCount: 1 });
        expect(middle.map((e) => e.type)).toEqual(['B']);
      });

      it('reads a missing stream as empty', async () => {
        expect(await store.readStream(stream())).toEqual([]);
      });
    });

    describe('idempotent retries', () => {
      it('re-appending the same event ids writes nothing and returns the first result', async () => {
        const name = stream();
        const batch = [event(), event()];
        const first = await store.append(name, batch, {
          expectedRevision: ExpectedRevision.NoStream,
        });
        const retry = await store.append(name, batch, {
          expectedRevision: ExpectedRevision.NoStream,
        });
        expect(retry).toEqual({ ...first, deduplicated: true });
        const retryAny = await store.append(name, batch, {
          expectedRevision: ExpectedRevision.Any,
        });
        expect(retryAny.nextExpectedRevision).toBe(1);
        expect(await store.readStream(name)).toHaveLength(2);
      });

      it('rejects a batch of which only some ids were written', async () => {
        const name = stream();
        const written = event();
        await store.append(name, [written], { expectedRevision: ExpectedRevision.NoStream });
        const error = await store
          .append(name, [written, event()], { expectedRevision: 0 })
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: ErrorCode.AppendPartiallyDuplicated });
        expect(await store.readStream(name)).toHaveLength(1);
      });
    });

    describe('racing writers', () => {
      it('exactly one of 20 appends expecting the same revision wins', async () => {
        const name = stream();
        await store.append(name, [event()], { expectedRevision: ExpectedRevision.NoStream });
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.append(name, [event()], { expectedRevision: 0 })),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const rejected = outcomes.filter(
          (o): o is PromiseRejectedResult => o.status === 'rejected',
        );
        expect(rejected.every((o) => hasErrorCode(o.reason, ErrorCode.RevisionConflict))).toBe(
          true,
        );
        expect(await store.readStream(name)).toHaveLength(2);
      });

      it('writers that reload and retry leave contiguous revisions with no lost event', async () => {
        const name = stream();
        const writers = 25;
        const perWriter = 4;
        const writeOne = async (): Promise<void> => {
          for (;;) {
            const last = await store.readStream(name, { direction: 'backwards', maxCount: 1 });
            const expected = last[0]?.revision ?? ExpectedRevision.NoStream;
            try {
              await store.append(name, [event()], { expectedRevision: expected });
              return;
            } catch (error) {
              if (!hasErrorCode(error, ErrorCode.RevisionConflict)) throw error;
            }
          }
        };
        await Promise.all(
          Array.from({ length: writers }, async () => {
            for (let i = 0; i < perWriter; i++) await writeOne();
          }),
        );
        const events = await store.readStream(name);
        expect(events.map((e) => e.revision)).toEqual(
          Array.from({ length: writers * perWriter }, (_, i) => i),
        );
        expect(new Set(events.map((e) => e.eventId)).size).toBe(writers * perWriter);
      });
    });

    describe('counting (the optional countEvents capability)', () => {
      it(
        capabilities.countEvents
          ? 'counts exactly what readAll would return, after a position and through a filter'
          : 'declares that it cannot count without reading',
        async () => {
          if (!capabilities.countEvents) {
            expect(store.countEvents).toBeUndefined();
            return;
          }
          const category = uniqueCategory();
          const filter = { streamNamePrefixes: [`${category}-`] };
          await store.append(`${category}-a`, [event('One'), event('Two')], {
            expectedRevision: ExpectedRevision.NoStream,
          });
          await store.append(`${category}-b`, [event('Two')], {
            expectedRevision: ExpectedRevision.NoStream,
          });
          const all = await store.readAll({ filter });
          expect(await store.countEvents!({ filter })).toBe(3);
          expect(await store.countEvents!({ filter, after: all[0]!.position })).toBe(2);
          expect(await store.countEvents!({ filter: { ...filter, eventTypes: ['Two'] } })).toBe(2);
          expect(await store.countEvents!({ filter, after: all[2]!.position })).toBe(0);
          expect(await store.countEvents!({})).toBeGreaterThanOrEqual(3);
        },
      );
    });

    describe('reading stream starts (the optional readStreamStarts capability)', () => {
      it(
        capabilities.readStreamStarts
          ? "reads each stream's first event in commit order, paged by position, and nothing else"
          : 'declares that it cannot read stream starts alone',
        async () => {
          if (!capabilities.readStreamStarts) {
            expect(store.readStreamStarts).toBeUndefined();
            return;
          }
          const category = uniqueCategory();
          const before = (await store.readAll({ direction: 'backwards', maxCount: 1 }))[0];
          await store.append(`${category}-a`, [event('One'), event('Two')], {
            expectedRevision: ExpectedRevision.NoStream,
          });
          await store.append(`${category}-a`, [event('Three')], { expectedRevision: 1 });
          await store.append(`${category}-b`, [event('Four')], {
            expectedRevision: ExpectedRevision.NoStream,
          });
          const after = before ? { after: before.position } : {};
          const starts = await store.readStreamStarts!({ ...after, maxCount: 10 });
          expect(starts.map((e) => [e.streamName, e.revision, e.type])).toEqual([
            [`${category}-a`, 0, 'One'],
            [`${category}-b`, 0, 'Four'],
          ]);
          const [first] = await store.readStreamStarts!({ ...after, maxCount: 1 });
          expect(first!.streamName).toBe(`${category}-a`);
          expect(
            (await store.readStreamStarts!({ after: first!.position, maxCount: 10 })).map(
              (e) => e.streamName,
            ),
          ).toEqual([`${category}-b`]);
        },
      );
    });

    describe('finding an event by id (the optional findEvent capability)', () => {
      it(
        capabilities.findEvent
          ? 'says where an event id is stored (stream, revision, position), and nothing for an unknown id'
          : 'declares that it cannot look events up by id',
        async () => {
          if (!capabilities.findEvent) {
            expect(store.findEvent).toBeUndefined();
            return;
          }
          const streamName = `${uniqueCategory()}-found`;
          const second = event('Two');
          await store.append(streamName, [event('One'), second], {
            expectedRevision: ExpectedRevision.NoStream,
          });
          const [, stored] = await store.readStream(streamName);
          expect(await store.findEvent!(second.eventId)).toEqual({
            streamName,
            revision: 1,
            position: stored!.position,
          });
          expect(await store.findEvent!(randomUUID())).toBeUndefined();
        },
      );
    });

    describe('the global log', () => {
      it('orders events of all streams by commit, pages with an exclusive position, filters', async () => {
        const category = uniqueCategory();
        const a = `${category}-a`;
        const b = `${category}-b`;
        await store.append(a, [event('One')], { expectedRevision: ExpectedRevision.NoStream });
        await store.append(b, [event('Two')], { expectedRevision: ExpectedRevision.NoStream });
        await store.append(a, [event('Three'), event('Four')], { expectedRevision: 0 });
        await store.append(`${uniqueCategory()}-other`, [event('One')], {
          expectedRevision: ExpectedRevision.NoStream,
        });
        const filter = { streamNamePrefixes: [`${category}-`] };
        const all = await store.readAll({ filter });
        expect(all.map((e) => e.type)).toEqual(['One', 'Two', 'Three', 'Four']);
        for (let i = 1; i < all.length; i++)
          expect(comparePositions(all[i - 1]!.position, all[i]!.position)).toBe(-1);
        const page = await store.readAll({ filter, after: all[1]!.position, maxCount: 1 });
        expect(page.map((e) => e.type)).toEqual(['Three']);
        const backwards = await store.readAll({
          filter,
          direction: 'backwards',
          after: all[2]!.position,
        });
        expect(backwards.map((e) => e.type)).toEqual(['Two', 'One']);
        const byType = await store.readAll({ filter: { ...filter, eventTypes: ['Two', 'Four'] } });
        expect(byType.map((e) => e.streamName)).toEqual([b, a]);
      });
    });

    describe('subscriptions', () => {
      it('yields every event exactly once across catch-up and live, in order', async () => {
        const category = uniqueCategory();
        const filter = { streamNamePrefixes: [`${category}-`] };
        const written: string[] = [];
        const write = async (streamName: string, count: number) => {
          const batch = Array.from({ length: count }, () => event());
          await store.append(streamName, batch, { expectedRevision: ExpectedRevision.Any });
          written.push(...batch.map((e) => e.eventId));
        };
        await write(`${category}-1`, 3);
        await write(`${category}-2`, 2);
        const subscription = store.subscribeToAll({ filter });
        const seen: RecordedEvent[] = [];
        const consuming = (async () => {
          for await (const recorded of subscription) seen.push(recorded);
        })();
        await waitFor(() => seen.length >= 5, { what: 'catch-up' });
        // Live: writes racing the subscriber, in several appends and streams.
        await Promise.all([
          write(`${category}-1`, 2),
          write(`${category}-3`, 4),
          write(`${category}-2`, 1),
        ]);
        await write(`${category}-4`, 1);
        await waitFor(() => seen.length >= written.length, { what: 'live events' });
        await subscription.close();
        await consuming;
        expect(seen.map((e) => e.eventId).sort()).toEqual([...written].sort());
        expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length);
        for (let i = 1; i < seen.length; i++)
          expect(comparePositions(seen[i - 1]!.position, seen[i]!.position)).toBe(-1);
      });

      it('resumes strictly after a checkpoint', async () => {
        const category = uniqueCategory();
        const filter = { streamNamePrefixes: [`${category}-`] };
        await store.append(`${category}-x`, [event('A'), event('B'), event('C')], {
          expectedRevision: ExpectedRevision.NoStream,
        });
        const [, second] = await store.readAll({ filter });
        const subscription = store.subscribeToAll({ filter, after: second!.position });
        const seen: string[] = [];
        for await (const recorded of subscription) {
          seen.push(recorded.type);
          if (seen.length === 1) await subscription.close();
        }
        expect(seen).toEqual(['C']);
      });
    });

    it('answers a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
