// The order the REST scenarios drive through the bundled api: orderFulfillment's start input and
// the three events that take an order from placed to shipped (one transition each).

/** The start input of the order `orderId`. */
export const orderInput = (orderId: string) => ({
  orderId,
  customerId: 'c',
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'S', quantity: 1 }],
});

/** The events after the start, in the order the workflow accepts them. */
export const ORDER_STEPS = [
  ['PaymentReceived', { paymentId: 'pay', amountCents: 4999 }],
  ['GoodsFetched', { warehouseId: 'wh-1' }],
  ['ShipmentDispatched', { trackingId: 'trk-1' }],
] as const;
