import { Injectable } from '@nestjs/common';
import { CommandHandler, CommandResult, DispatchedCommand } from '@esflow/core';
import { EsflowCommandHandler } from '@esflow/nest';
import { RefundPayment } from './order-fulfillment.events';
import { StandInPaymentProvider } from './payment-provider';

/**
 * Carries out RefundPayment in process (the projector's command dispatcher calls it): refunds
 * through the payment provider, keyed by the command id, and answers with the reply event
 * `PaymentRefunded`, which moves the order from `refunding` to `cancelled`. A thrown error is a
 * failed attempt, retried per the command type's policy.
 */
@Injectable()
@EsflowCommandHandler('RefundPayment')
export class RefundPaymentHandler implements CommandHandler<Omit<RefundPayment, 'type'>> {
  constructor(private readonly payments: StandInPaymentProvider) {}

  async handle(command: DispatchedCommand<Omit<RefundPayment, 'type'>>): Promise<CommandResult> {
    const { paymentId, amountCents, currency } = command.payload;
    const refund = await this.payments.refund(command.commandId, {
      paymentId,
      amountCents,
      currency,
    });
    return { reply: { type: 'PaymentRefunded', payload: { refundId: refund.refundId } } };
  }
}
