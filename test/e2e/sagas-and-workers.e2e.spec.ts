import { beforeAll, describe, expect, it } from 'vitest';
import { BOUNCING_MAIL_DOMAIN, REFUSED_ACCOUNT_DOMAIN } from '@esflow/example-kyc-onboarding';
import { ApiAndProjector, apiAndProjector } from '../support/api-and-projector';
import { waitFor } from '../support/wait-for';

// The kycOnboarding saga and an external worker, on the built api and projector: this suite is
// the KYC worker (over REST), the projector's in-process handlers carry out the other steps and
// the compensations. Once on the embedded SQLite store, once on the EventStoreDB adapter against
// the esdb-wire-double, a TEST DOUBLE of EventStoreDB's gRPC protocol run in this process
// (test/doubles/esdb/README.md).

type Instance = {
  state: unknown;
  status: string;
  inFlightCommands: { commandId: string; commandType: string }[];
};
type History = { events: { type: string; data: Record<string, unknown> }[] };
type Leased = { commandId: string; instanceId: string; attempts: number; leaseUntil: string };

describe.each(['sqlite', 'esdb-wire-double'] as const)('the onboarding saga on %s', (store) => {
  const apps = apiAndProjector(store, 'esflow-saga-');
  let http: ApiAndProjector['http'];
  beforeAll(() => {
    ({ http } = apps);
  });

  let next = 0;
  const signUp = async (options: { domain?: string; kycTimeoutSeconds?: number } = {}) => {
    const userId = `${store}-u${++next}`;
    const started = await http.post('/workflows/kycOnboarding', {
      input: {
        userId,
        email: `${userId}@${options.domain ?? 'example.com'}`,
        fullName: 'Test User',
        country: 'GB',
        ...(options.kycTimeoutSeconds ? { kycTimeoutSeconds: options.kycTimeoutSeconds } : {}),
      },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    return userId;
  };
  /** Leases (as `workerId`) the user's RunKycCheck once the dispatcher has queued it. */
  const lease = (workerId: string, userId: string, leaseMs = 30_000) =>
    waitFor(
      async () => {
        const answer = await http.post<{ commands: Leased[] }>('/commands/lease', {
          workerId,
          commandTypes: ['RunKycCheck'],
          max: 100,
          leaseMs,
        });
        expect(answer.status).toBe(200);
        return answer.body.commands.find((command) => command.instanceId === userId);
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `${workerId} leasing the check of ${userId}` },
    );
  const complete = async (workerId: string, commandId: string, passed: boolean) => {
    const answer = await http.post(`/commands/${commandId}/complete`, {
      workerId,
      output: { checkId: `check-${commandId.slice(0, 8)}`, passed, reason: passed ? null : 'no' },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  };
  const ended = (userId: string) =>
    waitFor(
      async () => {
        const instance = (await http.get<Instance>(`/workflows/kycOnboarding/${userId}`)).body;
        return instance.status === 'running' ? undefined : instance;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: `onboarding ${userId} to end` },
    );
  const dispatchedOf = async (userId: string) =>
    (await http.get<History>(`/workflows/kycOnboarding/${userId}/history`)).body.events
      .filter((e) => e.type === 'CommandDispatched')
      .map((e) => String(e.data['commandType']));

  it('gives an expired lease to another worker, whose completion moves the saga on', async () => {
    const userId = await signUp();
    const first = await lease('worker-a', userId, 1_000);
    expect(first.attempts).toBe(1);
    // worker-a goes quiet; once its lease ran out the check is worker-b's.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const second = await lease('worker-b', userId);
    expect(second.commandId).toBe(first.commandId);
    expect(second.attempts).toBe(2);
    await complete('worker-b', second.commandId, true);
    expect(await ended(userId)).toMatchObject({ state: 'completed', status: 'completed' });
    expect(await dispatchedOf(userId)).toEqual([
      'RunKycCheck',
      'CreateAccount',
      'SendWelcomeEmail',
    ]);
  }, 40_000);

  it('compensates in reverse order on each failure path', async () => {
    const failed = await signUp();
    const timedOut = await signUp({ kycTimeoutSeconds: 1 });
    const refused = await signUp({ domain: REFUSED_ACCOUNT_DOMAIN });
    const bounced = await signUp({ domain: BOUNCING_MAIL_DOMAIN });
    // One worker leases the three checks (a lease takes every one it may, up to max).
    const checks = new Map<string, string>();
    await waitFor(
      async () => {
        const answer = await http.post<{ commands: Leased[] }>('/commands/lease', {
          workerId: 'worker-c',
          commandTypes: ['RunKycCheck'],
          max: 100,
        });
        for (const command of answer.body.commands)
          checks.set(command.instanceId, command.commandId);
        return [failed, refused, bounced].every((userId) => checks.has(userId));
      },
      { timeoutMs: 15_000, intervalMs: 50, what: 'worker-c leasing the three checks' },
    );
    await complete('worker-c', checks.get(failed)!, false);
    await complete('worker-c', checks.get(refused)!, true);
    await complete('worker-c', checks.get(bounced)!, true);
    for (const userId of [failed, timedOut, refused, bounced])
      expect(await ended(userId)).toMatchObject({ state: 'rolledBack', status: 'cancelled' });
    expect(await dispatchedOf(failed)).toEqual(['RunKycCheck', 'RollbackUser']);
    expect(await dispatchedOf(timedOut)).toEqual(['RunKycCheck', 'RollbackUser']);
    expect(await dispatchedOf(refused)).toEqual(['RunKycCheck', 'CreateAccount', 'RollbackUser']);
    expect(await dispatchedOf(bounced)).toEqual([
      'RunKycCheck',
      'CreateAccount',
      'SendWelcomeEmail',
      'CloseAccount',
      'RollbackUser',
    ]);
  }, 60_000);
});
