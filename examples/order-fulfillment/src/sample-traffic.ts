import { WorkflowEngine } from '@esflow/core';
import { OrderPlaced } from './order-fulfillment.events';

export function sampleOrder(orderId: string): OrderPlaced {
  return {
    orderId,
    customerId: 'customer-7',
    amountCents: 4999,
    currency: 'EUR',
    items: [{ sku: 'SKU-1', quantity: 2 }],
  };
}

/**
 * Example traffic for tests and benchmarks: drives `count` orders through mixed paths
 * (completed: 5 events, refunded: 6, payment failed: 3; 5 on average), `concurrency` at a time.
 */
export async function driveSampleOrders(
  engine: WorkflowEngine,
  count: number,
  options: { prefix?: string; concurrency?: number } = {},
): Promise<void> {
  const prefix = options.prefix ?? 'sample';
  let next = 0;
  const one = async (i: number) => {
    const order = sampleOrder(`${prefix}-${i}`);
    const send = (type: string, payload: unknown) =>
      engine.sendEvent.handle({ workflow: 'orderFulfillment', id: order.orderId, type, payload });
    await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: order });
    if (i % 4 === 3) return void (await send('PaymentFailed', { reason: 'declined' }));
    await send('PaymentReceived', { paymentId: `pay-${i}`, amountCents: 4999 });
    if (i % 4 === 0) {
      await send('GoodsFetched', { warehouseId: 'wh-1' });
      await send('ShipmentDispatched', { trackingId: `trk-${i}` });
    } else {
      await send('GoodsUnavailable', { sku: 'SKU-1' });
      await send('PaymentRefunded', { refundId: `ref-${i}` });
    }
  };
  const worker = async () => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 64 }, worker));
}
