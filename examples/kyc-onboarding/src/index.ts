/**
 * The kycOnboarding example: the user-onboarding saga as a workflow module of its own, built
 * only on esflow's public packages.
 * @packageDocumentation
 */
export { kycCompensations, kycOnboarding, kycOnboardingMachine } from './kyc-onboarding.workflow';
export type { KycCompensation, KycOnboardingContext } from './kyc-onboarding.workflow';
export { DEFAULT_KYC_TIMEOUT_SECONDS } from './kyc-onboarding.events';
export type {
  AccountCreated,
  CloseAccount,
  CreateAccount,
  KycVerdict,
  KycVerdictEvent,
  RollbackUser,
  RunKycCheck,
  SendWelcomeEmail,
  UserCreated,
  WelcomeEmailSent,
} from './kyc-onboarding.events';
export { awaitingKyc } from './awaiting-kyc.projection';
export type { AwaitingKycDocument } from './awaiting-kyc.projection';
export { KYC_ONBOARDING_SCHEMAS, kycOnboardingFeature } from './kyc-onboarding.feature';
export { KycOnboardingModule } from './kyc-onboarding.module';
export {
  CloseAccountHandler,
  CreateAccountHandler,
  RollbackUserHandler,
  SendWelcomeEmailHandler,
} from './kyc-onboarding.handlers';
export {
  BOUNCING_MAIL_DOMAIN,
  REFUSED_ACCOUNT_DOMAIN,
  StandInAccountService,
  StandInMailer,
  StandInUserDirectory,
} from './stand-in-services';
export { OnboardingsController } from './onboardings.controller';
