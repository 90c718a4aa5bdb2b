import { Module } from '@nestjs/common';
import { EsflowModule } from '@esflow/nest';
import {
  CloseAccountHandler,
  CreateAccountHandler,
  RollbackUserHandler,
  SendWelcomeEmailHandler,
} from './kyc-onboarding.handlers';
import { kycOnboardingFeature } from './kyc-onboarding.feature';
import { OnboardingsController } from './onboardings.controller';
import { StandInAccountService, StandInMailer, StandInUserDirectory } from './stand-in-services';

/**
 * The kycOnboarding workflow, its projection, its query endpoint and the in-process handlers of
 * its steps and compensations (with stand-in services), as one Nest module. The handlers run
 * where the projector runs (`EsflowProjectorModule`); RunKycCheck waits for an external worker.
 */
@Module({
  imports: [EsflowModule.forFeature(kycOnboardingFeature)],
  controllers: [OnboardingsController],
  providers: [
    StandInAccountService,
    StandInMailer,
    StandInUserDirectory,
    CreateAccountHandler,
    SendWelcomeEmailHandler,
    CloseAccountHandler,
    RollbackUserHandler,
  ],
})
export class KycOnboardingModule {}
