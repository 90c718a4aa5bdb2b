import { Module } from '@nestjs/common';
import { EsflowModule } from '@esflow/nest';
import { orderFulfillmentFeature } from './order-fulfillment.feature';
import { StandInPaymentProvider } from './payment-provider';
import { RefundPaymentHandler } from './refund-payment.handler';

/**
 * The orderFulfillment workflow as a Nest module: import it beside `EsflowModule.forRoot`. Its
 * RefundPayment handler runs where the projector runs (`EsflowProjectorModule`).
 */
@Module({
  imports: [EsflowModule.forFeature(orderFulfillmentFeature)],
  providers: [StandInPaymentProvider, RefundPaymentHandler],
})
export class OrderFulfillmentModule {}
