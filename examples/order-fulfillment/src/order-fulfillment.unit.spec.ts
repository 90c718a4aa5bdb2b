import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { statusOf } from '@esflow/core';
import { orderFulfillment, orderFulfillmentMachine } from './order-fulfillment.workflow';

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
    expect(snapshot.context).toMatchObject({ orderId: 'o-1', amountCents: 4999, paymentId: null });
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
