/**
 * The orderFulfillment example: a workflow module built only on esflow's public packages.
 * @packageDocumentation
 */
export { orderFulfillment, orderFulfillmentMachine } from './order-fulfillment.workflow';
export { DEFAULT_PAYMENT_WINDOW_SECONDS } from './order-fulfillment.events';
export type { OrderFulfillmentContext } from './order-fulfillment.workflow';
export type {
  OrderFulfillmentEvent,
  OrderItem,
  OrderPlaced,
  RefundPayment,
} from './order-fulfillment.events';
export {
  ORDER_FULFILLMENT_SCHEMAS,
  orderFulfillmentFeature,
  PAYMENT_MAPPINGS,
  PAYMENT_SERVICE_SCHEMAS,
  PAYMENTS_TOPIC,
} from './order-fulfillment.feature';
export { OrderFulfillmentModule } from './order-fulfillment.module';
export { RefundPaymentHandler } from './refund-payment.handler';
export { StandInPaymentProvider } from './payment-provider';
export type { Refund } from './payment-provider';
export { driveSampleOrders, sampleOrder } from './sample-traffic';
