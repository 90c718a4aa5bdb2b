import {
  ErrorCode,
  hasErrorCode,
  IndexedMessage,
  MessageIndex,
  MessageIndexChange,
  MessageQuery,
  MessageStatus,
} from '@esflow/core';
import { allPages, itOnAFresh, position } from './contract-support';
import { ContractTestApi } from './test-api';

/** A second index on the storage of a {@link MessageIndexUnderTest}, closed by the suite. */
export interface ReopenedMessageIndex {
  readonly index: MessageIndex;
  close(): Promise<void>;
}

/**
 * What a factory gives {@link describeMessageIndexContract}: an empty message index, how to
 * dispose of it, and, for a durable adapter, how to open a second index on the same storage (the
 * same file, the same schema), as another process or a restart would.
 */
export interface MessageIndexUnderTest {
  readonly index: MessageIndex;
  dispose(): Promise<void>;
  reopen?(): Promise<ReopenedMessageIndex>;
}

/**
 * What a message index adapter keeps beyond its own object. One it lacks is declared, and the
 * suite checks that it is really absent.
 */
export interface MessageIndexCapabilities {
  /** Messages outlive the index object: the factory gives `reopen`. */
  readonly durable: boolean;
}

const NO_COUNTS: Record<MessageStatus, number> = {
  buffered: 0,
  delivered: 0,
  started: 0,
  duplicate: 0,
  late: 0,
  quarantined: 0,
  discarded: 0,
};
const NOW = new Date('2030-01-01T10:00:00.000Z');
const later = (ms: number, from = NOW) => new Date(from.getTime() + ms);
const WORKFLOW = 'orderFulfillment';

/**
 * A message as the correlator records it when it arrives and no instance accepts it yet: an
 * order's `PaymentReceived` for order `o-1`, from REST, buffered for an hour, one attempt; with
 * `overrides` in place of the defaults (`messageId` is `m-1` unless given).
 */
export const indexedMessage = (overrides: Partial<IndexedMessage> = {}): IndexedMessage => ({
  messageId: 'm-1',
  name: 'PaymentReceived',
  workflow: WORKFLOW,
  keyName: 'orderId',
  correlationKey: 'o-1',
  status: MessageStatus.Buffered,
  reason: null,
  detail: null,
  instanceId: null,
  revision: null,
  source: 'rest',
  receivedAt: '2030-01-01T09:00:00.000Z',
  expiresAt: '2030-01-01T10:00:00.000Z',
  updatedAt: '2030-01-01T09:00:00.000Z',
  attempts: 1,
  ...overrides,
});

type Outcome = Extract<MessageIndexChange, { kind: 'outcome' }>;

const message = (messageId: string, fields: Partial<IndexedMessage> = {}) =>
  indexedMessage({ messageId, ...fields });
const recorded = (m: IndexedMessage): MessageIndexChange => ({ kind: 'recorded', message: m });
const record = (messageId: string, fields: Partial<IndexedMessage> = {}) =>
  recorded(message(messageId, fields));
const outcome = (
  messageId: string,
  status: MessageStatus,
  fields: Partial<Omit<Outcome, 'kind' | 'messageId' | 'status'>> = {},
): Outcome => ({
  kind: 'outcome',
  messageId,
  status,
  reason: null,
  detail: null,
  instanceId: null,
  revision: null,
  expiresAt: null,
  at: '2030-01-01T09:30:00.000Z',
  ...fields,
});
const delivered = (messageId: string, instanceId = 'o-1', revision = 3) =>
  outcome(messageId, MessageStatus.Delivered, { instanceId, revision });
const instanceKeys = (
  instanceId: string,
  keys: Record<string, string>,
  workflow = WORKFLOW,
): MessageIndexChange => ({ kind: 'instanceKeys', workflow, instanceId, keys });
const idsOf = (messages: readonly IndexedMessage[]) => messages.map((m) => m.messageId);

/** What a promise rejects with; undefined when it fulfils. */
const rejectionOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/**
 * The one behaviour every message index adapter must have: `apply` is atomic with its checkpoint
 * (a rejected batch keeps none of its changes, nor its checkpoint), the first record of a message
 * wins, `outcome` counts attempts, is ignored for unknown and discarded messages and leaves a
 * discarded one's attempts as they were, and a message that is not buffered has no expiry;
 * `instanceKeys` replaces or removes an instance's keys, `instancesByKey` answers in the order the
 * keys were learnt; `bufferedFor` matches only the instance's own keys, in its workflow, among
 * buffered messages, in arrival order; `expired` includes an expiry equal to `now` and compares
 * instants, not text; `nextExpiry` and `oldestBuffered` are undefined when nothing is buffered;
 * `list` filters with AND and pages in arrival order without repeats, rejecting a bad cursor as
 * MALFORMED_REQUEST; `counts` gives every status; `clear` empties messages, keys and the
 * checkpoint; and, for a durable adapter, a second index on the same storage sees what the first
 * applied, and the first what the second did. Each test runs on a fresh index from `create`. A
 * capability the adapter lacks is declared in `capabilities`.
 */
export function describeMessageIndexContract(
  adapter: string,
  create: () => Promise<MessageIndexUnderTest>,
  api: ContractTestApi,
  capabilities: MessageIndexCapabilities = { durable: true },
): void {
  const { describe, expect, it } = api;

  const itOnAFreshIndex = itOnAFresh(it, create, (subject) => subject.index);

  const expectInternal = async (promise: Promise<unknown>, what: string) => {
    const error = await rejectionOf(promise);
    expect(hasErrorCode(error, ErrorCode.Internal), `${what}: ${String(error)}`).toBe(true);
  };

  describe(`message index contract: ${adapter}`, () => {
    describe('apply', () => {
      itOnAFreshIndex(
        'starts empty: no checkpoint, nothing listed, buffered, expired or keyed, every count zero',
        async (index) => {
          expect(await index.checkpoint()).toBeUndefined();
          expect(await index.get('m-1')).toBeUndefined();
          expect(await index.list({ limit: 10 })).toStrictEqual({ messages: [] });
          expect(await index.counts()).toStrictEqual(NO_COUNTS);
          expect(await index.instancesByKey(WORKFLOW, 'orderId', 'o-1', 10)).toEqual([]);
          expect(await index.bufferedFor(WORKFLOW, 'o-1', 10)).toEqual([]);
          expect(await index.expired(later(1e12), 10)).toEqual([]);
          expect(await index.nextExpiry()).toBeUndefined();
          expect(await index.oldestBuffered()).toBeUndefined();
        },
      );

      itOnAFreshIndex(
        'records the changes and the checkpoint together, a message read back as written',
        async (index) => {
          const m = indexedMessage();
          await index.apply([recorded(m)], position(7n, 5n));
          expect(await index.get('m-1')).toStrictEqual(m);
          expect(await index.checkpoint()).toStrictEqual(position(7n, 5n));
          expect(await index.get('m-2')).toBeUndefined();
          expect(await index.counts()).toStrictEqual({ ...NO_COUNTS, buffered: 1 });
        },
      );

      itOnAFreshIndex(
        'reads every field back exactly: nulls, zeros, zones, any text',
        async (index) => {
          const messages = [
            message('r-plain', { attempts: 0 }),
            message('r/with/slashes \u{1F600}', {
              name: 'Payment\u00A0Received',
              workflow: 'kycOnboarding',
              keyName: 'customer \u00E9',
              correlationKey: 'k-\uFFFD "quoted"',
              status: MessageStatus.Delivered,
              detail: 'line 1\nline 2',
              instanceId: 'k-\u{1F600}',
              revision: 0,
              source: 'kafka',
              receivedAt: '2030-01-01T10:00:00.250+01:00',
              expiresAt: null,
              updatedAt: '2030-01-01T09:00:05Z',
              attempts: 3,
            }),
            message('r-quarantined', {
              keyName: '',
              correlationKey: '',
              status: MessageStatus.Quarantined,
              reason: 'NO_MATCHING_INSTANCE',
              detail: '',
              expiresAt: null,
              receivedAt: '2030-01-01T09:00:00Z',
              updatedAt: '2030-01-01T11:00:00.000+01:00',
              attempts: 17,
            }),
            message('r-started', {
              status: MessageStatus.Started,
              instanceId: 'o-7',
              revision: 2_000_000_000,
              expiresAt: null,
            }),
          ];
          await index.apply(messages.map(recorded), position(1n));
          for (const m of messages) expect(await index.get(m.messageId)).toStrictEqual(m);
          expect(await index.list({ limit: 10 })).toStrictEqual({ messages });
        },
      );

      itOnAFreshIndex(
        'keeps no expiry for a message that is not buffered, whatever its record said',
        async (index) => {
          const expiresAt = '2030-01-01T09:10:00.000Z';
          await index.apply(
            [
              record('delivered', { status: MessageStatus.Delivered, expiresAt }),
              record('quarantined', { status: MessageStatus.Quarantined, expiresAt }),
            ],
            position(1n),
          );
          expect(await index.get('delivered')).toStrictEqual(
            message('delivered', { status: MessageStatus.Delivered, expiresAt: null }),
          );
          expect((await index.get('quarantined'))?.expiresAt).toBeNull();
          expect(await index.expired(NOW, 10)).toEqual([]);
          expect(await index.nextExpiry()).toBeUndefined();
        },
      );

      itOnAFreshIndex(
        'the first record wins: a later one for the same id, different or not, changes nothing',
        async (index) => {
          const first = message('m-1');
          const other = {
            name: 'OrderCancelled',
            status: MessageStatus.Delivered,
            detail: 'another',
            instanceId: 'o-9',
            revision: 4,
            receivedAt: '2030-01-01T09:05:00.000Z',
            attempts: 9,
          };
          await index.apply([recorded(first), record('m-2')], position(1n));
          await index.apply(
            [
              record('m-1', other),
              // Within one batch too: the first of the two.
              record('m-3', { detail: 'first' }),
              record('m-3', other),
              record('m-1'),
            ],
            position(2n),
          );
          expect(await index.get('m-1')).toStrictEqual(first);
          expect(await index.get('m-3')).toStrictEqual(message('m-3', { detail: 'first' }));
          // Recorded again after an outcome: the outcome stays.
          await index.apply([delivered('m-2')], position(3n));
          const afterOutcome = await index.get('m-2');
          await index.apply([record('m-2')], position(4n));
          expect(await index.get('m-2')).toStrictEqual(afterOutcome);
          expect(afterOutcome?.status).toBe(MessageStatus.Delivered);
          // And it keeps its place in arrival order.
          expect(idsOf((await index.list({ limit: 10 })).messages)).toEqual(['m-1', 'm-2', 'm-3']);
          expect(await index.counts()).toStrictEqual({ ...NO_COUNTS, buffered: 2, delivered: 1 });
          expect(await index.checkpoint()).toStrictEqual(position(4n));
        },
      );

      itOnAFreshIndex(
        'outcome sets status, reason, detail, instance, revision, expiry and updatedAt, one attempt more each',
        async (index) => {
          await index.apply([record('m-1'), record('m-2')], position(1n));
          const at1 = '2030-01-01T09:10:00.000Z';
          const expiresAt = '2030-01-01T11:00:00.000Z';
          await index.apply(
            [
              outcome('m-1', MessageStatus.Buffered, {
                detail: 'still no order',
                expiresAt,
                at: at1,
              }),
            ],
            position(2n),
          );
          expect(await index.get('m-1')).toStrictEqual(
            message('m-1', { detail: 'still no order', expiresAt, updatedAt: at1, attempts: 2 }),
          );
          const at2 = '2030-01-01T10:20:00.000+01:00';
          await index.apply(
            [
              outcome('m-1', MessageStatus.Delivered, {
                instanceId: 'o-1',
                revision: 5,
                // Not buffered: no expiry kept, whatever the change says.
                expiresAt: '2030-01-01T12:00:00.000Z',
                at: at2,
              }),
              outcome('m-2', MessageStatus.Quarantined, {
                reason: 'NO_MATCHING_INSTANCE',
                detail: 'expired',
              }),
              outcome('m-2', MessageStatus.Quarantined, {
                reason: 'AMBIGUOUS_CORRELATION',
                detail: 'two instances',
                at: at2,
              }),
            ],
            position(3n),
          );
          expect(await index.get('m-1')).toStrictEqual(
            message('m-1', {
              status: MessageStatus.Delivered,
              instanceId: 'o-1',
              revision: 5,
              expiresAt: null,
              updatedAt: at2,
              attempts: 3,
            }),
          );
          expect(await index.get('m-2')).toStrictEqual(
            message('m-2', {
              status: MessageStatus.Quarantined,
              reason: 'AMBIGUOUS_CORRELATION',
              detail: 'two instances',
              expiresAt: null,
              updatedAt: at2,
              attempts: 3,
            }),
          );
          // Back to buffered (an operator's retry found no instance): its new expiry counts.
          await index.apply(
            [outcome('m-2', MessageStatus.Buffered, { expiresAt: '2030-01-01T09:59:00Z' })],
            position(4n),
          );
          expect(await index.get('m-2')).toMatchObject({
            status: MessageStatus.Buffered,
            reason: null,
            detail: null,
            expiresAt: '2030-01-01T09:59:00Z',
            attempts: 4,
          });
          expect(idsOf(await index.expired(NOW, 10))).toEqual(['m-2']);
        },
      );

      itOnAFreshIndex('ignores an outcome for an unknown message', async (index) => {
        await index.apply([record('known')], position(1n));
        await index.apply([delivered('x'), outcome('y', MessageStatus.Discarded)], position(2n));
        expect(await index.get('x')).toBeUndefined();
        expect(await index.get('y')).toBeUndefined();
        expect(await index.get('known')).toStrictEqual(message('known'));
        expect(await index.counts()).toStrictEqual({ ...NO_COUNTS, buffered: 1 });
        expect(await index.checkpoint()).toStrictEqual(position(2n));
        // Recorded later, it is as recorded: the ignored outcome left nothing behind.
        await index.apply([record('x')], position(3n));
        expect(await index.get('x')).toStrictEqual(message('x'));
      });

      itOnAFreshIndex(
        'discarding keeps the attempts as they are, and is final: later outcomes are ignored',
        async (index) => {
          await index.apply(
            [record('m-1', { attempts: 2 }), record('m-2', { status: MessageStatus.Quarantined })],
            position(1n),
          );
          const at = '2030-01-01T09:45:00.000Z';
          await index.apply(
            [
              outcome('m-1', MessageStatus.Discarded, { reason: 'NO_MATCHING_INSTANCE', at }),
              outcome('m-2', MessageStatus.Discarded, { detail: 'by operator', at }),
            ],
            position(2n),
          );
          const discarded = message('m-1', {
            status: MessageStatus.Discarded,
            reason: 'NO_MATCHING_INSTANCE',
            expiresAt: null,
            updatedAt: at,
            attempts: 2,
          });
          expect(await index.get('m-1')).toStrictEqual(discarded);
          expect(await index.get('m-2')).toMatchObject({
            status: MessageStatus.Discarded,
            detail: 'by operator',
            attempts: 1,
          });
          await index.apply(
            [
              delivered('m-1'),
              outcome('m-1', MessageStatus.Buffered, { expiresAt: '2030-01-01T09:00:00Z' }),
              outcome('m-1', MessageStatus.Discarded, { reason: 'again' }),
              record('m-1'),
            ],
            position(3n),
          );
          expect(await index.get('m-1')).toStrictEqual(discarded);
          expect(await index.expired(NOW, 10)).toEqual([]);
          expect(await index.counts()).toStrictEqual({ ...NO_COUNTS, discarded: 2 });
        },
      );

      itOnAFreshIndex('applies the changes of one batch in their order', async (index) => {
        await index.apply(
          [
            delivered('u'), // not known yet: ignored
            record('u'),
            outcome('u', MessageStatus.Buffered, { detail: 'retry' }),
            delivered('u', 'o-1', 7),
            record('u', { detail: 'again' }), // indexed already
            record('v'),
            outcome('v', MessageStatus.Discarded),
            delivered('v'), // discarded by now
            instanceKeys('o-1', { orderId: 'o-1' }),
            instanceKeys('o-1', { orderId: 'o-2' }),
          ],
          position(1n),
        );
        expect(await index.get('u')).toStrictEqual(
          message('u', {
            status: MessageStatus.Delivered,
            instanceId: 'o-1',
            revision: 7,
            expiresAt: null,
            updatedAt: '2030-01-01T09:30:00.000Z',
            attempts: 3,
          }),
        );
        expect(await index.get('v')).toMatchObject({
          status: MessageStatus.Discarded,
          attempts: 1,
        });
        expect(await index.instancesByKey(WORKFLOW, 'orderId', 'o-1', 10)).toEqual([]);
        expect(await index.instancesByKey(WORKFLOW, 'orderId', 'o-2', 10)).toEqual(['o-1']);
      });

      itOnAFreshIndex(
        'keeps none of the changes of a rejected apply, nor its checkpoint, and goes on working',
        async (index) => {
          const a = message('a');
          await index.apply([recorded(a), instanceKeys('o-1', { orderId: 'o-1' })], position(1n));
          const rejections: [string, MessageIndexChange[]][] = [
            [
              'a receivedAt that is not an instant',
              [record('b'), delivered('a'), record('c', { receivedAt: 'x' })],
            ],
            // Without its zone, the instant would depend on the server's time zone.
            [
              'an expiresAt without its zone',
              [delivered('a'), record('d', { expiresAt: '2030-01-01T10:00:00' })],
            ],
            [
              'an updatedAt that names no day',
              [record('e', { updatedAt: '2030-13-45T09:00:00Z' })],
            ],
            ['an unknown status', [record('f', { status: 'lost' as MessageStatus })]],
            [
              'an outcome at no instant',
              [instanceKeys('o-1', {}), outcome('a', MessageStatus.Late, { at: 'soon' })],
            ],
            [
              'an outcome with an unknown status',
              [delivered('a'), outcome('a', 'gone' as MessageStatus)],
            ],
            [
              'an outcome expiring at no instant',
              [outcome('a', MessageStatus.Buffered, { expiresAt: 'never' })],
            ],
            // Checked though the outcome would be ignored, and the message recorded already.
            [
              'a bad outcome for an unknown message',
              [delivered('a'), outcome('unknown', MessageStatus.Delivered, { at: '' })],
            ],
            [
              'a bad record of an indexed message',
              [delivered('a'), record('a', { receivedAt: 'yesterday' })],
            ],
          ];
          for (const [what, changes] of rejections)
            await expectInternal(index.apply(changes, position(2n)), what);
          for (const id of ['b', 'c', 'd', 'e', 'f', 'unknown'])
            expect(await index.get(id)).toBeUndefined();
          expect(await index.get('a')).toStrictEqual(a);
          expect(await index.instancesByKey(WORKFLOW, 'orderId', 'o-1', 10)).toEqual(['o-1']);
          expect(await index.counts()).toStrictEqual({ ...NO_COUNTS, buffered: 1 });
          expect(await index.checkpoint()).toStrictEqual(position(1n));
          await index.apply([delivered('a')], position(3n));
          expect((await index.get('a'))?.status).toBe(MessageStatus.Delivered);
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
          await index.apply([record('m-1')], position(6n, 0n));
          expect(await index.checkpoint()).toStrictEqual(position(6n, 0n));
        },
      );
    });

    describe('instance keys', () => {
      itOnAFreshIndex(
        'instancesByKey: the instances of the workflow with that key and value, in the order learnt, at most limit',
        async (index) => {
          await index.apply(
            [
              instanceKeys('z-first', { orderId: 'o-1' }),
              instanceKeys('other-workflow', { orderId: 'o-1' }, 'kycOnboarding'),
              instanceKeys('other-value', { orderId: 'o-2' }),
            ],
            position(1n),
          );
          await index.apply(
            [
              instanceKeys('b-second', { orderId: 'o-1', customerId: 'c-1' }),
              instanceKeys('a-third', { customerId: 'o-1', orderId: 'o-1' }),
            ],
            position(2n),
          );
          const byKey = (keyName: string, value: string, limit = 10, workflow = WORKFLOW) =>
            index.instancesByKey(workflow, keyName, value, limit);
          expect(await byKey('orderId', 'o-1')).toEqual(['z-first', 'b-second', 'a-third']);
          expect(await byKey('orderId', 'o-1', 2)).toEqual(['z-first', 'b-second']);
          expect(await byKey('orderId', 'o-1', 0)).toEqual([]);
          expect(await byKey('orderId', 'o-2')).toEqual(['other-value']);
          expect(await byKey('customerId', 'c-1')).toEqual(['b-second']);
          expect(await byKey('customerId', 'o-1')).toEqual(['a-third']);
          expect(await byKey('orderId', 'o-1', 10, 'kycOnboarding')).toEqual(['other-workflow']);
          expect(await byKey('orderId', 'o-3')).toEqual([]);
          expect(await byKey('orderid', 'o-1')).toEqual([]);
          expect(await byKey('orderId', 'o-1', 10, 'unknown')).toEqual([]);
        },
      );

      itOnAFreshIndex(
        'instanceKeys replaces the keys of the instance; a key declared again with its value keeps its place',
        async (index) => {
          await index.apply(
            [
              instanceKeys('z', { orderId: 'o-1', customerId: 'c-1' }),
              instanceKeys('a', { orderId: 'o-1' }),
            ],
            position(1n),
          );
          const byOrder = (value: string) => index.instancesByKey(WORKFLOW, 'orderId', value, 10);
          // Declared again with one more key: 'z' is still the first learnt for o-1.
          await index.apply([instanceKeys('z', { orderId: 'o-1', region: 'eu' })], position(2n));
          expect(await byOrder('o-1')).toEqual(['z', 'a']);
          expect(await index.instancesByKey(WORKFLOW, 'customerId', 'c-1', 10)).toEqual([]);
          expect(await index.instancesByKey(WORKFLOW, 'region', 'eu', 10)).toEqual(['z']);
          // A new value is learnt anew: after what was learnt before it.
          await index.apply([instanceKeys('z', { orderId: 'o-9' })], position(3n));
          expect(await byOrder('o-1')).toEqual(['a']);
          expect(await byOrder('o-9')).toEqual(['z']);
          expect(await index.instancesByKey(WORKFLOW, 'region', 'eu', 10)).toEqual([]);
          await index.apply([instanceKeys('z', { orderId: 'o-1' })], position(4n));
          expect(await byOrder('o-1')).toEqual(['a', 'z']);
          expect(await byOrder('o-9')).toEqual([]);
          // Only the last of one batch's declarations counts.
          await index.apply(
            [
              instanceKeys('a', { orderId: 'o-5' }),
              instanceKeys('a', { orderId: 'o-6' }),
              instanceKeys('a', { orderId: 'o-7' }),
            ],
            position(5n),
          );
          expect(await byOrder('o-5')).toEqual([]);
          expect(await byOrder('o-6')).toEqual([]);
          expect(await byOrder('o-7')).toEqual(['a']);
          expect(await byOrder('o-1')).toEqual(['z']);
        },
      );

      itOnAFreshIndex(
        'an empty instanceKeys removes the keys of that instance only',
        async (index) => {
          await index.apply(
            [
              instanceKeys('o-1', { orderId: 'o-1', customerId: 'c-1' }),
              instanceKeys('o-2', { orderId: 'o-1', customerId: 'c-1' }),
              instanceKeys('o-1', { orderId: 'o-1' }, 'kycOnboarding'),
              record('m-1'),
            ],
            position(1n),
          );
          expect(idsOf(await index.bufferedFor(WORKFLOW, 'o-1', 10))).toEqual(['m-1']);
          await index.apply([instanceKeys('o-1', {})], position(2n));
          expect(await index.instancesByKey(WORKFLOW, 'orderId', 'o-1', 10)).toEqual(['o-2']);
          expect(await index.instancesByKey(WORKFLOW, 'customerId', 'c-1', 10)).toEqual(['o-2']);
          expect(await index.instancesByKey('kycOnboarding', 'orderId', 'o-1', 10)).toEqual([
            'o-1',
          ]);
          expect(await index.bufferedFor(WORKFLOW, 'o-1', 10)).toEqual([]);
          expect(idsOf(await index.bufferedFor(WORKFLOW, 'o-2', 10))).toEqual(['m-1']);
          // Removing what is not there is fine.
          await index.apply([instanceKeys('o-1', {}), instanceKeys('o-3', {})], position(3n));
          expect(await index.checkpoint()).toStrictEqual(position(3n));
        },
      );
    });

    describe('bufferedFor', () => {
      itOnAFreshIndex(
        "matches buffered messages of the instance's workflow with one of its own keys, in arrival order, at most limit",
        async (index) => {
          // Arrival order is neither id order nor receivedAt order.
          const at = (minute: number) => `2030-01-01T09:${String(minute).padStart(2, '0')}:00Z`;
          await index.apply(
            [
              instanceKeys('i-1', { orderId: 'o-1', customerId: 'c-1' }),
              instanceKeys('i-2', { orderId: 'o-2' }),
              record('z-by-order', { receivedAt: at(50) }),
              record('y-by-customer', {
                name: 'CustomerVerified',
                keyName: 'customerId',
                correlationKey: 'c-1',
                receivedAt: at(40),
              }),
              record('x-other-value', { correlationKey: 'o-2', receivedAt: at(30) }),
              record('w-other-workflow', { workflow: 'kycOnboarding', receivedAt: at(20) }),
              record('v-delivered', {
                status: MessageStatus.Delivered,
                instanceId: 'i-9',
                revision: 1,
                receivedAt: at(10),
              }),
              // The value of one of its keys under the name of another.
              record('u-crossed', { keyName: 'customerId', correlationKey: 'o-1' }),
              record('t-quarantined', { receivedAt: at(5) }),
            ],
            position(1n),
          );
          await index.apply(
            [
              outcome('t-quarantined', MessageStatus.Quarantined, { reason: 'LATE_MESSAGE' }),
              record('s-later', { receivedAt: at(1) }),
            ],
            position(2n),
          );
          const buffered = (instanceId: string, limit = 10, workflow = WORKFLOW) =>
            index.bufferedFor(workflow, instanceId, limit).then(idsOf);
          expect(await buffered('i-1')).toEqual(['z-by-order', 'y-by-customer', 's-later']);
          expect(await index.bufferedFor(WORKFLOW, 'i-1', 1)).toStrictEqual([
            message('z-by-order', { receivedAt: at(50) }),
          ]);
          expect(await buffered('i-1', 0)).toEqual([]);
          expect(await buffered('i-2')).toEqual(['x-other-value']);
          expect(await buffered('i-1', 10, 'kycOnboarding')).toEqual([]);
          expect(await buffered('unknown')).toEqual([]);
          // Delivered: no longer buffered for it.
          await index.apply([delivered('z-by-order', 'i-1', 4)], position(3n));
          expect(await buffered('i-1')).toEqual(['y-by-customer', 's-later']);
          // Its keys changed: it matches by the new ones only.
          await index.apply([instanceKeys('i-1', { orderId: 'o-2' })], position(4n));
          expect(await buffered('i-1')).toEqual(['x-other-value']);
        },
      );
    });

    describe('expiry', () => {
      itOnAFreshIndex(
        'expired: buffered messages whose expiry is at or before now, as instants, in arrival order, at most limit',
        async (index) => {
          await index.apply(
            [
              record('e-late', { expiresAt: '2030-01-01T10:00:00.001Z' }),
              record('e-now', { expiresAt: '2030-01-01T11:00:00+01:00' }), // = NOW
              record('e-past', { expiresAt: '2030-01-01T09:59:59.999Z' }),
              record('e-never', { expiresAt: null }),
              record('d-past', {
                status: MessageStatus.Delivered,
                expiresAt: '2030-01-01T09:00:00Z',
              }),
              record('q-past', { expiresAt: '2030-01-01T09:00:00Z' }),
            ],
            position(1n),
          );
          await index.apply(
            [outcome('q-past', MessageStatus.Quarantined, { reason: 'NO_MATCHING_INSTANCE' })],
            position(2n),
          );
          const expired = (now: Date, limit = 10) => index.expired(now, limit).then(idsOf);
          expect(await expired(NOW)).toEqual(['e-now', 'e-past']);
          expect(await expired(NOW, 1)).toEqual(['e-now']);
          expect(await expired(NOW, 0)).toEqual([]);
          expect(await expired(later(-1))).toEqual(['e-past']);
          expect(await expired(later(-2))).toEqual([]);
          expect(await expired(later(1))).toEqual(['e-late', 'e-now', 'e-past']);
          expect(await expired(later(1e12))).toEqual(['e-late', 'e-now', 'e-past']);
          expect(await index.expired(NOW, 1)).toStrictEqual([
            message('e-now', { expiresAt: '2030-01-01T11:00:00+01:00' }),
          ]);
          await expectInternal(index.expired(new Date(NaN), 10), 'an invalid now');
          await expectInternal(index.expired(NOW, -1), 'a negative limit');
        },
      );

      itOnAFreshIndex(
        'nextExpiry and oldestBuffered: the earliest of the buffered messages, as instants; undefined when none is buffered',
        async (index) => {
          await index.apply(
            [
              record('a', {
                receivedAt: '2030-01-01T09:00:03.000Z',
                expiresAt: '2030-01-01T10:00:00.001Z',
              }),
              record('b', {
                receivedAt: '2030-01-01T09:00:02.000Z',
                expiresAt: '2030-01-01T11:00:00+01:00',
              }),
              // The earliest as instants, the latest as text.
              record('c', {
                receivedAt: '2030-01-01T10:00:01.000+01:00',
                expiresAt: '2030-01-01T10:59:59.999+01:00',
              }),
              record('never', { receivedAt: '2030-01-01T09:00:05.000Z', expiresAt: null }),
              record('old-delivered', {
                status: MessageStatus.Delivered,
                receivedAt: '2030-01-01T08:00:00.000Z',
                expiresAt: '2030-01-01T09:00:00.000Z',
              }),
            ],
            position(1n),
          );
          expect(await index.nextExpiry()).toEqual(new Date('2030-01-01T09:59:59.999Z'));
          expect(await index.oldestBuffered()).toEqual(new Date('2030-01-01T09:00:01.000Z'));
          await index.apply([delivered('c')], position(2n));
          expect(await index.nextExpiry()).toEqual(NOW);
          expect(await index.oldestBuffered()).toEqual(new Date('2030-01-01T09:00:02.000Z'));
          await index.apply([delivered('a'), delivered('b')], position(3n));
          // One without an expiry is still buffered.
          expect(await index.nextExpiry()).toBeUndefined();
          expect(await index.oldestBuffered()).toEqual(new Date('2030-01-01T09:00:05.000Z'));
          await index.apply(
            [outcome('never', MessageStatus.Quarantined, { reason: 'NO_MATCHING_INSTANCE' })],
            position(4n),
          );
          expect(await index.nextExpiry()).toBeUndefined();
          expect(await index.oldestBuffered()).toBeUndefined();
          expect(await index.counts()).toStrictEqual({
            ...NO_COUNTS,
            delivered: 4,
            quarantined: 1,
          });
        },
      );
    });

    describe('list and counts', () => {
      itOnAFreshIndex('list: every filter narrows, and they combine', async (index) => {
        await index.apply(
          [
            record('l-1', { correlationKey: 'o-1' }),
            record('l-2', { name: 'OrderCancelled', correlationKey: 'o-2' }),
            record('l-3', {
              workflow: 'kycOnboarding',
              keyName: 'customerId',
              correlationKey: 'o-1',
            }),
            record('l-4', { correlationKey: 'o-1' }),
            record('l-5', { name: 'OrderCancelled', correlationKey: 'o-1' }),
          ],
          position(1n),
        );
        await index.apply([delivered('l-4', 'o-1', 2), delivered('l-5', 'o-1', 3)], position(2n));
        const listed = async (query: Omit<MessageQuery, 'limit'>) =>
          idsOf((await index.list({ ...query, limit: 10 })).messages);
        expect(await listed({})).toEqual(['l-1', 'l-2', 'l-3', 'l-4', 'l-5']);
        expect(await listed({ status: MessageStatus.Buffered })).toEqual(['l-1', 'l-2', 'l-3']);
        expect(await listed({ status: MessageStatus.Delivered })).toEqual(['l-4', 'l-5']);
        expect(await listed({ status: MessageStatus.Late })).toEqual([]);
        expect(await listed({ name: 'OrderCancelled' })).toEqual(['l-2', 'l-5']);
        expect(await listed({ correlationKey: 'o-1' })).toEqual(['l-1', 'l-3', 'l-4', 'l-5']);
        expect(await listed({ workflow: 'kycOnboarding' })).toEqual(['l-3']);
        expect(await listed({ instanceId: 'o-1' })).toEqual(['l-4', 'l-5']);
        expect(await listed({ name: 'OrderCancelled', correlationKey: 'o-1' })).toEqual(['l-5']);
        expect(
          await listed({
            workflow: WORKFLOW,
            correlationKey: 'o-1',
            status: MessageStatus.Buffered,
          }),
        ).toEqual(['l-1']);
        expect(
          await listed({
            status: MessageStatus.Delivered,
            name: 'PaymentReceived',
            correlationKey: 'o-1',
            workflow: WORKFLOW,
            instanceId: 'o-1',
          }),
        ).toEqual(['l-4']);
        expect(await listed({ instanceId: 'o-1', workflow: 'kycOnboarding' })).toEqual([]);
      });

      itOnAFreshIndex(
        'list: pages in arrival order, without repeats, with no next on the last page',
        async (index) => {
          // Arrival order, over three batches; ids and receivedAt in another order.
          const ids = ['h', 'c', 'f', 'a', 'g', 'b', 'e', 'd'];
          const inOrder = ids.map((id, i) =>
            message(id, { receivedAt: `2030-01-01T09:00:0${9 - i}.000Z` }),
          );
          await index.apply(inOrder.slice(0, 3).map(recorded), position(1n));
          await index.apply(inOrder.slice(3, 4).map(recorded), position(2n));
          await index.apply(inOrder.slice(4).map(recorded), position(3n));

          expect(await index.list({ limit: 100 })).toStrictEqual({ messages: inOrder });
          const pagesOfThree = await allPages(index, { limit: 3 });
          expect(pagesOfThree.map((page) => page.messages.length)).toEqual([3, 3, 2]);
          expect(pagesOfThree.flatMap((page) => page.messages)).toStrictEqual(inOrder);
          expect(pagesOfThree.map((page) => 'next' in page)).toEqual([true, true, false]);
          // A last page that is exactly full has no next.
          const pagesOfTwo = await allPages(index, { limit: 2 });
          expect(pagesOfTwo.flatMap((page) => page.messages)).toStrictEqual(inOrder);
          expect(pagesOfTwo.map((page) => 'next' in page)).toEqual([true, true, true, false]);
          expect(await allPages(index, { limit: 8 })).toStrictEqual([{ messages: inOrder }]);
          const pagesOfOne = await allPages(index, { limit: 1 });
          expect(idsOf(pagesOfOne.flatMap((page) => page.messages))).toEqual(ids);

          // A page's next still holds after its messages change, and filters page alike.
          await index.apply([delivered('c'), delivered('g'), delivered('d')], position(4n));
          const bufferedPages = await allPages(index, {
            status: MessageStatus.Buffered,
            limit: 2,
          });
          expect(idsOf(bufferedPages.flatMap((page) => page.messages))).toEqual([
            'h',
            'f',
            'a',
            'b',
            'e',
          ]);
          expect(bufferedPages.map((page) => page.messages.length)).toEqual([2, 2, 1]);
          const [first] = pagesOfThree;
          const rest = await index.list({ after: first!.next, limit: 10 });
          expect(idsOf(rest.messages)).toEqual(ids.slice(3));
        },
      );

      itOnAFreshIndex(
        'list: rejects an `after` that is not a `next` it gave as MALFORMED_REQUEST, and a limit below 1',
        async (index) => {
          await index.apply([record('m-1')], position(1n));
          for (const after of ['not a cursor', '', '1/2/m-1', '-1', '1.5', ' 1', '1e3', '0x10'])
            expect(
              hasErrorCode(
                await rejectionOf(index.list({ after, limit: 10 })),
                ErrorCode.MalformedRequest,
              ),
              JSON.stringify(after),
            ).toBe(true);
          await expectInternal(index.list({ limit: 0 }), 'a limit of 0');
          await expectInternal(index.list({ limit: 1.5 }), 'a limit of 1.5');
        },
      );

      itOnAFreshIndex('counts the messages in each status, zeros included', async (index) => {
        await index.apply(
          ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => record(id)),
          position(1n),
        );
        await index.apply(
          [
            delivered('a'),
            delivered('b'),
            outcome('c', MessageStatus.Started, { instanceId: 'o-3', revision: 0 }),
            outcome('d', MessageStatus.Duplicate),
            outcome('e', MessageStatus.Quarantined, { reason: 'INVALID_PAYLOAD' }),
            outcome('e', MessageStatus.Discarded, { reason: 'by operator' }),
          ],
          position(2n),
        );
        expect(await index.counts()).toStrictEqual({
          ...NO_COUNTS,
          buffered: 2,
          delivered: 2,
          started: 1,
          duplicate: 1,
          discarded: 1,
        });
        await index.apply([outcome('f', MessageStatus.Late, { instanceId: 'o-1' })], position(3n));
        expect(await index.counts()).toStrictEqual({
          ...NO_COUNTS,
          buffered: 1,
          delivered: 2,
          started: 1,
          duplicate: 1,
          late: 1,
          discarded: 1,
        });
      });
    });

    describe('clear and storage', () => {
      itOnAFreshIndex(
        'clear removes every message, every instance key and the checkpoint, and the index fills again after it',
        async (index) => {
          await index.apply(
            [record('a'), record('b'), delivered('b'), instanceKeys('o-1', { orderId: 'o-1' })],
            position(4n),
          );
          await index.clear();
          expect(await index.checkpoint()).toBeUndefined();
          expect(await index.get('a')).toBeUndefined();
          expect(await index.get('b')).toBeUndefined();
          expect(await index.list({ limit: 10 })).toStrictEqual({ messages: [] });
          expect(await index.counts()).toStrictEqual(NO_COUNTS);
          expect(await index.instancesByKey(WORKFLOW, 'orderId', 'o-1', 10)).toEqual([]);
          expect(await index.nextExpiry()).toBeUndefined();
          expect(await index.oldestBuffered()).toBeUndefined();

          // Rebuilt from the log: a record is the first again.
          const again = message('b', { detail: 'rebuilt' });
          await index.apply(
            [record('c'), recorded(again), instanceKeys('o-2', { orderId: 'o-1' })],
            position(1n),
          );
          expect(await index.get('b')).toStrictEqual(again);
          expect(idsOf((await index.list({ limit: 10 })).messages)).toEqual(['c', 'b']);
          expect(await index.instancesByKey(WORKFLOW, 'orderId', 'o-1', 10)).toEqual(['o-2']);
          expect(idsOf(await index.bufferedFor(WORKFLOW, 'o-2', 10))).toEqual(['c', 'b']);
          expect(await index.checkpoint()).toStrictEqual(position(1n));
        },
      );

      if (capabilities.durable)
        itOnAFreshIndex(
          'a second index on the same storage sees what the first applied, and the first what the second did',
          async (first, subject) => {
            if (!subject.reopen)
              throw new Error(`${adapter} is declared durable: its factory must give reopen()`);
            await first.apply(
              [record('a'), record('b'), instanceKeys('o-1', { orderId: 'o-1' })],
              position(4n),
            );
            const reopened = await subject.reopen();
            try {
              const second = reopened.index;
              expect(await second.get('a')).toStrictEqual(message('a'));
              expect(await second.checkpoint()).toStrictEqual(position(4n));
              expect(await second.instancesByKey(WORKFLOW, 'orderId', 'o-1', 10)).toEqual(['o-1']);
              await second.apply(
                [record('c'), delivered('a'), instanceKeys('o-2', { orderId: 'o-1' })],
                position(5n, 2n),
              );
              await first.apply([record('d'), record('c', { detail: 'late copy' })], position(6n));
              for (const index of [first, second]) {
                expect(idsOf((await index.list({ limit: 10 })).messages)).toEqual([
                  'a',
                  'b',
                  'c',
                  'd',
                ]);
                expect(await index.get('c')).toStrictEqual(message('c'));
                expect((await index.get('a'))?.status).toBe(MessageStatus.Delivered);
                expect(await index.instancesByKey(WORKFLOW, 'orderId', 'o-1', 10)).toEqual([
                  'o-1',
                  'o-2',
                ]);
                expect(idsOf(await index.bufferedFor(WORKFLOW, 'o-2', 10))).toEqual([
                  'b',
                  'c',
                  'd',
                ]);
                expect(await index.checkpoint()).toStrictEqual(position(6n));
              }
              await second.clear();
              expect(await first.counts()).toStrictEqual(NO_COUNTS);
              expect(await first.checkpoint()).toBeUndefined();
              expect(await first.instancesByKey(WORKFLOW, 'orderId', 'o-1', 10)).toEqual([]);
            } finally {
              await reopened.close();
            }
          },
        );
      else
        itOnAFreshIndex(
          'keeps its messages to itself (declared not durable): another index starts empty',
          async (index) => {
            await index.apply([record('a'), instanceKeys('o-1', { orderId: 'o-1' })], position(1n));
            const other = await create();
            try {
              expect(await other.index.get('a')).toBeUndefined();
              expect(await other.index.checkpoint()).toBeUndefined();
              expect(await other.index.instancesByKey(WORKFLOW, 'orderId', 'o-1', 10)).toEqual([]);
              expect(other.reopen).toBeUndefined();
            } finally {
              await other.dispose();
            }
          },
        );
    });
  });
}
