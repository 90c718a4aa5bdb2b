import { assign, emit, setup } from 'xstate';
import { defineWorkflow, MessageSpec } from '@esflow/core';
import {
  DEFAULT_PAYMENT_WINDOW_SECONDS,
  OrderFulfillmentEvent,
  OrderItem,
  OrderPlaced,
  RefundPayment,
} from './order-fulfillment.events';

export interface OrderFulfillmentContext {
  readonly orderId: string;
  readonly customerId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly items: readonly OrderItem[];
  readonly paymentId: string | null;
  readonly warehouseId: string | null;
  readonly trackingId: string | null;
  readonly cancellationReason: string | null;
  readonly paymentWindowSeconds: number;
}

/** The context an order starts with: what was ordered; nothing paid, fetched or shipped yet. */
export function orderContextOf(input: OrderPlaced): OrderFulfillmentContext {
  return {
    orderId: input.orderId,
    customerId: input.customerId,
    amountCents: input.amountCents,
    currency: input.currency,
    items: input.items,
    paymentId: null,
    warehouseId: null,
    trackingId: null,
    cancellationReason: null,
    paymentWindowSeconds: input.paymentWindowSeconds ?? DEFAULT_PAYMENT_WINDOW_SECONDS,
  };
}

/** How long the order waits for its payment (the `paymentWindow` delay), in milliseconds. */
export function paymentWindowMs(context: OrderFulfillmentContext): number {
  return context.paymentWindowSeconds * 1000;
}

/** The RefundPayment command that gives a paid order's money back. */
export function refundOf(context: OrderFulfillmentContext): RefundPayment {
  return {
    type: 'RefundPayment',
    orderId: context.orderId,
    paymentId: context.paymentId ?? '',
    amountCents: context.amountCents,
    currency: context.currency,
  };
}

/** The keys every version of orderFulfillment declares for message correlation. */
export const ORDER_CORRELATION_KEYS = {
  orderId: (context: OrderFulfillmentContext) => context.orderId,
  customerId: (context: OrderFulfillmentContext) => context.customerId,
};

/**
 * The messages every version of orderFulfillment receives. The payment service reports
 * payments, and the carrier dispatches, as messages matched by the order they are for. A
 * payment that comes before its order waits for it (an hour); one that comes after the payment
 * window cancelled the order is quarantined for an operator to refund, not silently dropped.
 */
export const ORDER_MESSAGES = {
  PaymentReceived: { correlateBy: 'orderId', ttlSeconds: 3_600, late: 'quarantine' },
  PaymentFailed: { correlateBy: 'orderId', ttlSeconds: 3_600 },
  // The carrier's notice may come before the warehouse reports the goods fetched: it waits.
  ShipmentDispatched: { correlateBy: 'orderId', ttlSeconds: 86_400 },
  // The support desk cancels "the customer's unpaid order": matched by customer, so a customer
  // with two unpaid orders makes it ambiguous, and an operator decides which one.
  OrderCancelled: { correlateBy: 'customerId', ttlSeconds: 600 },
} as const satisfies Record<
  string,
  MessageSpec<OrderFulfillmentEvent['type'], 'orderId' | 'customerId'>
>;

/**
 * The example workflow that ships with esflow (see docs/architecture.md):
 * awaitingPayment → fetchingGoods → shipping → completed, with payment failure, cancellation
 * and an out-of-stock refund path ending in `cancelled`. An order not paid within its payment
 * window (`paymentWindowSeconds`, default 30 minutes) is cancelled by a durable timer.
 */
export const orderFulfillmentMachine = setup({
  types: {
    context: {} as OrderFulfillmentContext,
    input: {} as OrderPlaced,
    events: {} as OrderFulfillmentEvent,
    emitted: {} as RefundPayment,
  },
  delays: {
    // Named delays are computed from context when the state is entered; esflow records the
    // resulting due time, so a replay never recomputes it.
    paymentWindow: ({ context }) => paymentWindowMs(context),
  },
}).createMachine({
  id: 'orderFulfillment',
  initial: 'awaitingPayment',
  context: ({ input }) => orderContextOf(input),
  states: {
    awaitingPayment: {
      after: {
        paymentWindow: {
          target: 'cancelled',
          actions: assign({ cancellationReason: 'payment window expired' }),
        },
      },
      on: {
        PaymentReceived: {
          target: 'fetchingGoods',
          actions: assign({ paymentId: ({ event }) => event.paymentId }),
        },
        PaymentFailed: {
          target: 'cancelled',
          actions: assign({ cancellationReason: ({ event }) => `payment failed: ${event.reason}` }),
        },
        OrderCancelled: {
          target: 'cancelled',
          actions: assign({ cancellationReason: ({ event }) => event.reason }),
        },
      },
    },
    fetchingGoods: {
      on: {
        GoodsFetched: {
          target: 'shipping',
          actions: assign({ warehouseId: ({ event }) => event.warehouseId }),
        },
        GoodsUnavailable: {
          target: 'refunding',
          actions: [
            assign({ cancellationReason: ({ event }) => `goods unavailable: ${event.sku}` }),
            emit(({ context }) => refundOf(context)),
          ],
        },
      },
    },
    refunding: {
      on: { PaymentRefunded: { target: 'cancelled' } },
    },
    shipping: {
      on: {
        ShipmentDispatched: {
          target: 'completed',
          actions: assign({ trackingId: ({ event }) => event.trackingId }),
        },
      },
    },
    completed: { type: 'final' },
    cancelled: { type: 'final', meta: { status: 'cancelled' } },
  },
});

export const orderFulfillment = defineWorkflow({
  name: 'orderFulfillment',
  version: 1,
  machine: orderFulfillmentMachine,
  startEvent: 'OrderPlaced',
  commands: ['RefundPayment'],
  instanceIdFrom: (input) => input.orderId,
  correlationKeys: ORDER_CORRELATION_KEYS,
  messages: ORDER_MESSAGES,
});
