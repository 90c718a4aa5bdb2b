import { join } from 'node:path';
import {
  defineFeature,
  ErrorCode,
  EsflowError,
  EsflowFeature,
  InboundMessageMapping,
} from '@esflow/core';
import { orderFulfillmentV2 } from './order-fulfillment-v2.workflow';
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

/** The versions of orderFulfillment this package defines, by number. */
export const ORDER_FULFILLMENT_DEFINITIONS = {
  1: orderFulfillment,
  2: orderFulfillmentV2,
} as const;

/** A version of orderFulfillment this package defines. */
export type OrderFulfillmentVersion = keyof typeof ORDER_FULFILLMENT_DEFINITIONS;

/** The environment variable that selects the versions the bundled apps register. */
export const ORDER_FULFILLMENT_VERSIONS_VARIABLE = 'ORDER_FULFILLMENT_VERSIONS';

const DEFINED = Object.keys(ORDER_FULFILLMENT_DEFINITIONS).map(Number) as OrderFulfillmentVersion[];

/**
 * The versions ORDER_FULFILLMENT_VERSIONS names (`value`), in ascending order: unset means v1
 * only; else a comma-separated list of defined versions (`1`, `2`, `1,2`), each once. Throws
 * INVALID_CONFIGURATION, naming the variable, for anything else.
 */
export function orderFulfillmentVersionsFrom(value: string | undefined): OrderFulfillmentVersion[] {
  if (value === undefined) return [1];
  const versions = value
    .split(',')
    .map((item) => item.trim())
    .map((item) => (/^[0-9]+$/.test(item) ? Number(item) : Number.NaN));
  const defined = (version: number): version is OrderFulfillmentVersion =>
    DEFINED.includes(version as OrderFulfillmentVersion);
  if (!versions.every(defined) || new Set(versions).size !== versions.length)
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `${ORDER_FULFILLMENT_VERSIONS_VARIABLE} must be 1, 2 or 1,2 (the orderFulfillment versions to register, comma-separated), got ${JSON.stringify(value)}`,
      { details: { variable: ORDER_FULFILLMENT_VERSIONS_VARIABLE, value } },
    );
  return versions.sort((a, b) => a - b);
}

/**
 * orderFulfillment with exactly these versions registered side by side (new instances start on
 * the highest; each instance keeps running on the version it started on), its schemas and the
 * payment service's mappings. Throws INVALID_DEFINITION for no version or an undefined one.
 */
export function orderFulfillmentFeatureOf(
  versions: readonly OrderFulfillmentVersion[],
): EsflowFeature {
  const unknown = versions.filter((version) => !DEFINED.includes(version));
  if (unknown.length > 0)
    throw new EsflowError(
      ErrorCode.InvalidDefinition,
      `orderFulfillment has no version ${unknown.join(', ')} (it defines ${DEFINED.join(', ')})`,
    );
  return defineFeature({
    workflows: [...new Set(versions)]
      .sort((a, b) => a - b)
      .map((version) => ORDER_FULFILLMENT_DEFINITIONS[version]),
    schemas: ORDER_FULFILLMENT_SCHEMAS,
    inbound: PAYMENT_MAPPINGS,
  });
}

/**
 * Everything orderFulfillment brings to the bundled apps: the versions ORDER_FULFILLMENT_VERSIONS
 * selects (v1 unless it says; see {@link orderFulfillmentVersionsFrom}), read once, when the
 * package is loaded, so a bad value stops start-up. `esflow.config.js` lists every version.
 */
export const orderFulfillmentFeature = orderFulfillmentFeatureOf(
  orderFulfillmentVersionsFrom(process.env[ORDER_FULFILLMENT_VERSIONS_VARIABLE]),
);
