/** Payloads of kycOnboarding's events, commands and outputs; `schemas/` holds their Avro schemas. */

/** The start event: a user signed up. */
export interface UserCreated {
  readonly userId: string;
  readonly email: string;
  readonly fullName: string;
  readonly country: string;
  /**
   * How long the KYC provider has to answer, in seconds (default
   * {@link DEFAULT_KYC_TIMEOUT_SECONDS}); when it runs out, the onboarding is rolled back.
   */
  readonly kycTimeoutSeconds?: number | null;
}

/** How long the KYC provider has to answer when the sign-up names no time: 48 hours. */
export const DEFAULT_KYC_TIMEOUT_SECONDS = 48 * 60 * 60;

/** Command: ask the KYC provider to check the user (carried out by an external KYC worker). */
export interface RunKycCheck {
  readonly userId: string;
  readonly fullName: string;
  readonly country: string;
}

/** RunKycCheck's output: the provider's verdict. */
export interface KycVerdict {
  readonly checkId: string;
  readonly passed: boolean;
  /** Why the check failed, as the provider says; null (or absent) when it passed. */
  readonly reason?: string | null;
}

/**
 * The verdict events a client may send instead of the worker's output: a verdict the KYC provider
 * reports out of band (its webhook) or an operator's decision (the passport checked at a branch).
 */
export type KycVerdictEvent =
  | { readonly type: 'KYCCompleted'; readonly checkId: string }
  | { readonly type: 'KYCFailed'; readonly checkId: string; readonly reason: string };

/** Command: open an account for the verified user. */
export interface CreateAccount {
  readonly userId: string;
  readonly email: string;
}

/** CreateAccount's output: the account service opened the account. */
export interface AccountCreated {
  readonly accountId: string;
}

/** Command: send the welcome email for the new account. */
export interface SendWelcomeEmail {
  readonly userId: string;
  readonly email: string;
  readonly accountId: string;
}

/** SendWelcomeEmail's output: the welcome email went out. */
export interface WelcomeEmailSent {
  readonly messageId: string;
}

/** Compensation: close the account opened for a user whose onboarding is rolled back. */
export interface CloseAccount {
  readonly userId: string;
  readonly accountId: string;
  readonly reason: string;
}

/** Compensation: undo the sign-up of a user whose onboarding is rolled back. */
export interface RollbackUser {
  readonly userId: string;
  readonly reason: string;
}
