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
 * (completed, refunded through its RefundPayment command, payment failed), `concurrency` at a
 * time.
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
      // Refunded as a worker would: the RefundPayment command completes with its reply, so
      // nothing is left in flight for a dispatcher to carry out later.
      const unavailable = await send('GoodsUnavailable', { sku: 'SKU-1' });
      const refund = unavailable.ok
        ? unavailable.value.instance.inFlightCommands.find((c) => c.commandType === 'RefundPayment')
        : undefined;
      if (refund)
        await engine.commands.complete({
          workflow: 'orderFulfillment',
          id: order.orderId,
          commandId: refund.commandId,
          attempts: 1,
          reply: { type: 'PaymentRefunded', payload: { refundId: `ref-${i}` } },
        });
    }
  };
  const worker = async () => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 64 }, worker));
}
