import { beforeAll, describe, expect, it } from 'vitest';
import { completed, dispatched, WorkflowSpecification } from '@esflow/testing';
import { kycOnboardingFeature } from './kyc-onboarding.feature';

const userCreated = {
  userId: 'u-1',
  email: 'ada@example.com',
  fullName: 'Ada Lovelace',
  country: 'GB',
};

describe('kycOnboarding', () => {
  let spec: WorkflowSpecification;
  beforeAll(async () => {
    spec = await WorkflowSpecification.for(kycOnboardingFeature);
  });

  it('asks for a KYC check as soon as the user is created', async () => {
    const { instance } = await spec
      .whenStarted(userCreated)
      .then([
        { type: 'UserCreated', data: { userId: 'u-1' } },
        dispatched('RunKycCheck', { userId: 'u-1', fullName: 'Ada Lovelace', country: 'GB' }),
      ]);
    expect(instance).toMatchObject({ state: 'awaitingKyc', status: 'running' });
  });

  it('opens an account once the user is verified', async () => {
    const { instance } = await spec
      .given(userCreated)
      .when({ type: 'KYCCompleted', checkId: 'kyc-7' })
      .then([
        { type: 'KYCCompleted', data: { checkId: 'kyc-7' } },
        dispatched('CreateAccount', { userId: 'u-1', email: 'ada@example.com' }),
      ]);
    expect(instance.state).toBe('creatingAccount');
  });

  it('sends the welcome email for the new account, then completes', async () => {
    await spec
      .given(userCreated, { type: 'KYCCompleted', checkId: 'kyc-7' })
      .when({ type: 'AccountCreated', accountId: 'acc-9' })
      .then([
        { type: 'AccountCreated' },
        dispatched('SendWelcomeEmail', { email: 'ada@example.com', accountId: 'acc-9' }),
      ]);
    const { instance } = await spec
      .given(
        userCreated,
        { type: 'KYCCompleted', checkId: 'kyc-7' },
        { type: 'AccountCreated', accountId: 'acc-9' },
      )
      .when({ type: 'WelcomeEmailSent', messageId: 'm-1' })
      .then([{ type: 'WelcomeEmailSent' }, completed('completed')]);
    expect(instance).toMatchObject({ state: 'completed', status: 'completed' });
  });

  it('rolls the user back when the KYC check fails', async () => {
    const { instance } = await spec
      .given(userCreated)
      .when({ type: 'KYCFailed', checkId: 'kyc-8', reason: 'document expired' })
      .then([
        { type: 'KYCFailed' },
        dispatched('RollbackUser', { userId: 'u-1', reason: 'KYC failed: document expired' }),
        completed('cancelled'),
      ]);
    expect(instance).toMatchObject({ state: 'rolledBack', status: 'cancelled' });
    expect(instance.context).toMatchObject({ rollbackReason: 'KYC failed: document expired' });
  });

  it('refuses an account before the user is verified, naming what it waits for', async () => {
    await spec
      .given(userCreated)
      .when({ type: 'AccountCreated', accountId: 'acc-1' })
      .thenRejected('EVENT_NOT_ACCEPTED', {
        state: 'awaitingKyc',
        acceptedEvents: ['KYCCompleted', 'KYCFailed'],
      });
  });

  it('refuses a payload that breaks its schema, naming the field', async () => {
    const rejection = await spec
      .given(userCreated)
      .when({ type: 'KYCCompleted', checkId: 42 })
      .thenRejected('SCHEMA_VALIDATION_FAILED');
    expect(rejection).toMatchObject({
      errors: [expect.objectContaining({ path: 'payload.checkId' })],
    });
  });

  it('fails a specification whose expectation does not hold, saying how', async () => {
    await expect(
      spec
        .given(userCreated)
        .when({ type: 'KYCCompleted', checkId: 'kyc-7' })
        .then([{ type: 'KYCCompleted' }, dispatched('SendWelcomeEmail')]),
    ).rejects.toThrow(
      /#1 \(CommandDispatched\): expected command SendWelcomeEmail, got CreateAccount/,
    );
  });
});
