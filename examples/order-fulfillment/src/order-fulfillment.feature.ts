import { join } from 'node:path';
import { defineFeature, InboundMessageMapping } from '@esflow/core';
import { orderFulfillment } from './order-fulfillment.workflow';

/** This module's schemas: `schemas/` beside `src/` (and beside `dist/` once built). */
export const ORDER_FULFILLMENT_SCHEMAS = join(__dirname, '..', 'schemas');

/** The payment service's own schemas (`payment-service/`), which its topic's records follow. */
export const PAYMENT_SERVICE_SCHEMAS = join(__dirname, '..', 'payment-service');

/** The topic the payment service publishes to: `payments` unless ESFLOW_PAYMENTS_TOPIC says. */
export const PAYMENTS_TOPIC = process.env['ESFLOW_PAYMENTS_TOPIC'] ?? 'payments';

/**
 * How the payment service's events become orderFulfillment's messages: a captured payment is a
 * PaymentReceived, a declined one a PaymentFailed, both correlated by the order id, each
 * deduplicated by the payment service's event id.
 */
export const PAYMENT_MAPPINGS: readonly InboundMessageMapping[] = [
  {
    topic: PAYMENTS_TOPIC,
    sourceEventType: 'com.example.payments.PaymentCaptured',
    message: 'PaymentReceived',
    correlationKeyPath: 'orderId',
    sourceEventId: 'eventId',
    payload: { paymentId: 'payment.id', amountCents: 'payment.amountCents' },
  },
  {
    topic: PAYMENTS_TOPIC,
    sourceEventType: 'com.example.payments.PaymentDeclined',
    message: 'PaymentFailed',
    correlationKeyPath: 'orderId',
    sourceEventId: 'eventId',
    payload: { reason: 'reason' },
  },
];

/** Everything orderFulfillment brings to an application; `esflow.config.js` lists it too. */
export const orderFulfillmentFeature = defineFeature({
  workflows: [orderFulfillment],
  schemas: ORDER_FULFILLMENT_SCHEMAS,
  inbound: PAYMENT_MAPPINGS,
});
