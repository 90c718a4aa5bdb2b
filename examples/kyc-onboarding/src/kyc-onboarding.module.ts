import { Module } from '@nestjs/common';
import { EsflowModule } from '@esflow/nest';
import { kycOnboardingFeature } from './kyc-onboarding.feature';
import { OnboardingsController } from './onboardings.controller';

/** The kycOnboarding workflow, its projection and its query endpoint, as one Nest module. */
@Module({
  imports: [EsflowModule.forFeature(kycOnboardingFeature)],
  controllers: [OnboardingsController],
})
export class KycOnboardingModule {}
