import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TestApp } from '@esflow/testing';
import { KycOnboardingModule } from './kyc-onboarding.module';

const post = (app: TestApp, path: string, body: unknown) =>
  fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('KycOnboardingModule in an application', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ imports: [KycOnboardingModule] });
  });
  afterAll(async () => app?.close());

  it('serves the workflow over REST and answers its own projection query', async () => {
    for (const [userId, country] of [
      ['u-de-1', 'DE'],
      ['u-de-2', 'DE'],
      ['u-fr-1', 'FR'],
    ] as const) {
      const started = await post(app, '/workflows/kycOnboarding', {
        input: { userId, email: `${userId}@example.com`, fullName: 'Test User', country },
      });
      expect(started.status).toBe(201);
    }
    const verified = await post(app, '/workflows/kycOnboarding/u-de-2/events', {
      type: 'KYCCompleted',
      payload: { checkId: 'kyc-1' },
    });
    expect(verified.status).toBe(200);
    await app.projectionsCaughtUp();

    const germans = await fetch(`${app.baseUrl}/onboardings/awaiting-kyc?country=DE`);
    expect(germans.status).toBe(200);
    expect(await germans.json()).toEqual({
      items: [expect.objectContaining({ userId: 'u-de-1', country: 'DE' })],
    });
    const all = (await (await fetch(`${app.baseUrl}/onboardings/awaiting-kyc`)).json()) as {
      items: { userId: string }[];
    };
    expect(all.items.map((item) => item.userId)).toEqual(['u-de-1', 'u-fr-1']);

    const projections = (await (await fetch(`${app.baseUrl}/projections`)).json()) as {
      projections: { name: string; status: string }[];
    };
    expect(projections.projections.map((p) => p.name)).toContain('onboardings_awaiting_kyc');
  });
});
