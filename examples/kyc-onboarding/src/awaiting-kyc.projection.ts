import { defineProjection } from '@esflow/core';

/** One onboarding waiting for its KYC verdict, as the projection keeps it. */
export interface AwaitingKycDocument extends Record<string, unknown> {
  readonly userId: string;
  readonly email: string;
  readonly country: string;
  /** When the user signed up (ISO 8601). */
  readonly since: string;
}

/**
 * The onboardings that wait for a KYC verdict: a document per user from sign-up until the
 * provider answers, queried by country (`GET /onboardings/awaiting-kyc?country=DE`).
 */
export const awaitingKyc = defineProjection({
  name: 'onboardings_awaiting_kyc',
  version: 1,
  workflows: ['kycOnboarding'],
  collections: { onboardings: { indexes: ['country'] } },
  handlers: {
    UserCreated: async (event, documents) => {
      const { userId, email, country } = event.data as Record<string, string>;
      const document: AwaitingKycDocument = {
        userId: userId!,
        email: email!,
        country: country!,
        since: event.recordedAt.toISOString(),
      };
      await documents.put('onboardings', event.instanceId, document);
    },
    KYCCompleted: (event, documents) => documents.delete('onboardings', event.instanceId),
    KYCFailed: (event, documents) => documents.delete('onboardings', event.instanceId),
  },
});
