/** Payloads of kycOnboarding's events; `schemas/` holds their Avro schemas. */

/** The start event: a user signed up. */
export interface UserCreated {
  readonly userId: string;
  readonly email: string;
  readonly fullName: string;
  readonly country: string;
}

/** The events other services answer with. */
export type KycOnboardingEvent =
  | { readonly type: 'KYCCompleted'; readonly checkId: string }
  | { readonly type: 'KYCFailed'; readonly checkId: string; readonly reason: string }
  | { readonly type: 'AccountCreated'; readonly accountId: string }
  | { readonly type: 'WelcomeEmailSent'; readonly messageId: string };

/** The commands the onboarding emits; esflow records each as a `CommandDispatched` fact. */
export type KycOnboardingCommand =
  | {
      readonly type: 'RunKycCheck';
      readonly userId: string;
      readonly fullName: string;
      readonly country: string;
    }
  | { readonly type: 'CreateAccount'; readonly userId: string; readonly email: string }
  | {
      readonly type: 'SendWelcomeEmail';
      readonly userId: string;
      readonly email: string;
      readonly accountId: string;
    }
  | { readonly type: 'RollbackUser'; readonly userId: string; readonly reason: string };
