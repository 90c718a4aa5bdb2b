/**
 * The kycOnboarding example: the user-onboarding saga as a workflow module of its own, built
 * only on esflow's public packages.
 * @packageDocumentation
 */
export { kycOnboarding, kycOnboardingMachine } from './kyc-onboarding.workflow';
export type { KycOnboardingContext } from './kyc-onboarding.workflow';
export type {
  KycOnboardingCommand,
  KycOnboardingEvent,
  UserCreated,
} from './kyc-onboarding.events';
export { awaitingKyc } from './awaiting-kyc.projection';
export type { AwaitingKycDocument } from './awaiting-kyc.projection';
export { KYC_ONBOARDING_SCHEMAS, kycOnboardingFeature } from './kyc-onboarding.feature';
export { KycOnboardingModule } from './kyc-onboarding.module';
export { OnboardingsController } from './onboardings.controller';
