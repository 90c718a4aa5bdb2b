import { Module, Provider } from '@nestjs/common';
import { EsflowFeature } from '@esflow/core';
import { EsflowModule } from '@esflow/nest';
import { CheckFraudHandler } from './check-fraud.handler';
import { StandInFraudChecker } from './fraud-checker';
import { orderFulfillmentFeature } from './order-fulfillment.feature';
import { StandInPaymentProvider } from './payment-provider';
import { RefundPaymentHandler } from './refund-payment.handler';

/**
 * The in-process command handlers (with their stand-in services) of the versions `feature`
 * registers: RefundPayment's always, CheckFraud's only with v2, which alone dispatches it (a
 * handler of a command no registered workflow dispatches stops start-up).
 */
export function orderFulfillmentProviders(feature: EsflowFeature): Provider[] {
  const dispatches = (type: string) =>
    feature.workflows.some((workflow) => workflow.commands.includes(type));
  return [
    StandInPaymentProvider,
    RefundPaymentHandler,
    ...(dispatches('CheckFraud') ? [StandInFraudChecker, CheckFraudHandler] : []),
  ];
}

/**
 * The orderFulfillment workflow as a Nest module, at the versions ORDER_FULFILLMENT_VERSIONS
 * selects (v1 unless it says): import it beside `EsflowModule.forRoot`. Its command handlers
 * run where the projector runs (`EsflowProjectorModule`).
 */
@Module({
  imports: [EsflowModule.forFeature(orderFulfillmentFeature)],
  providers: orderFulfillmentProviders(orderFulfillmentFeature),
})
export class OrderFulfillmentModule {}
