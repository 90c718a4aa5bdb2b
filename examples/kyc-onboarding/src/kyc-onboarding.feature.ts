import { join } from 'node:path';
import { defineFeature } from '@esflow/core';
import { awaitingKyc } from './awaiting-kyc.projection';
import { kycOnboarding } from './kyc-onboarding.workflow';

/** This module's schemas: `schemas/` beside `src/` (and beside `dist/` once built). */
export const KYC_ONBOARDING_SCHEMAS = join(__dirname, '..', 'schemas');

/** Everything kycOnboarding brings to an application; `esflow.config.js` lists it too. */
export const kycOnboardingFeature = defineFeature({
  workflows: [kycOnboarding],
  schemas: KYC_ONBOARDING_SCHEMAS,
  projections: [awaitingKyc],
});
