import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, waitFor } from '@esflow/testing';
import { orderFulfillment } from '@esflow/example-order-fulfillment';
import { join } from 'node:path';
import { setup } from 'xstate';
import { anOrder, createTestEngine, soleLeases } from '../../../../test/support/engine-fixture';
import { Result } from '../errors/rejection';
import { EventStore } from '../event-store/event-store.port';
import { createMemoryEventStore } from '../event-store/memory-event-store';
import { defineWorkflow, WorkflowDefinition } from '../workflow/workflow-definition';
import { nodeIdGenerator } from '../node/node-id-generator';
import { createMemoryMessageIndex } from './memory-message-index';
import { MessageCorrelationService } from './message-correlation-service';
import { MessageCorrelator } from './message-correlator';
import { MessageIndex } from './message-index.port';
import { IncomingMessage } from './message-intake';
import { MessageStreams } from './message-stream';

// Correlation over the memory store and index with the real Avro codec: the rules of
// MessageCorrelator, and the correlation service that delivers what waited.

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

/** orderFulfillment with the messages these tests need beside the example's own. */
const withMessages = () =>
  defineWorkflow({
    name: 'orderFulfillment',
    version: 1,
    machine: orderFulfillment.machine,
    startEvent: 'OrderPlaced',
    commands: ['RefundPayment'],
    instanceIdFrom: (input) => input.orderId,
    correlationKeys: { orderId: (c) => c.orderId, customerId: (c) => c.customerId },
    messages: {
      OrderPlaced: { starts: true },
      PaymentReceived: { correlateBy: 'orderId', ttlSeconds: 60, late: 'quarantine' },
      PaymentFailed: { correlateBy: 'orderId', ttlSeconds: 60 },
      ShipmentDispatched: { correlateBy: 'orderId' },
      OrderCancelled: { correlateBy: 'customerId' },
    },
  });

/** The definition without the messages named: a later version that dropped them. */
const without = (names: readonly string[]): WorkflowDefinition => {
  const definition = withMessages();
  return {
    ...definition,
    messages: Object.fromEntries(
      Object.entries(definition.messages).filter(([name]) => !names.includes(name)),
    ),
  };
};

const running: MessageCorrelationService[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.stop()));
});

async function aWorld(
  options: {
    definition?: WorkflowDefinition;
    store?: EventStore;
    index?: MessageIndex;
    schemas?: string;
  } = {},
) {
  const clock = new ManualClock(new Date());
  const store = options.store ?? createMemoryEventStore();
  const { engine, codec, catalog } = await createTestEngine({
    clock,
    store,
    definitions: [options.definition ?? withMessages()],
    ...(options.schemas ? { schemas: options.schemas } : {}),
  });
  const index = options.index ?? createMemoryMessageIndex();
  const correlator = new MessageCorrelator({
    engine,
    catalog,
    store,
    codec,
    index,
    clock,
    ids: nodeIdGenerator,
  });
  const errors: string[] = [];
  const service = new MessageCorrelationService({
    store,
    catalog,
    index,
    correlator,
    streams: new MessageStreams(store, codec, nodeIdGenerator),
    leases: soleLeases(),
    owner: 'test',
    clock,
    expiryCheckMs: 20,
    onError: (message, error) => errors.push(`${message}: ${String(error)}`),
  });
  running.push(service);
  const send = (message: Partial<IncomingMessage> & Pick<IncomingMessage, 'name' | 'payload'>) =>
    correlator.receive({
      correlationKey: 'o-1',
      messageId: `m-${Math.random().toString(36).slice(2)}`,
      source: { kind: 'rest' },
      ...message,
    });
  const place = async (orderId: string, customerId = 'customer-7') =>
    valueOf(
      await engine.startWorkflow.handle({
        workflow: 'orderFulfillment',
        input: { ...anOrder(orderId), customerId },
      }),
    );
  const stateOf = async (id: string) =>
    valueOf(await engine.queries.get('orderFulfillment', id)).state;
  return { clock, store, engine, index, correlator, service, errors, send, place, stateOf };
}

const paid = { paymentId: 'pay-1', amountCents: 4999 };

describe('MessageCorrelator', () => {
  it('delivers to the one waiting instance, once: a repeat is a duplicate with the first outcome', async () => {
    const world = await aWorld();
    await world.place('o-1');
    const first = valueOf(
      await world.send({ name: 'PaymentReceived', payload: paid, messageId: 'm-1' }),
    );
    expect(first).toMatchObject({
      outcome: 'delivered',
      instanceId: 'o-1',
      revision: expect.any(Number),
    });
    expect(await world.stateOf('o-1')).toBe('fetchingGoods');
    const again = valueOf(
      await world.send({ name: 'PaymentReceived', payload: paid, messageId: 'm-1' }),
    );
    expect(again).toMatchObject({
      outcome: 'duplicate',
      firstOutcome: 'delivered',
      instanceId: 'o-1',
    });
    const history = await world.store.readStream('orderFulfillment-o-1');
    expect(history.filter((e) => e.type === 'PaymentReceived')).toHaveLength(1);
    expect(history.find((e) => e.type === 'PaymentReceived')!.metadata['message']).toMatchObject({
      id: 'm-1',
      name: 'PaymentReceived',
      correlationKey: 'o-1',
      revisionAfter: first.revision,
    });
  });

  it('answers a repeat of a waiting message the index has not learnt of yet as a duplicate, from its stream', async () => {
    const world = await aWorld(); // no correlation service: the index stays empty
    const message = {
      name: 'PaymentReceived',
      payload: paid,
      messageId: 'twice',
      correlationKey: 'o-404',
    };
    expect(valueOf(await world.send(message))).toMatchObject({ outcome: 'buffered' });
    expect(valueOf(await world.send(message))).toMatchObject({
      outcome: 'duplicate',
      firstOutcome: 'buffered',
    });
    const stream = await world.store.readStream('esflow.message-twice');
    expect(stream.map((e) => e.type)).toEqual(['MessageReceived', 'MessageCorrelated']);
  });

  it('refuses a bad message with nothing written: unknown name, invalid payload, bad ids and ttl', async () => {
    const world = await aWorld();
    await world.place('o-1');
    const before = (await world.store.readAll()).length;
    const codes = await Promise.all([
      world.send({ name: 'NoSuchMessage', payload: {} }),
      world.send({ name: 'PaymentReceived', payload: { paymentId: 1 } }),
      world.send({ name: 'PaymentReceived', payload: paid, messageId: 'a b' }),
      world.send({ name: 'PaymentReceived', payload: paid, correlationKey: '' }),
      world.send({ name: 'PaymentReceived', payload: paid, ttlSeconds: 0 }),
    ]);
    expect(codes.map((r) => (r.ok ? 'ok' : r.rejection.code))).toEqual([
      'UNKNOWN_MESSAGE',
      'SCHEMA_VALIDATION_FAILED',
      'INVALID_ID',
      'INVALID_ID',
      'MALFORMED_REQUEST',
    ]);
    const invalid = codes[1]!;
    expect(!invalid.ok && invalid.rejection).toMatchObject({
      errors: expect.arrayContaining([expect.objectContaining({ path: 'payload.paymentId' })]),
    });
    expect((await world.store.readAll()).length).toBe(before);
  });

  it('buffers a message that comes before its instance and delivers it once the instance starts', async () => {
    const world = await aWorld();
    world.service.start();
    const early = valueOf(
      await world.send({ name: 'PaymentReceived', payload: paid, messageId: 'early-1' }),
    );
    expect(early).toMatchObject({ outcome: 'buffered', expiresAt: expect.any(String) });
    await world.place('o-1');
    await waitFor(async () => (await world.stateOf('o-1')) === 'fetchingGoods', {
      what: 'the buffered payment delivered after the order started',
    });
    const details = await world.correlator.details('early-1');
    expect(details?.message).toMatchObject({ status: 'delivered', instanceId: 'o-1', attempts: 2 });
    // Delivered when the service saw the start (or, in the same batch, rechecked the message).
    expect(details?.attempts.map((a) => a.outcome)).toEqual(['buffered', 'delivered']);
    expect(['instanceChanged', 'recheck']).toContain(details?.attempts[1]?.trigger);
    expect(world.errors).toEqual([]);
  });

  it('buffers a message before its wait state, delivering it in arrival order when the state is reached', async () => {
    const world = await aWorld();
    world.service.start();
    await world.place('o-1');
    valueOf(await world.send({ name: 'PaymentReceived', payload: paid }));
    const notice = valueOf(
      await world.send({
        name: 'ShipmentDispatched',
        payload: { trackingId: 'T-1' },
        messageId: 'ship-1',
      }),
    );
    expect(notice).toMatchObject({ outcome: 'buffered' });
    expect(notice.detail).toContain('does not accept ShipmentDispatched yet');
    valueOf(
      await world.engine.sendEvent.handle({
        workflow: 'orderFulfillment',
        id: 'o-1',
        type: 'GoodsFetched',
        payload: { warehouseId: 'w-1' },
      }),
    );
    await waitFor(async () => (await world.stateOf('o-1')) === 'completed', {
      what: 'the carrier notice delivered once the goods were fetched',
    });
    // The index follows the message's stream: its delivery is indexed a moment after it happened.
    await waitFor(async () => (await world.index.get('ship-1'))?.status === 'delivered', {
      what: 'the delivery indexed',
    });
  });

  it('applies the late policy when the payment window timer won: quarantine for a payment, late for a failure', async () => {
    const world = await aWorld();
    const order = await world.place('o-1');
    const timer = order.instance.pendingTimers[0]!;
    world.clock.set(timer.dueAt);
    valueOf(
      await world.engine.fireTimer.handle({
        workflow: 'orderFulfillment',
        id: 'o-1',
        timerId: timer.timerId,
      }),
    );
    expect(await world.stateOf('o-1')).toBe('cancelled');
    const payment = valueOf(
      await world.send({ name: 'PaymentReceived', payload: paid, messageId: 'late-pay' }),
    );
    expect(payment).toMatchObject({
      outcome: 'quarantined',
      reason: 'LATE_MESSAGE',
      instanceId: 'o-1',
    });
    const failure = valueOf(
      await world.send({ name: 'PaymentFailed', payload: { reason: 'card' } }),
    );
    expect(failure).toMatchObject({ outcome: 'late', instanceId: 'o-1' });
    expect(failure.detail).toContain('moved past');
  });

  it('quarantines a message still unmatched when its time-to-live runs out (NO_MATCHING_INSTANCE)', async () => {
    const world = await aWorld();
    world.service.start();
    valueOf(
      await world.send({
        name: 'PaymentFailed',
        payload: { reason: 'x' },
        correlationKey: 'nobody',
        messageId: 'orphan',
        ttlSeconds: 5,
      }),
    );
    await waitFor(async () => (await world.index.get('orphan'))?.status === 'buffered', {
      what: 'indexed',
    });
    world.clock.advance(5_000);
    await waitFor(async () => (await world.index.get('orphan'))?.status === 'quarantined', {
      what: 'the orphan quarantined at its expiry',
    });
    expect(await world.index.get('orphan')).toMatchObject({ reason: 'NO_MATCHING_INSTANCE' });
  });

  it('quarantines a message more than one waiting instance accepts, delivering it to none', async () => {
    const world = await aWorld();
    await world.place('o-1', 'shared-customer');
    await world.place('o-2', 'shared-customer');
    world.service.start();
    await waitFor(
      async () =>
        (await world.index.instancesByKey('orderFulfillment', 'customerId', 'shared-customer', 5))
          .length === 2,
      { what: 'keys indexed' },
    );
    const cancel = valueOf(
      await world.send({
        name: 'OrderCancelled',
        payload: { reason: 'closed' },
        correlationKey: 'shared-customer',
      }),
    );
    expect(cancel).toMatchObject({ outcome: 'quarantined', reason: 'AMBIGUOUS_CORRELATION' });
    expect(cancel.detail).toContain('o-1, o-2');
    expect([await world.stateOf('o-1'), await world.stateOf('o-2')]).toEqual([
      'awaitingPayment',
      'awaitingPayment',
    ]);
  });

  it('lets an operator retry a quarantined message (delivered once it can be) and discard another, each recorded', async () => {
    const world = await aWorld();
    world.service.start();
    valueOf(
      await world.send({
        name: 'PaymentReceived',
        payload: paid,
        correlationKey: 'o-9',
        messageId: 'q-1',
        ttlSeconds: 1,
      }),
    );
    world.clock.advance(1_000);
    await waitFor(async () => (await world.index.get('q-1'))?.status === 'quarantined', {
      what: 'expired',
    });
    await world.place('o-9');
    const retried = valueOf(
      await world.correlator.correlateAgain('q-1', 'retry', 'ops@example.com'),
    );
    expect(retried).toMatchObject({ outcome: 'delivered', instanceId: 'o-9' });
    const again = await world.correlator.correlateAgain('q-1', 'retry');
    expect(!again.ok && again.rejection.code).toBe('MESSAGE_SETTLED');
    const details = await world.correlator.details('q-1');
    expect(details?.attempts.at(-1)).toMatchObject({
      trigger: 'retry',
      by: 'ops@example.com',
      outcome: 'delivered',
    });

    valueOf(
      await world.send({
        name: 'PaymentFailed',
        payload: { reason: 'x' },
        correlationKey: 'o-404',
        messageId: 'd-1',
      }),
    );
    const discarded = valueOf(await world.correlator.discard('d-1', 'test order', 'ops'));
    expect(discarded).toMatchObject({ messageId: 'd-1' });
    expect((await world.correlator.details('d-1'))?.discarded).toMatchObject({
      reason: 'test order',
      by: 'ops',
    });
    const twice = await world.correlator.discard('d-1', 'again');
    expect(!twice.ok && twice.rejection.code).toBe('MESSAGE_SETTLED');
    const unknown = await world.correlator.discard('never', 'x');
    expect(!unknown.ok && unknown.rejection.code).toBe('MESSAGE_NOT_FOUND');
  });

  it('starts an instance from a start message; a second start for the same key is a duplicate, never a second instance', async () => {
    const world = await aWorld();
    const input = anOrder('o-5');
    const started = valueOf(
      await world.send({
        name: 'OrderPlaced',
        payload: input,
        correlationKey: 'o-5',
        messageId: 's-1',
      }),
    );
    expect(started).toMatchObject({
      outcome: 'started',
      instanceId: 'o-5',
      revision: expect.any(Number),
    });
    const repeat = valueOf(
      await world.send({
        name: 'OrderPlaced',
        payload: input,
        correlationKey: 'o-5',
        messageId: 's-1',
      }),
    );
    expect(repeat).toMatchObject({ outcome: 'duplicate', firstOutcome: 'started' });
    const other = valueOf(
      await world.send({
        name: 'OrderPlaced',
        payload: input,
        correlationKey: 'o-5',
        messageId: 's-2',
      }),
    );
    expect(other).toMatchObject({ outcome: 'duplicate', instanceId: 'o-5' });
    const starts = (await world.store.readStream('orderFulfillment-o-5')).filter(
      (e) => e.type === 'OrderPlaced',
    );
    expect(starts).toHaveLength(1);
  });

  it('quarantines a buffered message whose name a definition change dropped (UNKNOWN_MESSAGE)', async () => {
    const store = createMemoryEventStore();
    const index = createMemoryMessageIndex();
    const before = await aWorld({ store, index });
    valueOf(
      await before.send({
        name: 'ShipmentDispatched',
        payload: { trackingId: 'T' },
        correlationKey: 'o-77',
        messageId: 'dropped-1',
      }),
    );
    const after = await aWorld({
      store,
      index,
      definition: without(['ShipmentDispatched']),
    });
    after.service.start();
    await waitFor(async () => (await index.get('dropped-1'))?.status === 'quarantined', {
      what: 'the buffered message quarantined by the restarted service',
    });
    expect(await index.get('dropped-1')).toMatchObject({ reason: 'UNKNOWN_MESSAGE' });
  });
});

/**
 * A case file: a reply while it is open answers it; once it is closed, a reply can only be filed
 * with it (the late policy delivers LateReplyFiled instead).
 */
const caseFileMachine = setup({
  types: {
    input: {} as { caseId: string },
    context: {} as { caseId: string; reply: string | null },
    events: {} as
      | { type: 'ReplyReceived'; text: string }
      | { type: 'CaseClosed'; reason: string }
      | { type: 'LateReplyFiled'; text: string },
  },
}).createMachine({
  id: 'caseFile',
  initial: 'open',
  context: ({ input }) => ({ caseId: input.caseId, reply: null }),
  states: {
    open: { on: { ReplyReceived: 'answered', CaseClosed: 'closed' } },
    closed: { on: { LateReplyFiled: 'closedWithLateReply' } },
    answered: { type: 'final' },
    closedWithLateReply: { type: 'final' },
  },
});

describe('the late policy { deliver }', () => {
  it('delivers the declared late event to an instance that moved past the state that would have taken the message', async () => {
    const caseFile = defineWorkflow({
      name: 'caseFile',
      version: 1,
      machine: caseFileMachine,
      startEvent: 'CaseOpened',
      instanceIdFrom: (input) => input.caseId,
      correlationKeys: { caseId: (context) => context.caseId },
      messages: { ReplyReceived: { correlateBy: 'caseId', late: { deliver: 'LateReplyFiled' } } },
    });
    const world = await aWorld({
      definition: caseFile,
      schemas: join(__dirname, '../../../../test/support/schemas/caseFile'),
    });
    const open = async (caseId: string) =>
      valueOf(await world.engine.startWorkflow.handle({ workflow: 'caseFile', input: { caseId } }));
    await open('case-1');
    valueOf(
      await world.engine.sendEvent.handle({
        workflow: 'caseFile',
        id: 'case-1',
        type: 'CaseClosed',
        payload: { reason: 'no answer' },
      }),
    );
    const reply = {
      name: 'ReplyReceived',
      payload: { text: 'sorry, late' },
      correlationKey: 'case-1',
    };
    const late = valueOf(await world.send({ ...reply, messageId: 'late-1' }));
    // CaseOpened, CaseClosed, then LateReplyFiled and WorkflowCompleted.
    expect(late).toMatchObject({ outcome: 'late', instanceId: 'case-1', revision: 3 });
    expect(late.detail).toContain('delivered as its late event LateReplyFiled');
    const filed = valueOf(await world.engine.queries.get('caseFile', 'case-1'));
    expect(filed.state).toBe('closedWithLateReply');
    // Once filed, a second late reply has nowhere to go: recorded late, nothing delivered.
    const again = valueOf(await world.send({ ...reply, messageId: 'late-2' }));
    expect(again).toMatchObject({ outcome: 'late' });
    expect(again.detail).toContain('no instance accepted its late event LateReplyFiled');
    expect(await world.correlator.details('late-1')).toMatchObject({
      message: { status: 'late', instanceId: 'case-1' },
    });
  });
});
