import { beforeAll, describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { statusOf } from '@esflow/core';
import {
  commandCompleted,
  completed,
  dispatched,
  incidentRaised,
  timerCancelled,
  timerFired,
  WorkflowSpecification,
} from '@esflow/testing';
import { orderFulfillmentFeature } from './order-fulfillment.feature';
import { orderFulfillment, orderFulfillmentMachine } from './order-fulfillment.workflow';
import { StandInPaymentProvider } from './payment-provider';
import { RefundPaymentHandler } from './refund-payment.handler';

const placed = {
  orderId: 'o-1',
  customerId: 'c-1',
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'S', quantity: 1 }],
};

/** Given the start event and these events, when folded through the pure transition function… */
function given(...events: { type: string; [field: string]: unknown }[]) {
  let [snapshot] = initialTransition(orderFulfillmentMachine, placed);
  for (const event of events)
    [snapshot] = transition(orderFulfillmentMachine, snapshot, event as never);
  return snapshot;
}

describe('orderFulfillment', () => {
  it('is defined with the design names', () => {
    expect(orderFulfillment).toMatchObject({
      name: 'orderFulfillment',
      version: 1,
      startEvent: 'OrderPlaced',
      commands: ['RefundPayment'],
    });
    expect([...orderFulfillment.inputEvents].sort()).toEqual([
      'GoodsFetched',
      'GoodsUnavailable',
      'OrderCancelled',
      'PaymentFailed',
      'PaymentReceived',
      'PaymentRefunded',
      'ShipmentDispatched',
    ]);
    expect(orderFulfillment.instanceIdFrom?.(placed)).toBe('o-1');
  });

  it('starts awaiting payment with the order in context', () => {
    const snapshot = given();
    expect(snapshot.value).toBe('awaitingPayment');
    expect(snapshot.context).toMatchObject({
      orderId: 'o-1',
      amountCents: 4999,
      paymentId: null,
      paymentWindowSeconds: 1800,
    });
  });

  it('completes along the happy path', () => {
    const snapshot = given(
      { type: 'PaymentReceived', paymentId: 'p', amountCents: 4999 },
      { type: 'GoodsFetched', warehouseId: 'w' },
      { type: 'ShipmentDispatched', trackingId: 't' },
    );
    expect(snapshot.value).toBe('completed');
    expect(statusOf(snapshot)).toBe('completed');
  });

  it.each([
    ['PaymentFailed', { reason: 'declined' }, 'payment failed: declined'],
    ['OrderCancelled', { reason: 'changed mind' }, 'changed mind'],
  ])('is cancelled by %s while awaiting payment', (type, fields, reason) => {
    const snapshot = given({ type, ...fields });
    expect(snapshot.value).toBe('cancelled');
    expect(statusOf(snapshot)).toBe('cancelled');
    expect(snapshot.context.cancellationReason).toBe(reason);
  });

  it('emits RefundPayment when goods are unavailable, and is cancelled once refunded', () => {
    const paid = given({ type: 'PaymentReceived', paymentId: 'pay-7', amountCents: 4999 });
    const [refunding, actions] = transition(orderFulfillmentMachine, paid, {
      type: 'GoodsUnavailable',
      sku: 'S',
    });
    expect(refunding.value).toBe('refunding');
    expect(
      actions.map((a) => [a.type, (a.params as { event?: unknown } | undefined)?.event]),
    ).toContainEqual([
      'xstate.emit',
      {
        type: 'RefundPayment',
        orderId: 'o-1',
        paymentId: 'pay-7',
        amountCents: 4999,
        currency: 'EUR',
      },
    ]);
    const [cancelled] = transition(orderFulfillmentMachine, refunding, {
      type: 'PaymentRefunded',
      refundId: 'r',
    });
    expect(statusOf(cancelled)).toBe('cancelled');
  });

  it('ignores events the state has no transition for', () => {
    const snapshot = given();
    expect(snapshot.can({ type: 'ShipmentDispatched', trackingId: 't' })).toBe(false);
    expect(given({ type: 'ShipmentDispatched', trackingId: 't' }).value).toBe('awaitingPayment');
  });
});

describe('orderFulfillment, as recorded (WorkflowSpecification)', () => {
  let spec: WorkflowSpecification;
  beforeAll(async () => {
    spec = await WorkflowSpecification.for(orderFulfillmentFeature);
  });

  it('records the start event and schedules the payment window: nothing is dispatched while awaiting payment', async () => {
    const { instance } = await spec.whenStarted(placed).then([
      { type: 'OrderPlaced' },
      {
        type: 'TimerScheduled',
        data: {
          eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
          delayMs: 1_800_000,
        },
      },
    ]);
    expect(instance.acceptedEvents).toEqual(['PaymentReceived', 'PaymentFailed', 'OrderCancelled']);
    expect(instance.pendingTimers).toEqual([
      {
        timerId: expect.any(String),
        eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
        dueAt: expect.any(String),
      },
    ]);
  });

  it('dispatches RefundPayment, in the same append, when the goods are unavailable', async () => {
    await spec
      .given(placed, { type: 'PaymentReceived', paymentId: 'pay-7', amountCents: 4999 })
      .when({ type: 'GoodsUnavailable', sku: 'S' })
      .then([
        { type: 'GoodsUnavailable', data: { sku: 'S' } },
        dispatched('RefundPayment', { orderId: 'o-1', paymentId: 'pay-7', amountCents: 4999 }),
      ]);
  });

  it('is cancelled once the refund comes back, the reply recorded before its completion', async () => {
    const { instance } = await spec
      .given(
        placed,
        { type: 'PaymentReceived', paymentId: 'pay-8', amountCents: 4999 },
        { type: 'GoodsUnavailable', sku: 'S' },
      )
      .whenCommandCompletes('RefundPayment', {
        reply: { type: 'PaymentRefunded', refundId: 'r-1' },
      })
      .then([
        { type: 'PaymentRefunded', data: { refundId: 'r-1' } },
        commandCompleted({ commandType: 'RefundPayment', replyType: 'PaymentRefunded' }),
        completed('cancelled'),
      ]);
    expect(instance.inFlightCommands).toEqual([]);
  });

  it('raises an incident when the refund fails for good, and stays refunding', async () => {
    const { instance } = await spec
      .given(
        placed,
        { type: 'PaymentReceived', paymentId: 'pay-9', amountCents: 4999 },
        { type: 'GoodsUnavailable', sku: 'S' },
      )
      .whenCommandFails('RefundPayment', 'the provider refused the refund')
      .then([incidentRaised({ commandType: 'RefundPayment' })]);
    expect(instance.state).toBe('refunding');
    expect(instance.incidents).toEqual([
      expect.objectContaining({ error: 'the provider refused the refund' }),
    ]);
  });

  it('records the completion with the final status', async () => {
    await spec
      .given(
        placed,
        { type: 'PaymentReceived', paymentId: 'p', amountCents: 4999 },
        { type: 'GoodsFetched', warehouseId: 'w' },
      )
      .when({ type: 'ShipmentDispatched', trackingId: 't' })
      .then([{ type: 'ShipmentDispatched' }, completed('completed')]);
  });

  it('refuses shipping before payment, naming the accepted events', async () => {
    await spec
      .given(placed)
      .when({ type: 'ShipmentDispatched', trackingId: 't' })
      .thenRejected('EVENT_NOT_ACCEPTED', {
        acceptedEvents: ['PaymentReceived', 'PaymentFailed', 'OrderCancelled'],
      });
  });

  it('cancels an order whose payment window ran out', async () => {
    const { instance } = await spec
      .given({ ...placed, paymentWindowSeconds: 60 })
      .whenTimerFires('paymentWindow')
      .then([timerFired({ latenessMs: 0 }), completed('cancelled')]);
    expect(instance.context).toMatchObject({ cancellationReason: 'payment window expired' });
  });

  it('cancels the payment window once the order is paid', async () => {
    await spec
      .given(placed)
      .when({ type: 'PaymentReceived', paymentId: 'p', amountCents: 4999 })
      .then([
        { type: 'PaymentReceived' },
        timerCancelled({ cancelledByEventType: 'PaymentReceived' }),
      ]);
  });
  it('takes the payment service’s message as the payment: correlated by the order, once', async () => {
    await spec
      .given(placed)
      .whenMessage({ name: 'PaymentReceived', payload: { paymentId: 'p-m', amountCents: 4999 } })
      .then([
        { type: 'PaymentReceived', data: { paymentId: 'p-m' } },
        timerCancelled({ cancelledByEventType: 'PaymentReceived' }),
      ]);
  });

  it('refuses a payment message whose payload breaks the schema, naming the field', async () => {
    const rejection = await spec
      .given(placed)
      .whenMessage({ name: 'PaymentReceived', payload: { paymentId: 'p-m' } })
      .thenRejected('SCHEMA_VALIDATION_FAILED');
    expect(rejection).toMatchObject({
      errors: [expect.objectContaining({ path: 'payload.amountCents' })],
    });
  });
});

describe('the RefundPayment handler', () => {
  const command = (commandId: string, attempt = 1) => ({
    commandId,
    commandType: 'RefundPayment',
    workflow: 'orderFulfillment',
    instanceId: 'o-1',
    payload: { orderId: 'o-1', paymentId: 'pay-7', amountCents: 4999, currency: 'EUR' },
    attempt,
    signal: new AbortController().signal,
  });

  it('refunds once per command id and answers PaymentRefunded with the same refund every time', async () => {
    const payments = new StandInPaymentProvider();
    const handler = new RefundPaymentHandler(payments);
    const first = await handler.handle(command('cmd-1'));
    const again = await handler.handle(command('cmd-1', 2));
    expect(first).toEqual({
      reply: {
        type: 'PaymentRefunded',
        payload: { refundId: expect.stringMatching(/^refund-[0-9a-f]{12}$/) },
      },
    });
    expect(again).toEqual(first);
    expect(payments.made()).toHaveLength(1);
    const other = await handler.handle(command('cmd-2'));
    expect(other).not.toEqual(first);
    expect(payments.made().map((refund) => refund.paymentId)).toEqual(['pay-7', 'pay-7']);
  });
});
