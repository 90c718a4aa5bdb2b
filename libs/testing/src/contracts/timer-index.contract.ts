import {
  ErrorCode,
  hasErrorCode,
  TimerChange,
  TimerIndex,
  TimerQuery,
  TimerRecord,
  TimerSettledBy,
  TimerStatus,
} from '@esflow/core';
import { allPages, itOnAFresh, position } from './contract-support';
import { ContractTestApi } from './test-api';

/** A second index on the storage of a {@link TimerIndexUnderTest}, closed by the suite. */
export interface ReopenedTimerIndex {
  readonly index: TimerIndex;
  close(): Promise<void>;
}

/**
 * What a factory gives {@link describeTimerIndexContract}: an empty timer index, how to dispose
 * of it, and, for a durable adapter, how to open a second index on the same storage (the same
 * file, the same schema), as another process or a restart would.
 */
export interface TimerIndexUnderTest {
  readonly index: TimerIndex;
  dispose(): Promise<void>;
  reopen?(): Promise<ReopenedTimerIndex>;
}

/**
 * What a timer index adapter keeps beyond its own object. One it lacks is declared, and the suite
 * checks that it is really absent.
 */
export interface TimerIndexCapabilities {
  /** Timers outlive the index object: the factory gives `reopen`. */
  readonly durable: boolean;
}

type SettledChange = Extract<TimerChange, { kind: 'settled' }>;

const NO_COUNTS = { pending: 0, fired: 0, cancelled: 0, superseded: 0 };
const FAR_FUTURE = new Date('2100-01-01T00:00:00.000Z');

const pending = (
  timerId: string,
  dueAt: string,
  fields: Partial<TimerRecord> = {},
): TimerRecord => ({
  timerId,
  workflow: 'orderFulfillment',
  instanceId: 'o-1',
  eventType: 'xstate.after.30000.orderFulfillment.awaitingPayment',
  dueAt,
  scheduledAt: '2030-01-01T09:00:00.000Z',
  scheduledRevision: 3,
  status: TimerStatus.Pending,
  settledAt: null,
  settledRevision: null,
  latenessMs: null,
  settledBy: null,
  ...fields,
});
const scheduled = (timer: TimerRecord): TimerChange => ({ kind: 'scheduled', timer });
const fired = (timerId: string, latenessMs = 0, settledRevision = 4): SettledChange => ({
  kind: 'settled',
  timerId,
  status: TimerStatus.Fired,
  settledAt: '2030-01-01T10:00:00.020Z',
  settledRevision,
  latenessMs,
  settledBy: null,
});
const movedOn = (
  timerId: string,
  status: typeof TimerStatus.Cancelled | typeof TimerStatus.Superseded,
  settledBy: TimerSettledBy,
): SettledChange => ({
  kind: 'settled',
  timerId,
  status,
  settledAt: '2030-01-01T09:30:00.000Z',
  settledRevision: settledBy.revision,
  latenessMs: null,
  settledBy,
});
const by = (eventType: string, revision: number): TimerSettledBy => ({
  eventId: `00000000-0000-4000-8000-${String(revision).padStart(12, '0')}`,
  eventType,
  revision,
});
/** The record a settle makes of a pending timer. */
const settled = (timer: TimerRecord, change: SettledChange): TimerRecord => ({
  ...timer,
  status: change.status,
  settledAt: change.settledAt,
  settledRevision: change.settledRevision,
  latenessMs: change.latenessMs,
  settledBy: change.settledBy,
});
const idsOf = (timers: readonly TimerRecord[]) => timers.map((timer) => timer.timerId);

/**
 * The one behaviour every timer index adapter must have: `apply` is atomic with its checkpoint
 * and ignores repeated and late changes; `due`, `nextDueAt` and `list` order timers by due
 * instant, then by timer id in UTF-8 byte order; `list` filters and pages without gaps or
 * repeats across ties; records (nulls, zeros and settled-by events) read back exactly; `clear`
 * empties the index; and, for a durable adapter, a second index on the same storage sees what
 * the first applied. Each test runs on a fresh index from `create`, as `due`, `nextDueAt` and
 * `counts` see every timer. A capability the adapter lacks is declared in `capabilities`.
 */
export function describeTimerIndexContract(
  adapter: string,
  create: () => Promise<TimerIndexUnderTest>,
  api: ContractTestApi,
  capabilities: TimerIndexCapabilities = { durable: true },
): void {
  const { describe, expect, it } = api;

  const itOnAFreshIndex = itOnAFresh(it, create, (subject) => subject.index);

  describe(`timer index contract: ${adapter}`, () => {
    describe('apply', () => {
      itOnAFreshIndex(
        'starts empty: no checkpoint, nothing due or pending, every count zero',
        async (index) => {
          expect(await index.checkpoint()).toBeUndefined();
          expect(await index.due(FAR_FUTURE, 10)).toEqual([]);
          expect(await index.nextDueAt()).toBeUndefined();
          expect(await index.list({ limit: 10 })).toStrictEqual({ timers: [] });
          expect(await index.counts()).toStrictEqual(NO_COUNTS);
        },
      );

      itOnAFreshIndex(
        'records the changes and the checkpoint together, a timer read back as written',
        async (index) => {
          const timer = pending('t-1', '2030-01-01T10:00:00.000Z');
          await index.apply([scheduled(timer)], position(7n, 5n));
          expect(await index.get('t-1')).toStrictEqual(timer);
          expect(await index.checkpoint()).toStrictEqual(position(7n, 5n));
          expect(await index.get('t-2')).toBeUndefined();
        },
      );

      itOnAFreshIndex(
        'keeps none of the changes of a rejected apply, nor its checkpoint, and goes on working',
        async (index) => {
          const a = pending('a', '2030-01-01T10:00:00.000Z');
          await index.apply([scheduled(a)], position(1n));
          const rejected = index.apply(
            [
              scheduled(pending('b', '2030-01-01T10:00:01.000Z')),
              fired('a'),
              scheduled(pending('c', 'not a date')),
            ],
            position(2n),
          );
          await expect(rejected).rejects.toThrow();
          expect(await index.get('b')).toBeUndefined();
          expect(await index.get('c')).toBeUndefined();
          expect(await index.get('a')).toStrictEqual(a);
          expect(await index.checkpoint()).toStrictEqual(position(1n));
          await index.apply([fired('a')], position(3n));
          expect((await index.get('a'))?.status).toBe(TimerStatus.Fired);
          expect(await index.checkpoint()).toStrictEqual(position(3n));
        },
      );

      itOnAFreshIndex(
        'records the checkpoint of the latest apply, one without changes and beyond 2^53 included',
        async (index) => {
          await index.apply([], position(5n, 3n));
          expect(await index.checkpoint()).toStrictEqual(position(5n, 3n));
          const far = position(2n ** 62n + 1n, 2n ** 62n);
          await index.apply([], far);
          expect(await index.checkpoint()).toStrictEqual(far);
        },
      );

      itOnAFreshIndex(
        'ignores a scheduled change for a timer already indexed, pending or settled',
        async (index) => {
          const a = pending('a', '2030-01-01T10:00:00.000Z');
          const b = pending('b', '2030-01-01T10:00:00.000Z');
          await index.apply([scheduled(a), scheduled(b)], position(1n));
          await index.apply([fired('b')], position(2n));
          await index.apply(
            [
              scheduled(pending('a', '2030-01-01T11:00:00.000Z', { scheduledRevision: 9 })),
              scheduled(pending('b', '2030-01-01T11:00:00.000Z')),
            ],
            position(3n),
          );
          expect(await index.get('a')).toStrictEqual(a);
          expect(await index.get('b')).toStrictEqual(settled(b, fired('b')));
          expect(await index.counts()).toStrictEqual({ ...NO_COUNTS, pending: 1, fired: 1 });
          expect(await index.checkpoint()).toStrictEqual(position(3n));
        },
      );

      itOnAFreshIndex(
        'settles a pending timer once, and leaves a settled or unknown timer as it is',
        async (index) => {
          const a = pending('a', '2030-01-01T10:00:00.000Z');
          await index.apply([scheduled(a)], position(1n));
          await index.apply([fired('a', 12, 5)], position(2n));
          await index.apply(
            [
              movedOn('a', TimerStatus.Cancelled, by('PaymentReceived', 6)),
              fired('unknown'),
              movedOn('unknown-too', TimerStatus.Superseded, by('OrderShipped', 2)),
            ],
            position(3n),
          );
          expect(await index.get('a')).toStrictEqual(settled(a, fired('a', 12, 5)));
          expect(await index.get('unknown')).toBeUndefined();
          expect(await index.get('unknown-too')).toBeUndefined();
          expect(await index.counts()).toStrictEqual({ ...NO_COUNTS, fired: 1 });
        },
      );

      itOnAFreshIndex('applies the changes of one batch in their order', async (index) => {
        const w = pending('w', '2030-01-01T10:00:00.000Z');
        await index.apply([scheduled(w)], position(1n));
        const u = pending('u', '2030-01-01T10:00:01.000Z');
        const v = pending('v', '2030-01-01T10:00:02.000Z');
        const cancelV = movedOn('v', TimerStatus.Cancelled, by('PaymentReceived', 4));
        const supersedeW = movedOn('w', TimerStatus.Superseded, by('OrderShipped', 5));
        await index.apply(
          [
            fired('u'), // not known yet: ignored
            scheduled(u),
            scheduled(v),
            cancelV,
            movedOn('v', TimerStatus.Superseded, by('OrderShipped', 6)), // already settled
            scheduled(pending('v', '2030-01-01T12:00:00.000Z')), // already indexed
            supersedeW,
            scheduled(pending('w', '2030-01-01T12:00:00.000Z')), // already indexed
          ],
          position(2n),
        );
        expect(await index.get('u')).toStrictEqual(u);
        expect(await index.get('v')).toStrictEqual(settled(v, cancelV));
        expect(await index.get('w')).toStrictEqual(settled(w, supersedeW));
      });

      itOnAFreshIndex(
        'reads lateness, settledBy and settledRevision back exactly: nulls, zeros and values',
        async (index) => {
          const timers = {
            waiting: pending('r-waiting', '2030-01-01T10:00:00.000Z'),
            onTime: pending('r-on-time', '2030-01-01T10:00:01.000Z', { scheduledRevision: 0 }),
            late: pending('r-late', '2030-01-01T10:00:02.000Z'),
            cancelled: pending('r-cancelled', '2030-01-01T10:00:03.000Z'),
            superseded: pending('r-superseded', '2030-01-01T10:00:04.000Z'),
          };
          const changes = {
            onTime: fired('r-on-time', 0, 1),
            late: fired('r-late', 86_400_000, 12),
            cancelled: movedOn('r-cancelled', TimerStatus.Cancelled, by('PaymentReceived', 0)),
            superseded: movedOn('r-superseded', TimerStatus.Superseded, by('OrderShipped', 7)),
          };
          await index.apply(Object.values(timers).map(scheduled), position(1n));
          await index.apply(Object.values(changes), position(2n));
          const expected = [
            timers.waiting,
            settled(timers.onTime, changes.onTime),
            settled(timers.late, changes.late),
            settled(timers.cancelled, changes.cancelled),
            settled(timers.superseded, changes.superseded),
          ];
          for (const record of expected)
            expect(await index.get(record.timerId)).toStrictEqual(record);
          expect((await index.list({ limit: 10 })).timers).toStrictEqual(expected);
          expect(await index.due(FAR_FUTURE, 10)).toStrictEqual([timers.waiting]);
        },
      );
    });

    describe('due and nextDueAt', () => {
      itOnAFreshIndex(
        'due: the pending timers due at or before `at`, earliest instant first, ties by id, at most `limit`',
        async (index) => {
          const timers = [
            pending('d-late', '2030-01-01T10:00:00.500Z'),
            // Without milliseconds: earlier than d-late, though it sorts after it as text.
            pending('d-on-time', '2030-01-01T10:00:00Z'),
            pending('d-offset', '2030-01-01T11:00:00.250+01:00'), // 10:00:00.250Z
            pending('d-tie-b', '2030-01-01T10:00:01.000Z'),
            pending('d-tie-a', '2030-01-01T10:00:01.000Z'),
            pending('d-early', '2030-01-01T09:59:59.999Z'),
            pending('d-fired', '2030-01-01T09:00:00.000Z'),
            pending('d-after', '2030-01-01T10:00:01.001Z'),
          ];
          await index.apply([...timers.map(scheduled), fired('d-fired')], position(1n));
          const at = new Date('2030-01-01T10:00:01.000Z');
          const due = await index.due(at, 10);
          expect(idsOf(due)).toEqual([
            'd-early',
            'd-on-time',
            'd-offset',
            'd-late',
            'd-tie-a',
            'd-tie-b',
          ]);
          expect(due[0]).toStrictEqual(timers.find((t) => t.timerId === 'd-early'));
          expect(idsOf(await index.due(at, 2))).toEqual(['d-early', 'd-on-time']);
          expect(await index.due(at, 0)).toEqual([]);
          expect(await index.due(new Date('2030-01-01T09:59:59.998Z'), 10)).toEqual([]);
        },
      );

      itOnAFreshIndex(
        'nextDueAt: the earliest due instant of a pending timer, moving on as timers settle',
        async (index) => {
          await index.apply(
            [
              scheduled(pending('n-a', '2030-01-01T10:00:05.000Z')),
              scheduled(pending('n-b', '2030-01-01T10:00:03Z')),
              scheduled(pending('n-fired', '2030-01-01T10:00:01.000Z')),
              fired('n-fired'),
            ],
            position(1n),
          );
          expect(await index.nextDueAt()).toEqual(new Date('2030-01-01T10:00:03.000Z'));
          await index.apply([fired('n-b')], position(2n));
          expect(await index.nextDueAt()).toEqual(new Date('2030-01-01T10:00:05.000Z'));
          await index.apply(
            [movedOn('n-a', TimerStatus.Cancelled, by('PaymentReceived', 4))],
            position(3n),
          );
          expect(await index.nextDueAt()).toBeUndefined();
        },
      );
    });

    describe('list and counts', () => {
      itOnAFreshIndex(
        'list: each filter narrows the result (dueBefore strictly), and they combine',
        async (index) => {
          await index.apply(
            [
              scheduled(pending('l-1', '2030-01-01T10:00:01.000Z')),
              scheduled(pending('l-2', '2030-01-01T10:00:02.000Z', { instanceId: 'o-2' })),
              scheduled(pending('l-3', '2030-01-01T10:00:03.000Z', { workflow: 'kycOnboarding' })),
              scheduled(pending('l-4', '2030-01-01T10:00:00.000Z')),
              scheduled(
                pending('l-5', '2030-01-01T10:00:04.000Z', {
                  workflow: 'kycOnboarding',
                  instanceId: 'k-1',
                }),
              ),
              fired('l-4'),
              movedOn('l-5', TimerStatus.Cancelled, by('DocumentsVerified', 2)),
            ],
            position(1n),
          );
          const listed = async (query: Omit<TimerQuery, 'limit'>) =>
            idsOf((await index.list({ ...query, limit: 10 })).timers);
          expect(await listed({})).toEqual(['l-4', 'l-1', 'l-2', 'l-3', 'l-5']);
          expect(await listed({ status: TimerStatus.Pending })).toEqual(['l-1', 'l-2', 'l-3']);
          expect(await listed({ status: TimerStatus.Fired })).toEqual(['l-4']);
          expect(await listed({ status: TimerStatus.Superseded })).toEqual([]);
          expect(await listed({ dueBefore: new Date('2030-01-01T10:00:02.000Z') })).toEqual([
            'l-4',
            'l-1',
          ]);
          expect(await listed({ workflow: 'kycOnboarding' })).toEqual(['l-3', 'l-5']);
          expect(await listed({ instanceId: 'o-1' })).toEqual(['l-4', 'l-1', 'l-3']);
          expect(
            await listed({
              workflow: 'orderFulfillment',
              instanceId: 'o-1',
              status: TimerStatus.Pending,
            }),
          ).toEqual(['l-1']);
        },
      );

      itOnAFreshIndex(
        'list: pages by due instant then id in UTF-8 byte order, across ties, with no next on the last page',
        async (index) => {
          const tie = '2030-01-01T10:00:01.000Z';
          // Byte order: 'B' < 'a' < 'b' < U+FFFD < U+1F600 (UTF-16 puts U+1F600 before U+FFFD).
          const inOrder = [
            pending('p-early', '2030-01-01T10:00:00.000Z'),
            pending('tie-B', tie),
            pending('tie-a', tie),
            pending('tie-b', tie),
            pending('tie-\uFFFD', tie),
            pending('tie-\u{1F600}', tie),
            pending('p-late', '2030-01-01T10:00:02.000Z'),
          ];
          const scrambled = [3, 6, 0, 5, 1, 4, 2].map((i) => inOrder[i]!);
          await index.apply(scrambled.map(scheduled), position(1n));

          expect(await index.list({ limit: 100 })).toStrictEqual({ timers: inOrder });
          const pagesOfTwo = await allPages(index, { limit: 2 });
          expect(pagesOfTwo.map((page) => page.timers.length)).toEqual([2, 2, 2, 1]);
          expect(pagesOfTwo.flatMap((page) => page.timers)).toStrictEqual(inOrder);
          expect(pagesOfTwo.map((page) => 'next' in page)).toEqual([true, true, true, false]);
          // A last page that is exactly full has no next either.
          expect(await allPages(index, { limit: 7 })).toStrictEqual([{ timers: inOrder }]);
          const pagesOfSix = await allPages(index, { limit: 6 });
          expect(pagesOfSix.map((page) => page.timers.length)).toEqual([6, 1]);

          await index.apply([fired('tie-a')], position(2n));
          const pendingPages = await allPages(index, { status: TimerStatus.Pending, limit: 2 });
          expect(idsOf(pendingPages.flatMap((page) => page.timers))).toEqual(
            idsOf(inOrder).filter((id) => id !== 'tie-a'),
          );
        },
      );

      itOnAFreshIndex(
        'list: rejects an `after` that is not a `next` it gave, as MALFORMED_REQUEST',
        async (index) => {
          const error = await index.list({ after: 'not a cursor', limit: 10 }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(hasErrorCode(error, ErrorCode.MalformedRequest), String(error)).toBe(true);
        },
      );

      itOnAFreshIndex('counts the timers in each status, zeros included', async (index) => {
        await index.apply(
          ['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6'].map((id) =>
            scheduled(pending(id, '2030-01-01T10:00:00.000Z')),
          ),
          position(1n),
        );
        await index.apply(
          [fired('c-1'), fired('c-2'), movedOn('c-3', TimerStatus.Cancelled, by('Paid', 4))],
          position(2n),
        );
        expect(await index.counts()).toStrictEqual({
          pending: 3,
          fired: 2,
          cancelled: 1,
          superseded: 0,
        });
        await index.apply([movedOn('c-4', TimerStatus.Superseded, by('Shipped', 5))], position(3n));
        expect(await index.counts()).toStrictEqual({
          pending: 2,
          fired: 2,
          cancelled: 1,
          superseded: 1,
        });
      });
    });

    describe('clear and storage', () => {
      itOnAFreshIndex(
        'clear removes every timer and the checkpoint, and the index fills again after it',
        async (index) => {
          const a = pending('a', '2030-01-01T10:00:00.000Z');
          await index.apply(
            [scheduled(a), scheduled(pending('b', '2030-01-01T10:00:01.000Z')), fired('b')],
            position(4n),
          );
          await index.clear();
          expect(await index.checkpoint()).toBeUndefined();
          expect(await index.get('a')).toBeUndefined();
          expect(await index.get('b')).toBeUndefined();
          expect(await index.due(FAR_FUTURE, 10)).toEqual([]);
          expect(await index.nextDueAt()).toBeUndefined();
          expect(await index.list({ limit: 10 })).toStrictEqual({ timers: [] });
          expect(await index.counts()).toStrictEqual(NO_COUNTS);

          const again = pending('a', '2030-01-01T10:00:05.000Z', { scheduledRevision: 8 });
          await index.apply([scheduled(again)], position(1n));
          expect(await index.get('a')).toStrictEqual(again);
          expect(await index.checkpoint()).toStrictEqual(position(1n));
        },
      );

      if (capabilities.durable)
        itOnAFreshIndex(
          'a second index on the same storage sees what the first applied, and the first what the second did',
          async (first, subject) => {
            if (!subject.reopen)
              throw new Error(`${adapter} is declared durable: its factory must give reopen()`);
            const a = pending('a', '2030-01-01T10:00:00.000Z');
            await first.apply([scheduled(a)], position(4n));
            const reopened = await subject.reopen();
            try {
              const second = reopened.index;
              expect(await second.get('a')).toStrictEqual(a);
              expect(await second.checkpoint()).toStrictEqual(position(4n));
              expect(await second.nextDueAt()).toEqual(new Date(a.dueAt));
              await second.apply([fired('a')], position(5n));
              expect(await first.get('a')).toStrictEqual(settled(a, fired('a')));
              expect(await first.checkpoint()).toStrictEqual(position(5n));
              await second.clear();
              expect(await first.counts()).toStrictEqual(NO_COUNTS);
              expect(await first.checkpoint()).toBeUndefined();
            } finally {
              await reopened.close();
            }
          },
        );
      else
        itOnAFreshIndex(
          'keeps its timers to itself (declared not durable): another index starts empty',
          async (index) => {
            await index.apply([scheduled(pending('a', '2030-01-01T10:00:00.000Z'))], position(1n));
            const other = await create();
            try {
              expect(await other.index.get('a')).toBeUndefined();
              expect(await other.index.checkpoint()).toBeUndefined();
              expect(other.reopen).toBeUndefined();
            } finally {
              await other.dispose();
            }
          },
        );
    });
  });
}
