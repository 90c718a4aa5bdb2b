import { WorkflowEngine } from '@esflow/domain';
import { anOrder } from './engine-fixture';

/**
 * Drives `count` orders through mixed paths (completed: 5 events, refunded: 6, payment failed: 3),
 * `concurrency` at a time; on average 5 events per order.
 */
export async function loadOrders(
  engine: WorkflowEngine,
  count: number,
  options: { prefix?: string; concurrency?: number } = {},
) {
  const prefix = options.prefix ?? 'load';
  let next = 0;
  const one = async (i: number) => {
    const order = anOrder(`${prefix}-${i}`);
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
