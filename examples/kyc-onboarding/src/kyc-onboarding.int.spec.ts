import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TestApp, waitFor } from '@esflow/testing';
import { KycOnboardingModule } from './kyc-onboarding.module';
import {
  BOUNCING_MAIL_DOMAIN,
  REFUSED_ACCOUNT_DOMAIN,
  StandInAccountService,
  StandInMailer,
  StandInUserDirectory,
} from './stand-in-services';

// The module in a real application (SQLite files, the REST API, the projector with its command
// dispatcher): the in-process handlers carry out the steps and compensations, and this suite is
// the external KYC worker, over REST.

type Instance = {
  state: unknown;
  status: string;
  context: Record<string, unknown>;
  inFlightCommands: { commandId: string; commandType: string }[];
};
type History = { events: { type: string; data: Record<string, unknown> }[] };
type Leased = { commandId: string; commandType: string; instanceId: string; payload: unknown };

const post = (app: TestApp, path: string, body: unknown) =>
  fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const get = async <T>(app: TestApp, path: string) =>
  (await (await fetch(`${app.baseUrl}${path}`)).json()) as T;

describe('KycOnboardingModule in an application', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ imports: [KycOnboardingModule] });
  });
  afterAll(async () => app?.close());

  let next = 0;
  async function signUp(
    options: { domain?: string; country?: string; kycTimeoutSeconds?: number } = {},
  ) {
    const userId = `u-${++next}-${Math.random().toString(36).slice(2, 8)}`;
    const started = await post(app, '/workflows/kycOnboarding', {
      input: {
        userId,
        email: `${userId}@${options.domain ?? 'example.com'}`,
        fullName: 'Test User',
        country: options.country ?? 'GB',
        ...(options.kycTimeoutSeconds ? { kycTimeoutSeconds: options.kycTimeoutSeconds } : {}),
      },
    });
    expect(started.status).toBe(201);
    return userId;
  }
  const instanceOf = (userId: string) => get<Instance>(app, `/workflows/kycOnboarding/${userId}`);
  const ended = (userId: string) =>
    waitFor(
      async () => {
        const instance = await instanceOf(userId);
        return instance.status === 'running' ? undefined : instance;
      },
      { timeoutMs: 15_000, intervalMs: 20, what: `onboarding ${userId} to end` },
    );
  /** The worker's verdict on the user's RunKycCheck, reported by command id. */
  async function verdict(userId: string, output: Record<string, unknown>) {
    const [check] = (await instanceOf(userId)).inFlightCommands;
    expect(check?.commandType).toBe('RunKycCheck');
    const answer = await post(app, `/commands/${check!.commandId}/complete`, {
      workerId: 'kyc-worker-test',
      output,
    });
    expect(answer.status, await answer.clone().text()).toBe(200);
  }
  /** The commands dispatched and completed, in the order recorded. */
  async function commandsOf(userId: string) {
    const { events } = await get<History>(app, `/workflows/kycOnboarding/${userId}/history`);
    const of = (type: string) =>
      events.filter((e) => e.type === type).map((e) => String(e.data['commandType']));
    return { dispatched: of('CommandDispatched'), completed: of('CommandCompleted') };
  }

  it('onboards a user whose check a worker leases and passes: the handlers open the account and mail', async () => {
    const userId = await signUp();
    // The queue is filled from the log by the dispatcher: lease until the command is there.
    const leased = await waitFor(
      async () => {
        const answer = await post(app, '/commands/lease', {
          workerId: 'kyc-worker-1',
          commandTypes: ['RunKycCheck'],
        });
        expect(answer.status).toBe(200);
        const { commands } = (await answer.json()) as { commands: Leased[] };
        return commands.find((command) => command.instanceId === userId);
      },
      { timeoutMs: 10_000, intervalMs: 20, what: 'the RunKycCheck command to lease' },
    );
    expect(leased.payload).toEqual({ userId, fullName: 'Test User', country: 'GB' });
    const done = await post(app, `/commands/${leased.commandId}/complete`, {
      workerId: 'kyc-worker-1',
      output: { checkId: 'kyc-1', passed: true, reason: null },
    });
    expect(done.status).toBe(200);
    const instance = await ended(userId);
    expect(instance).toMatchObject({ state: 'completed', status: 'completed' });
    const accountId = String(instance.context['accountId']);
    expect(accountId).toMatch(/^acc-[0-9a-f]{12}$/);
    expect(instance.context['messageId']).toMatch(/^msg-[0-9a-f]{12}$/);
    expect(app.app.get(StandInAccountService).openAccounts()).toContain(accountId);
    expect(app.app.get(StandInMailer).recipients()).toContain(`${userId}@example.com`);
    expect(await commandsOf(userId)).toEqual({
      dispatched: ['RunKycCheck', 'CreateAccount', 'SendWelcomeEmail'],
      completed: ['RunKycCheck', 'CreateAccount', 'SendWelcomeEmail'],
    });
  });

  it('rolls back only the sign-up when the KYC check fails', async () => {
    const userId = await signUp();
    await verdict(userId, { checkId: 'kyc-2', passed: false, reason: 'document expired' });
    expect(await ended(userId)).toMatchObject({ state: 'rolledBack', status: 'cancelled' });
    expect((await commandsOf(userId)).dispatched).toEqual(['RunKycCheck', 'RollbackUser']);
    expect(app.app.get(StandInUserDirectory).rolledBack()).toContainEqual({
      userId,
      reason: 'KYC failed: document expired',
    });
  });

  it('rolls back the sign-up when the KYC provider does not answer in time', async () => {
    const userId = await signUp({ kycTimeoutSeconds: 1 });
    const instance = await ended(userId);
    expect(instance).toMatchObject({ state: 'rolledBack', status: 'cancelled' });
    const { events } = await get<History>(app, `/workflows/kycOnboarding/${userId}/history`);
    expect(events.map((e) => e.type)).toEqual([
      'UserCreated',
      'TimerScheduled',
      'CommandDispatched',
      'TimerFired',
      'CommandWithdrawn',
      'CommandDispatched',
      'CommandCompleted',
      'WorkflowCompleted',
    ]);
    expect(app.app.get(StandInUserDirectory).rolledBack()).toContainEqual({
      userId,
      reason: 'KYC timed out after 1 s',
    });
  });

  it('rolls back the sign-up, closing no account, when the account service refuses the user', async () => {
    const userId = await signUp({ domain: REFUSED_ACCOUNT_DOMAIN });
    await verdict(userId, { checkId: 'kyc-3', passed: true, reason: null });
    const instance = await ended(userId);
    expect(instance).toMatchObject({
      state: 'rolledBack',
      status: 'cancelled',
      context: { accountId: null },
    });
    expect((await commandsOf(userId)).dispatched).toEqual([
      'RunKycCheck',
      'CreateAccount',
      'RollbackUser',
    ]);
    const { events } = await get<History>(app, `/workflows/kycOnboarding/${userId}/history`);
    expect(events.find((e) => e.type === 'CommandFailed')?.data).toMatchObject({
      commandType: 'CreateAccount',
      attempts: 1,
      error: `the account service accepts no addresses at ${REFUSED_ACCOUNT_DOMAIN}`,
    });
  });

  it('closes the account, then rolls back the sign-up, when the welcome email bounces', async () => {
    const userId = await signUp({ domain: BOUNCING_MAIL_DOMAIN });
    await verdict(userId, { checkId: 'kyc-4', passed: true, reason: null });
    const instance = await ended(userId);
    expect(instance).toMatchObject({ state: 'rolledBack', status: 'cancelled' });
    const accountId = String(instance.context['accountId']);
    expect(await commandsOf(userId)).toEqual({
      dispatched: [
        'RunKycCheck',
        'CreateAccount',
        'SendWelcomeEmail',
        'CloseAccount',
        'RollbackUser',
      ],
      completed: ['RunKycCheck', 'CreateAccount', 'CloseAccount', 'RollbackUser'],
    });
    expect(app.app.get(StandInAccountService).openAccounts()).not.toContain(accountId);
    expect(app.app.get(StandInUserDirectory).rolledBack()).toContainEqual({
      userId,
      reason: `welcome email not sent: mailbox unavailable: ${userId}@${BOUNCING_MAIL_DOMAIN} (account ${accountId})`,
    });
  });

  it('answers its own projection query: the onboardings waiting for a verdict', async () => {
    const ids: Record<string, string> = {};
    for (const [name, country] of [
      ['de1', 'DE'],
      ['de2', 'DE'],
      ['fr1', 'FR'],
    ] as const)
      ids[name] = await signUp({ country });
    await verdict(ids['de2']!, { checkId: 'kyc-5', passed: true, reason: null });
    await ended(ids['de2']!);
    await app.projectionsCaughtUp();

    const germans = await get<{ items: { userId: string }[] }>(
      app,
      '/onboardings/awaiting-kyc?country=DE',
    );
    expect(germans).toEqual({
      items: [expect.objectContaining({ userId: ids['de1'], country: 'DE' })],
    });
    const all = await get<{ items: { userId: string }[] }>(app, '/onboardings/awaiting-kyc');
    expect(all.items.map((item) => item.userId).sort()).toEqual([ids['de1'], ids['fr1']].sort());

    const projections = await get<{ projections: { name: string }[] }>(app, '/projections');
    expect(projections.projections.map((p) => p.name)).toContain('onboardings_awaiting_kyc');
  });
});
