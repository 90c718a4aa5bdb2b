import { assign, emit, setup } from 'xstate';
import { defineWorkflow } from '@esflow/core';
import {
  CheckFraud,
  OrderFulfillmentV2Event,
  OrderPlaced,
  RefundPayment,
} from './order-fulfillment.events';
import {
  ORDER_CORRELATION_KEYS,
  ORDER_MESSAGES,
  orderContextOf,
  OrderFulfillmentContext,
  orderFulfillment,
  orderFulfillmentMachine,
  paymentWindowMs,
  refundOf,
} from './order-fulfillment.workflow';

export interface OrderFulfillmentV2Context extends OrderFulfillmentContext {
  /** The fraud check the order went through (its reply's `checkId`); null until it answered. */
  readonly fraudCheckId: string | null;
}

/** v1's states, which v2 keeps: v2 only reroutes the payment through the fraud check. */
const v1 = orderFulfillmentMachine.config.states!;

/**
 * orderFulfillment v2: v1 with a fraud check between payment and fetching the goods.
 * awaitingPayment → checkingFraud → fetchingGoods → shipping → completed; a failed check
 * refunds the payment (refunding → cancelled) as unavailable goods do. Everything else — the
 * payment window, cancellation, the refund path, the messages — is v1's.
 */
export const orderFulfillmentV2Machine = setup({
  types: {
    context: {} as OrderFulfillmentV2Context,
    input: {} as OrderPlaced,
    events: {} as OrderFulfillmentV2Event,
    emitted: {} as RefundPayment | CheckFraud,
  },
  delays: {
    paymentWindow: ({ context }) => paymentWindowMs(context),
  },
}).createMachine({
  // v1's id: the states' ids, and so the timers' event types, stay the same.
  id: 'orderFulfillment',
  initial: 'awaitingPayment',
  context: ({ input }) => ({ ...orderContextOf(input), fraudCheckId: null }),
  states: {
    ...v1,
    // v1's awaitingPayment, but a payment goes to the fraud check. (Restated, not spread from
    // v1's: XState types each transition with its machine's events, which v2 extends.)
    awaitingPayment: {
      after: {
        paymentWindow: {
          target: 'cancelled',
          actions: assign({ cancellationReason: 'payment window expired' }),
        },
      },
      on: {
        PaymentReceived: {
          target: 'checkingFraud',
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
    // Asks the fraud service about the paid order (CheckFraud) and waits for its verdict.
    checkingFraud: {
      entry: emit(({ context }) => ({
        type: 'CheckFraud' as const,
        orderId: context.orderId,
        customerId: context.customerId,
        amountCents: context.amountCents,
        currency: context.currency,
      })),
      on: {
        FraudCheckPassed: {
          target: 'fetchingGoods',
          actions: assign({ fraudCheckId: ({ event }) => event.checkId }),
        },
        FraudCheckFailed: {
          target: 'refunding',
          actions: [
            assign({
              fraudCheckId: ({ event }) => event.checkId,
              cancellationReason: ({ event }) => `fraud check failed: ${event.reason}`,
            }),
            emit(({ context }) => refundOf(context)),
          ],
        },
      },
    },
  },
});

/**
 * Version 2 of orderFulfillment, registered beside v1 (see `orderFulfillmentFeatureOf`): new
 * orders start on it, orders started on v1 keep running on v1. CheckFraud's replies,
 * FraudCheckPassed and FraudCheckFailed, are events of the machine, each with its schema.
 */
export const orderFulfillmentV2 = defineWorkflow({
  name: orderFulfillment.name,
  version: 2,
  machine: orderFulfillmentV2Machine,
  startEvent: 'OrderPlaced',
  commands: ['RefundPayment', 'CheckFraud'],
  instanceIdFrom: (input) => input.orderId,
  correlationKeys: ORDER_CORRELATION_KEYS,
  messages: ORDER_MESSAGES,
  // A v1 order migrated here has not been checked: no fraudCheckId yet. Whatever a migration's
  // context patch sets, it must still be an order v2 can run.
  migrations: {
    contextFrom: {
      1: (context) => ({ ...(context as OrderFulfillmentContext), fraudCheckId: null }),
    },
    validateContext: (context) => {
      const order = context as Partial<OrderFulfillmentV2Context>;
      const problems: { path: string; message: string }[] = [];
      if (order.fraudCheckId !== null && typeof order.fraudCheckId !== 'string')
        problems.push({ path: 'fraudCheckId', message: 'must be a string or null' });
      if (typeof order.amountCents !== 'number' || !Number.isInteger(order.amountCents))
        problems.push({ path: 'amountCents', message: 'must be an integer' });
      if (typeof order.orderId !== 'string' || order.orderId === '')
        problems.push({ path: 'orderId', message: 'must be a non-empty string' });
      return problems;
    },
  },
});
