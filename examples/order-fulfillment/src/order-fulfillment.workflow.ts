import { assign, emit, setup } from 'xstate';
import { defineWorkflow } from '@esflow/core';
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
    paymentWindow: ({ context }) => context.paymentWindowSeconds * 1000,
  },
}).createMachine({
  id: 'orderFulfillment',
  initial: 'awaitingPayment',
  context: ({ input }) => ({
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
  }),
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
            emit(({ context }) => ({
              type: 'RefundPayment' as const,
              orderId: context.orderId,
              paymentId: context.paymentId ?? '',
              amountCents: context.amountCents,
              currency: context.currency,
            })),
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
  // The payment service reports payments, and the carrier dispatches, as messages matched by
  // the order they are for. A payment that comes before its order waits for it (an hour); one
  // that comes after the payment window cancelled the order is quarantined for an operator to
  // refund, not silently dropped.
  correlationKeys: {
    orderId: (context) => context.orderId,
    customerId: (context) => context.customerId,
  },
  messages: {
    PaymentReceived: { correlateBy: 'orderId', ttlSeconds: 3_600, late: 'quarantine' },
    PaymentFailed: { correlateBy: 'orderId', ttlSeconds: 3_600 },
    // The carrier's notice may come before the warehouse reports the goods fetched: it waits.
    ShipmentDispatched: { correlateBy: 'orderId', ttlSeconds: 86_400 },
    // The support desk cancels "the customer's unpaid order": matched by customer, so a customer
    // with two unpaid orders makes it ambiguous, and an operator decides which one.
    OrderCancelled: { correlateBy: 'customerId', ttlSeconds: 600 },
  },
});
