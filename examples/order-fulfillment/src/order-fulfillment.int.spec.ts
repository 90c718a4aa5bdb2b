import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TestApp, waitFor } from '@esflow/testing';
import { OrderFulfillmentModule } from './order-fulfillment.module';
import { StandInPaymentProvider } from './payment-provider';

// The module in a real application: the projector's command dispatcher carries out RefundPayment
// with the module's in-process handler, and its reply moves the order on.

const post = (app: TestApp, path: string, body: unknown) =>
  fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('OrderFulfillmentModule in an application', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ imports: [OrderFulfillmentModule] });
  });
  afterAll(async () => app?.close());

  it('refunds an order whose goods are unavailable, once, and cancels it', async () => {
    const orderId = 'order-refund-1';
    const placed = await post(app, '/workflows/orderFulfillment', {
      input: {
        orderId,
        customerId: 'c-7',
        amountCents: 1500,
        currency: 'EUR',
        items: [{ sku: 'SKU-3', quantity: 1 }],
      },
    });
    expect(placed.status).toBe(201);
    await post(app, `/workflows/orderFulfillment/${orderId}/events`, {
      type: 'PaymentReceived',
      payload: { paymentId: 'pay-3', amountCents: 1500 },
    });
    const unavailable = await post(app, `/workflows/orderFulfillment/${orderId}/events`, {
      type: 'GoodsUnavailable',
      payload: { sku: 'SKU-3' },
    });
    expect(unavailable.status).toBe(200);
    expect(((await unavailable.json()) as { state: string }).state).toBe('refunding');

    const cancelled = await waitFor(
      async () => {
        const instance = (await (
          await fetch(`${app.baseUrl}/workflows/orderFulfillment/${orderId}`)
        ).json()) as { state: string; status: string; inFlightCommands: unknown[] };
        return instance.state === 'cancelled' ? instance : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 20, what: 'the order refunded and cancelled' },
    );
    expect(cancelled).toMatchObject({ status: 'cancelled', inFlightCommands: [] });
    const { events } = (await (
      await fetch(`${app.baseUrl}/workflows/orderFulfillment/${orderId}/history`)
    ).json()) as {
      events: {
        type: string;
        data: Record<string, unknown>;
        metadata: Record<string, unknown>;
      }[];
    };
    const refunds = events.filter((e) => e.type === 'PaymentRefunded');
    const dispatched = events.filter((e) => e.type === 'CommandDispatched');
    expect(dispatched.map((e) => e.data['commandType'])).toEqual(['RefundPayment']);
    expect(refunds).toHaveLength(1);
    const { refundId } = refunds[0]!.data;
    expect(refunds[0]!.metadata['causationId']).toBe(dispatched[0]!.data['commandId']);
    expect(refundId).toMatch(/^refund-[0-9a-f]{12}$/);
    expect(app.app.get(StandInPaymentProvider).made()).toEqual([
      { refundId, paymentId: 'pay-3', amountCents: 1500, currency: 'EUR' },
    ]);
    expect(events.map((e) => e.type).slice(-4)).toEqual([
      'CommandDispatched',
      'PaymentRefunded',
      'CommandCompleted',
      'WorkflowCompleted',
    ]);
  });
});
