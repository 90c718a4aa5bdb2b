import { Injectable } from '@nestjs/common';
import { CommandHandler, CommandResult, DispatchedCommand } from '@esflow/core';
import { EsflowCommandHandler } from '@esflow/nest';
import {
  AccountCreated,
  CloseAccount,
  CreateAccount,
  RollbackUser,
  SendWelcomeEmail,
  WelcomeEmailSent,
} from './kyc-onboarding.events';
import { StandInAccountService, StandInMailer, StandInUserDirectory } from './stand-in-services';

// The onboarding's in-process steps and compensations, each carried out by the projector's
// command dispatcher, at least once, with the same command id on every attempt: each passes the
// id on as its idempotency key. RunKycCheck has no handler here: an external KYC worker leases
// it over REST (`POST /commands/lease`).

/** CreateAccount: opens the account; its output is the new account's id. */
@Injectable()
@EsflowCommandHandler('CreateAccount')
export class CreateAccountHandler implements CommandHandler<CreateAccount> {
  constructor(private readonly accounts: StandInAccountService) {}

  async handle(command: DispatchedCommand<CreateAccount>): Promise<CommandResult> {
    const { userId, email } = command.payload;
    const output: AccountCreated = {
      accountId: await this.accounts.open(command.commandId, userId, email),
    };
    return { output };
  }
}

/** SendWelcomeEmail: sends the welcome email; its output is the message id. */
@Injectable()
@EsflowCommandHandler('SendWelcomeEmail')
export class SendWelcomeEmailHandler implements CommandHandler<SendWelcomeEmail> {
  constructor(private readonly mailer: StandInMailer) {}

  async handle(command: DispatchedCommand<SendWelcomeEmail>): Promise<CommandResult> {
    const { email, accountId } = command.payload;
    const output: WelcomeEmailSent = {
      messageId: await this.mailer.sendWelcome(command.commandId, email, accountId),
    };
    return { output };
  }
}

/** CloseAccount (a compensation): closes the account; no output. */
@Injectable()
@EsflowCommandHandler('CloseAccount')
export class CloseAccountHandler implements CommandHandler<CloseAccount> {
  constructor(private readonly accounts: StandInAccountService) {}

  async handle(command: DispatchedCommand<CloseAccount>): Promise<CommandResult> {
    await this.accounts.close(command.commandId, command.payload.accountId);
  }
}

/** RollbackUser (a compensation): removes the user's sign-up; no output. */
@Injectable()
@EsflowCommandHandler('RollbackUser')
export class RollbackUserHandler implements CommandHandler<RollbackUser> {
  constructor(private readonly users: StandInUserDirectory) {}

  async handle(command: DispatchedCommand<RollbackUser>): Promise<CommandResult> {
    const { userId, reason } = command.payload;
    await this.users.rollBack(command.commandId, userId, reason);
  }
}
