import { assign, setup } from 'xstate';
import { defineCompensations, defineWorkflow, durableCommand, SagaLog } from '@esflow/core';
import {
  AccountCreated,
  CreateAccount,
  DEFAULT_KYC_TIMEOUT_SECONDS,
  KycVerdict,
  KycVerdictEvent,
  RunKycCheck,
  SendWelcomeEmail,
  UserCreated,
  WelcomeEmailSent,
} from './kyc-onboarding.events';

/**
 * What undoes each step of the onboarding, last first: the account is closed, then the user's
 * sign-up rolled back. Each is a durable command with an in-process handler in this module.
 */
export const kycCompensations = defineCompensations({
  closeAccount: 'CloseAccount',
  rollbackUser: 'RollbackUser',
});

/** The compensations of an onboarding, by the name of the actor that carries each out. */
export type KycCompensation = keyof typeof kycCompensations.invokes;

/** What an onboarding remembers. */
export interface KycOnboardingContext {
  readonly userId: string;
  readonly email: string;
  readonly fullName: string;
  readonly country: string;
  readonly kycTimeoutSeconds: number;
  readonly kycCheckId: string | null;
  readonly accountId: string | null;
  readonly messageId: string | null;
  /** The steps done (each with what undoes it), those compensated, and why. */
  readonly saga: SagaLog<KycCompensation>;
}

/**
 * The user-onboarding saga. A new user is checked by a KYC provider (RunKycCheck, carried out by
 * an external worker); a verified user gets an account (CreateAccount), then a welcome email
 * (SendWelcomeEmail). Each step is an invoked actor that esflow records as a durable command and
 * retries per its policy. When the check fails, the provider does not answer within the KYC
 * timeout (48 hours unless the sign-up says otherwise), or a later step fails for good, the
 * steps already done are compensated in reverse order: the account is closed (if one was
 * opened), then the sign-up is rolled back. The verdict may also come as an event
 * (`KYCCompleted`, `KYCFailed`: the provider's webhook, an operator's decision). A KYC check that
 * fails for good (the worker gives up) is an incident for an operator, not a rejection: the
 * timeout still bounds the wait.
 */
export const kycOnboardingMachine = setup({
  types: {
    context: {} as KycOnboardingContext,
    input: {} as UserCreated,
    events: {} as KycVerdictEvent,
  },
  actors: {
    runKycCheck: durableCommand<RunKycCheck, KycVerdict>(),
    createAccount: durableCommand<CreateAccount, AccountCreated>(),
    sendWelcomeEmail: durableCommand<SendWelcomeEmail, WelcomeEmailSent>(),
  },
  guards: {
    // Given the verdict as a parameter: a named guard keeps the machine's type nameable.
    kycPassed: (_, verdict: KycVerdict) => verdict.passed,
  },
  delays: {
    // Computed from context when awaitingKyc is entered; esflow records the due time.
    kycTimeout: ({ context }) => context.kycTimeoutSeconds * 1000,
  },
}).createMachine({
  id: 'kycOnboarding',
  initial: 'awaitingKyc',
  context: ({ input }) => ({
    userId: input.userId,
    email: input.email,
    fullName: input.fullName,
    country: input.country,
    kycTimeoutSeconds: input.kycTimeoutSeconds ?? DEFAULT_KYC_TIMEOUT_SECONDS,
    kycCheckId: null,
    accountId: null,
    messageId: null,
    // The sign-up itself is the first step done: a rollback undoes it.
    saga: kycCompensations.log({
      step: 'user',
      compensation: 'rollbackUser',
      input: { userId: input.userId },
    }),
  }),
  states: {
    awaitingKyc: {
      invoke: {
        id: 'kycCheck',
        src: 'runKycCheck',
        input: ({ context }) => ({
          userId: context.userId,
          fullName: context.fullName,
          country: context.country,
        }),
        onDone: [
          {
            guard: { type: 'kycPassed', params: ({ event }) => event.output },
            target: 'creatingAccount',
            actions: assign({ kycCheckId: ({ event }) => event.output.checkId }),
          },
          {
            target: 'compensating',
            actions: [
              assign({ kycCheckId: ({ event }) => event.output.checkId }),
              kycCompensations.recordFailure(
                ({ event }) => `KYC failed: ${event.output.reason ?? 'no reason given'}`,
              ),
            ],
          },
        ],
      },
      // A verdict reported by a client (the provider's webhook, an operator) counts as well;
      // leaving the state withdraws the RunKycCheck command.
      on: {
        KYCCompleted: {
          target: 'creatingAccount',
          actions: assign({ kycCheckId: ({ event }) => event.checkId }),
        },
        KYCFailed: {
          target: 'compensating',
          actions: [
            assign({ kycCheckId: ({ event }) => event.checkId }),
            kycCompensations.recordFailure(({ event }) => `KYC failed: ${event.reason}`),
          ],
        },
      },
      after: {
        kycTimeout: {
          target: 'compensating',
          actions: kycCompensations.recordFailure(
            ({ context }) => `KYC timed out after ${context.kycTimeoutSeconds} s`,
          ),
        },
      },
    },
    creatingAccount: {
      invoke: {
        id: 'account',
        src: 'createAccount',
        input: ({ context }) => ({ userId: context.userId, email: context.email }),
        onDone: {
          target: 'sendingWelcomeEmail',
          actions: [
            assign({ accountId: ({ event }) => event.output.accountId }),
            kycCompensations.recordStep(({ context, event }) => ({
              step: 'account',
              compensation: 'closeAccount',
              input: { userId: context.userId, accountId: event.output.accountId },
            })),
          ],
        },
        onError: {
          target: 'compensating',
          actions: kycCompensations.recordFailure(
            ({ event }) => `account not created: ${errorMessage(event.error)}`,
          ),
        },
      },
    },
    sendingWelcomeEmail: {
      invoke: {
        id: 'welcomeEmail',
        src: 'sendWelcomeEmail',
        input: ({ context }) => ({
          userId: context.userId,
          email: context.email,
          accountId: context.accountId ?? '',
        }),
        onDone: {
          target: 'completed',
          actions: assign({ messageId: ({ event }) => event.output.messageId }),
        },
        onError: {
          target: 'compensating',
          actions: kycCompensations.recordFailure(
            ({ event }) => `welcome email not sent: ${errorMessage(event.error)}`,
          ),
        },
      },
    },
    // Undoes the steps done, last first; each compensation is told why.
    compensating: kycCompensations.state({
      onDone: 'rolledBack',
      input: ({ context, step }) => ({ ...step.input, reason: context.saga.reason ?? '' }),
    }),
    completed: { type: 'final' },
    rolledBack: { type: 'final', meta: { status: 'cancelled' } },
  },
});

/** The message of an invoked command's final error, as esflow delivers it (`{ message }`). */
function errorMessage(error: unknown): string {
  return (error as { message?: string } | undefined)?.message ?? String(error);
}

/**
 * kycOnboarding v1; the user id is the business key, so a user is onboarded once. RunKycCheck
 * keeps the default retry policy (the worker decides when to give up); the in-process steps are
 * retried a little, the compensations patiently.
 */
export const kycOnboarding = defineWorkflow({
  name: 'kycOnboarding',
  version: 1,
  machine: kycOnboardingMachine,
  startEvent: 'UserCreated',
  invokes: {
    runKycCheck: { command: 'RunKycCheck', output: 'KycVerdict' },
    createAccount: { command: 'CreateAccount', output: 'AccountCreated' },
    sendWelcomeEmail: { command: 'SendWelcomeEmail', output: 'WelcomeEmailSent' },
    ...kycCompensations.invokes,
  },
  retries: {
    CreateAccount: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 5_000 },
    SendWelcomeEmail: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 5_000 },
    CloseAccount: { maxAttempts: 10, initialDelayMs: 1_000, maxDelayMs: 60_000 },
    RollbackUser: { maxAttempts: 10, initialDelayMs: 1_000, maxDelayMs: 60_000 },
  },
  instanceIdFrom: (input) => input.userId,
  // The provider's verdict may also come as a message (its webhook, its Kafka topic), matched by
  // the user it is about; a verdict for a sign-up not recorded yet waits for it.
  correlationKeys: { userId: (context) => context.userId },
  messages: {
    // The sign-up service announces a new user: it starts the onboarding, once per user id.
    UserCreated: { starts: true },
    KYCCompleted: { correlateBy: 'userId', ttlSeconds: 3_600 },
    KYCFailed: { correlateBy: 'userId', ttlSeconds: 3_600 },
  },
});
