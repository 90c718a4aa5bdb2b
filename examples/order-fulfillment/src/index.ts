/**
 * The orderFulfillment example: a workflow module built only on esflow's public packages.
 * @packageDocumentation
 */
export { orderFulfillment, orderFulfillmentMachine } from './order-fulfillment.workflow';
export { orderFulfillmentV2, orderFulfillmentV2Machine } from './order-fulfillment-v2.workflow';
export { DEFAULT_PAYMENT_WINDOW_SECONDS } from './order-fulfillment.events';
export type { OrderFulfillmentContext } from './order-fulfillment.workflow';
export type { OrderFulfillmentV2Context } from './order-fulfillment-v2.workflow';
export type {
  CheckFraud,
  FraudCheckReply,
  OrderFulfillmentEvent,
  OrderFulfillmentV2Event,
  OrderItem,
  OrderPlaced,
  RefundPayment,
} from './order-fulfillment.events';
export {
  ORDER_FULFILLMENT_DEFINITIONS,
  ORDER_FULFILLMENT_SCHEMAS,
  ORDER_FULFILLMENT_VERSIONS_VARIABLE,
  orderFulfillmentFeature,
  orderFulfillmentFeatureOf,
  orderFulfillmentVersionsFrom,
  PAYMENT_MAPPINGS,
  PAYMENT_SERVICE_SCHEMAS,
  PAYMENTS_TOPIC,
} from './order-fulfillment.feature';
export type { OrderFulfillmentVersion } from './order-fulfillment.feature';
export { OrderFulfillmentModule, orderFulfillmentProviders } from './order-fulfillment.module';
export { RefundPaymentHandler } from './refund-payment.handler';
export { CheckFraudHandler } from './check-fraud.handler';
export { StandInPaymentProvider } from './payment-provider';
export type { Refund } from './payment-provider';
export { FRAUD_CHECK_LIMIT_CENTS, StandInFraudChecker } from './fraud-checker';
export type { FraudVerdict } from './fraud-checker';
export { driveSampleOrders, sampleOrder } from './sample-traffic';
