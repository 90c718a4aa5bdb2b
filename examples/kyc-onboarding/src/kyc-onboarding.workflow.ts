import { assign, emit, setup } from 'xstate';
import { defineWorkflow } from '@esflow/core';
import { KycOnboardingCommand, KycOnboardingEvent, UserCreated } from './kyc-onboarding.events';

/** What an onboarding remembers. */
export interface KycOnboardingContext {
  readonly userId: string;
  readonly email: string;
  readonly fullName: string;
  readonly country: string;
  readonly kycCheckId: string | null;
  readonly accountId: string | null;
  readonly rollbackReason: string | null;
}

/**
 * The user-onboarding saga: a new user is checked by a KYC provider; a verified user gets an
 * account and then a welcome email; a user who fails the check is rolled back. Every step that
 * another service performs is a command the machine emits (recorded by esflow, executed by a
 * dispatcher), and its answer comes back as an event.
 */
export const kycOnboardingMachine = setup({
  types: {
    context: {} as KycOnboardingContext,
    input: {} as UserCreated,
    events: {} as KycOnboardingEvent,
    emitted: {} as KycOnboardingCommand,
  },
}).createMachine({
  id: 'kycOnboarding',
  initial: 'awaitingKyc',
  context: ({ input }) => ({
    userId: input.userId,
    email: input.email,
    fullName: input.fullName,
    country: input.country,
    kycCheckId: null,
    accountId: null,
    rollbackReason: null,
  }),
  states: {
    awaitingKyc: {
      entry: emit(({ context }) => ({
        type: 'RunKycCheck' as const,
        userId: context.userId,
        fullName: context.fullName,
        country: context.country,
      })),
      on: {
        KYCCompleted: {
          target: 'creatingAccount',
          actions: [
            assign({ kycCheckId: ({ event }) => event.checkId }),
            emit(({ context }) => ({
              type: 'CreateAccount' as const,
              userId: context.userId,
              email: context.email,
            })),
          ],
        },
        KYCFailed: {
          target: 'rolledBack',
          actions: [
            assign({
              kycCheckId: ({ event }) => event.checkId,
              rollbackReason: ({ event }) => `KYC failed: ${event.reason}`,
            }),
            emit(({ context, event }) => ({
              type: 'RollbackUser' as const,
              userId: context.userId,
              reason: `KYC failed: ${event.reason}`,
            })),
          ],
        },
      },
    },
    creatingAccount: {
      on: {
        AccountCreated: {
          target: 'sendingWelcomeEmail',
          actions: [
            assign({ accountId: ({ event }) => event.accountId }),
            emit(({ context, event }) => ({
              type: 'SendWelcomeEmail' as const,
              userId: context.userId,
              email: context.email,
              accountId: event.accountId,
            })),
          ],
        },
      },
    },
    sendingWelcomeEmail: {
      on: { WelcomeEmailSent: { target: 'completed' } },
    },
    completed: { type: 'final' },
    rolledBack: { type: 'final', meta: { status: 'cancelled' } },
  },
});

/** kycOnboarding v1; the user id is the business key, so a user is onboarded once. */
export const kycOnboarding = defineWorkflow({
  name: 'kycOnboarding',
  version: 1,
  machine: kycOnboardingMachine,
  startEvent: 'UserCreated',
  commands: ['RunKycCheck', 'CreateAccount', 'SendWelcomeEmail', 'RollbackUser'],
  instanceIdFrom: (input) => input.userId,
});
