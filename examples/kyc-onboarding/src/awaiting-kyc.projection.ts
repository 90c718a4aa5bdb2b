import { defineProjection, DocumentWriter, ProjectionEvent } from '@esflow/core';

/** One onboarding waiting for its KYC verdict, as the projection keeps it. */
export interface AwaitingKycDocument extends Record<string, unknown> {
  readonly userId: string;
  readonly email: string;
  readonly country: string;
  /** When the user signed up (ISO 8601). */
  readonly since: string;
}

/** Removes the onboarding once its RunKycCheck is settled: a verdict, a failure, a timeout. */
const settled = async (event: ProjectionEvent, documents: DocumentWriter) => {
  if (event.data['commandType'] === 'RunKycCheck')
    await documents.delete('onboardings', event.instanceId);
};

/**
 * The onboardings that wait for a KYC verdict: a document per user from sign-up until its
 * RunKycCheck command is settled (the worker's verdict is recorded, the check fails, or the KYC
 * timeout withdraws it) or a client sends the verdict (`KYCCompleted`, `KYCFailed`), queried
 * by country (`GET /onboardings/awaiting-kyc?country=DE`).
 */
export const awaitingKyc = defineProjection({
  name: 'onboardings_awaiting_kyc',
  version: 2,
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
    CommandCompleted: settled,
    CommandFailed: settled,
    CommandWithdrawn: settled,
    KYCCompleted: (event, documents) => documents.delete('onboardings', event.instanceId),
    KYCFailed: (event, documents) => documents.delete('onboardings', event.instanceId),
  },
});
