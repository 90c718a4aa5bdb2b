import { Injectable } from '@nestjs/common';
import { CommandHandler, CommandResult, DispatchedCommand } from '@esflow/core';
import { EsflowCommandHandler } from '@esflow/nest';
import { CheckFraud } from './order-fulfillment.events';
import { StandInFraudChecker } from './fraud-checker';

/**
 * Carries out orderFulfillment v2's CheckFraud in process (the projector's command dispatcher
 * calls it): asks the fraud checker, keyed by the command id, and answers with the reply event
 * `FraudCheckPassed`, which moves the order on to `fetchingGoods`, or `FraudCheckFailed`, which
 * refunds it. A thrown error is a failed attempt, retried per the command type's policy.
 * Registered only when v2 is (see `orderFulfillmentProviders`).
 */
@Injectable()
@EsflowCommandHandler('CheckFraud')
export class CheckFraudHandler implements CommandHandler<Omit<CheckFraud, 'type'>> {
  constructor(private readonly fraud: StandInFraudChecker) {}

  async handle(command: DispatchedCommand<Omit<CheckFraud, 'type'>>): Promise<CommandResult> {
    const verdict = await this.fraud.check(command.commandId, command.payload);
    return verdict.passed
      ? { reply: { type: 'FraudCheckPassed', payload: { checkId: verdict.checkId } } }
      : {
          reply: {
            type: 'FraudCheckFailed',
            payload: { checkId: verdict.checkId, reason: verdict.reason },
          },
        };
  }
}
