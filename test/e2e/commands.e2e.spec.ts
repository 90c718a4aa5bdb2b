import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandRetryPolicyOf, ErrorCode } from '@esflow/core';
import { kycOnboarding } from '@esflow/example-kyc-onboarding';
import { AppProcess, startApp } from '../support/app-process';
import { httpClient, HttpResponse } from '../support/http-client';
import { waitFor } from '../support/wait-for';

// The external-worker API and the incidents API against the built api and projector on one data
// directory (SQLite): the projector's dispatcher fills the command queue from the log, and this
// suite is the worker. kycOnboarding's RunKycCheck (an invoked actor whose output is the KYC
// verdict, without `onError`: a final failure is an incident) has no in-process handler, so it
// waits for an external worker. Each test settles the RunKycCheck it dispatches, as leases take
// the oldest commands of a type first, whoever's they are. Once the check passes, the module's
// in-process handlers carry the onboarding on (CreateAccount, ...), so the instance keeps moving
// after a completion: what a call wrote is checked in the history, by command.

const WORKFLOW = 'kycOnboarding';
const COMMAND_TYPE = 'RunKycCheck';

type Instance = {
  state: unknown;
  revision: number;
  inFlightCommands: { commandId: string; commandType: string; incidentId: string | null }[];
  incidents: {
    incidentId: string;
    commandId: string;
    commandType: string;
    attempts: number;
    error: string;
  }[];
};
type Leased = {
  commandId: string;
  commandType: string;
  workflow: string;
  instanceId: string;
  payload: Record<string, unknown>;
  attempts: number;
  leaseUntil: string;
  dispatchedAt: string;
  lastError: string | null;
};
type Queued = Omit<Leased, 'leaseUntil'> & {
  status: string;
  availableAt: string;
  leaseOwner: string | null;
  leaseUntil: string | null;
  incidentId: string | null;
  dispatchedRevision: number;
};
type Problem = { code: string; errors?: { path: string; message: string }[] } & Record<
  string,
  unknown
>;
type History = {
  events: { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }[];
};

describe('the external-worker and incidents API, end to end', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'esflow-commands-'));
  let api: AppProcess;
  let projector: AppProcess;
  let http: ReturnType<typeof httpClient>;

  beforeAll(async () => {
    const env = { ESFLOW_PROJECTION_LEASE_MS: '1500' };
    [api, projector] = await Promise.all([
      startApp('api', { dataDir, env }),
      startApp('projector', { dataDir, env }),
    ]);
    http = httpClient(api.baseUrl);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([projector?.dispose(), api?.dispose()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const instanceOf = async (userId: string) =>
    (await http.get<Instance>(`/workflows/${WORKFLOW}/${userId}`)).body;

  /** A new user: its onboarding dispatches RunKycCheck. Returns the command's id. */
  async function signUp(): Promise<{ userId: string; commandId: string }> {
    const userId = `u-${randomUUID().slice(0, 8)}`;
    const started = await http.post(`/workflows/${WORKFLOW}`, {
      input: { userId, email: `${userId}@example.org`, fullName: 'Ada Lovelace', country: 'GB' },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const [command] = (await instanceOf(userId)).inFlightCommands;
    expect(command).toMatchObject({ commandType: COMMAND_TYPE, incidentId: null });
    return { userId, commandId: command!.commandId };
  }

  /** The command as the queue has it now (undefined until the dispatcher indexed it). */
  const queued = async (userId: string, commandId: string) =>
    (
      await http.get<{ commands: Queued[] }>(
        `/commands?workflow=${WORKFLOW}&instance_id=${userId}&command_type=${COMMAND_TYPE}`,
      )
    ).body.commands.find((command) => command.commandId === commandId);

  const queuedAs = (userId: string, commandId: string, status: string) =>
    waitFor(
      async () => {
        const command = await queued(userId, commandId);
        return command?.status === status ? command : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 25, what: `command ${commandId} ${status} in the queue` },
    );

  const lease = (body: Record<string, unknown>) =>
    http.post<{ commands: Leased[] }>('/commands/lease', { commandTypes: [COMMAND_TYPE], ...body });

  /**
   * Leases as `workerId` until the lease gives `commandId` (once the dispatcher has indexed it, or
   * its back-off or lease has run out), checking that nothing else was taken with it.
   */
  async function leaseFor(
    workerId: string,
    commandId: string,
    options: { leaseMs?: number; timeoutMs?: number } = {},
  ): Promise<Leased> {
    return waitFor(
      async () => {
        const answer = await lease({
          workerId,
          ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        if (answer.body.commands.length === 0) return undefined;
        expect(answer.body.commands.map((c) => c.commandId)).toEqual([commandId]);
        return answer.body.commands[0];
      },
      {
        timeoutMs: options.timeoutMs ?? 10_000,
        intervalMs: 25,
        what: `${workerId} to lease ${commandId}`,
      },
    );
  }

  const complete = (commandId: string, body: Record<string, unknown>) =>
    http.post<Record<string, unknown>>(`/commands/${commandId}/complete`, body);
  const fail = (commandId: string, body: Record<string, unknown>) =>
    http.post<Record<string, unknown>>(`/commands/${commandId}/fail`, body);
  /** RunKycCheck's output: a verdict that passes. */
  const verdict = (checkId = 'kyc-1') => ({ checkId, passed: true });
  /** The facts of the history that name `commandId`, by type. */
  const factsOf = async (userId: string, commandId: string) =>
    (await http.get<History>(`/workflows/${WORKFLOW}/${userId}/history`)).body.events.filter(
      (e) => e.data['commandId'] === commandId,
    );

  function expectProblem(answer: HttpResponse<unknown>, status: number, code: string): Problem {
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = answer.body as Problem;
    expect(problem.code, JSON.stringify(problem)).toBe(code);
    return problem;
  }

  it('a worker leases a command, completes it with its output, and the instance moves on, once', async () => {
    const { userId, commandId } = await signUp();
    const leasedAt = Date.now();
    const leased = await leaseFor('kyc-worker-1', commandId);
    expect(leased).toEqual({
      commandId,
      commandType: COMMAND_TYPE,
      workflow: WORKFLOW,
      instanceId: userId,
      payload: { userId, fullName: 'Ada Lovelace', country: 'GB' },
      attempts: 1,
      leaseUntil: expect.any(String),
      dispatchedAt: expect.any(String),
      lastError: null,
    });
    // The default lease: 30 s.
    expect(Date.parse(leased.leaseUntil) - leasedAt).toBeGreaterThan(25_000);
    expect(Date.parse(leased.leaseUntil) - Date.now()).toBeLessThanOrEqual(30_000);
    expect(await queued(userId, commandId)).toMatchObject({
      status: 'leased',
      leaseOwner: 'kyc-worker-1',
      leaseUntil: leased.leaseUntil,
      attempts: 1,
    });

    const done = await complete(commandId, { workerId: 'kyc-worker-1', output: verdict('kyc-7') });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({
      outcome: 'recorded',
      commandId,
      replyAccepted: true,
      instance: { state: 'creatingAccount', status: 'running', incidents: [] },
    });
    const after = done.body['instance'] as Instance;
    expect(after.inFlightCommands.map((c) => c.commandType)).toEqual(['CreateAccount']);
    expect((await instanceOf(userId)).revision).toBeGreaterThanOrEqual(after.revision);

    // The same completion again, from another worker: recorded once, answered as replayed.
    const again = await complete(commandId, { workerId: 'kyc-worker-2', output: verdict('kyc-8') });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ outcome: 'replayed', commandId });
    expect(again.body).not.toHaveProperty('replyAccepted');
    const facts = await factsOf(userId, commandId);
    expect(facts.map((e) => e.type)).toEqual(['CommandDispatched', 'CommandCompleted']);
    expect(facts[1]!.data).toMatchObject({
      commandId,
      commandType: COMMAND_TYPE,
      attempts: 1,
      replyType: null,
    });
    expect(JSON.parse(String(facts[1]!.data['outputJson']))).toEqual(verdict('kyc-7'));
    await queuedAs(userId, commandId, 'completed');
  }, 30_000);

  it('gives an expired lease to the next worker; the first cannot fail it then, but may still complete it', async () => {
    const { userId, commandId } = await signUp();
    const first = await leaseFor('worker-a', commandId, { leaseMs: 1000 });
    expect(first.attempts).toBe(1);
    // Not before the lease expires, not even to its own owner.
    expect((await lease({ workerId: 'worker-b' })).body.commands).toEqual([]);
    expect((await lease({ workerId: 'worker-a' })).body.commands).toEqual([]);
    const second = await leaseFor('worker-b', commandId, { timeoutMs: 5_000 });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(first.leaseUntil));
    expect(second).toMatchObject({ attempts: 2, lastError: null });

    const { revision } = await instanceOf(userId);
    const refused = expectProblem(
      await fail(commandId, { workerId: 'worker-a', error: 'too slow' }),
      409,
      ErrorCode.LeaseNotHeld,
    );
    expect(refused).toMatchObject({ commandId, workerId: 'worker-a', leaseOwner: 'worker-b' });
    // Still waiting for the verdict: nothing moved it.
    expect((await instanceOf(userId)).revision).toBe(revision);
    expect(await queued(userId, commandId)).toMatchObject({
      status: 'leased',
      leaseOwner: 'worker-b',
      attempts: 2,
      lastError: null,
    });

    // A completion is taken from any worker while the command is in flight; the first one wins.
    const late = await complete(commandId, { workerId: 'worker-a', output: verdict('kyc-a') });
    expect(late.status, JSON.stringify(late.body)).toBe(200);
    expect(late.body).toMatchObject({
      outcome: 'recorded',
      instance: { state: 'creatingAccount' },
    });
    const mine = await complete(commandId, { workerId: 'worker-b', output: verdict('kyc-b') });
    expect(mine.body).toMatchObject({ outcome: 'replayed' });
    const completions = (await factsOf(userId, commandId)).filter(
      (e) => e.type === 'CommandCompleted',
    );
    expect(completions.map((e) => JSON.parse(String(e.data['outputJson'])))).toEqual([
      verdict('kyc-a'),
    ]);
    // Settled: nothing is left to fail, lease or no lease.
    await queuedAs(userId, commandId, 'completed');
    expect(
      expectProblem(
        await fail(commandId, { workerId: 'worker-b', error: 'too late' }),
        409,
        ErrorCode.CommandNotInFlight,
      ),
    ).toMatchObject({ commandId, commandStatus: 'completed' });
    expect((await factsOf(userId, commandId)).map((e) => e.type)).toEqual([
      'CommandDispatched',
      'CommandCompleted',
    ]);
  }, 30_000);

  it('retries failed attempts after the back-off, raises an incident at the last, and an operator retries or resolves it', async () => {
    const policy = commandRetryPolicyOf(kycOnboarding, COMMAND_TYPE);
    const { userId, commandId } = await signUp();
    for (let attempt = 1; attempt < policy.maxAttempts; attempt++) {
      const leased = await leaseFor('kyc-worker-1', commandId, {
        timeoutMs: policy.maxDelayMs + 5_000,
      });
      expect(leased.attempts).toBe(attempt);
      expect(leased.lastError).toBe(attempt === 1 ? null : `provider down (${attempt - 1})`);
      const before = Date.now();
      const failed = await fail(commandId, {
        workerId: 'kyc-worker-1',
        error: `provider down (${attempt})`,
      });
      expect(failed.status, JSON.stringify(failed.body)).toBe(200);
      expect(failed.body).toEqual({
        commandId,
        status: 'pending',
        attempts: attempt,
        retryAt: expect.any(String),
      });
      // Equal jitter: at least half the back-off of this retry, at most all of it.
      const delay = Date.parse(String(failed.body['retryAt'])) - before;
      const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2 - 50);
      expect(delay).toBeLessThanOrEqual(ceiling + 1_000);
      expect(await queued(userId, commandId)).toMatchObject({
        status: 'pending',
        availableAt: failed.body['retryAt'],
        lastError: `provider down (${attempt})`,
        leaseOwner: null,
      });
    }
    const last = await leaseFor('kyc-worker-1', commandId, {
      timeoutMs: policy.maxDelayMs + 5_000,
    });
    expect(last.attempts).toBe(policy.maxAttempts);
    const raised = await fail(commandId, { workerId: 'kyc-worker-1', error: 'provider gone' });
    expect(raised.status, JSON.stringify(raised.body)).toBe(200);
    expect(raised.body).toMatchObject({
      commandId,
      status: 'incident',
      attempts: policy.maxAttempts,
      incidentId: expect.any(String),
    });
    const incidentId = String(raised.body['incidentId']);
    const incident = {
      incidentId,
      commandId,
      commandType: COMMAND_TYPE,
      attempts: policy.maxAttempts,
      error: 'provider gone',
    };
    const instance = await instanceOf(userId);
    expect(instance.incidents).toEqual([incident]);
    expect(instance.inFlightCommands).toEqual([
      { commandId, commandType: COMMAND_TYPE, incidentId },
    ]);
    expect(instance.state).toBe('awaitingKyc');

    // Listed once the dispatcher has indexed it; not leasable; counted in the metrics.
    const listed = await waitFor(
      async () => {
        const page = await http.get<{ incidents: Record<string, unknown>[] }>(
          `/incidents?workflow=${WORKFLOW}&instance_id=${userId}`,
        );
        expect(page.status).toBe(200);
        return page.body.incidents[0];
      },
      { timeoutMs: 10_000, intervalMs: 25, what: 'the incident listed' },
    );
    expect(listed).toEqual({
      ...incident,
      workflow: WORKFLOW,
      instanceId: userId,
      payload: { userId, fullName: 'Ada Lovelace', country: 'GB' },
      dispatchedAt: expect.any(String),
    });
    expect((await lease({ workerId: 'kyc-worker-1' })).body.commands).toEqual([]);
    const metrics = (await http.get<string>('/metrics')).body;
    expect(metrics).toMatch(/^esflow_incidents_open [1-9]\d*$/m);
    expect(metrics).toMatch(/^esflow_commands\{status="incident"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^esflow_commands\{status="withdrawn"\} \d+$/m);

    // Retry: recorded once; the command is leasable again, its attempts from the start.
    const retried = await http.post(`/incidents/${incidentId}/retry`, {
      note: 'the provider is back',
      resolvedBy: 'ops@example.org',
    });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body).toMatchObject({
      outcome: 'recorded',
      incidentId,
      commandId,
      instance: { incidents: [], inFlightCommands: [{ commandId, incidentId: null }] },
    });
    const retriedAt = (await instanceOf(userId)).revision;
    const again = await http.post(`/incidents/${incidentId}/retry`, {});
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ outcome: 'replayed', incidentId, commandId });
    expect((await instanceOf(userId)).revision).toBe(retriedAt);
    const releasedAgain = await leaseFor('kyc-worker-2', commandId);
    expect(releasedAgain).toMatchObject({ attempts: 1, lastError: 'provider gone' });
    // After a retry the incident's id still finds it: a repeat is still a replay.
    const repeated = await http.post(`/incidents/${incidentId}/retry`, {});
    expect(repeated.body).toMatchObject({ outcome: 'replayed' });

    // A failure the worker says cannot succeed: an incident at once, a new one.
    const permanent = await fail(commandId, {
      workerId: 'kyc-worker-2',
      error: 'document forged',
      retryable: false,
    });
    expect(permanent.body).toMatchObject({ status: 'incident', attempts: 1 });
    const second = String(permanent.body['incidentId']);
    expect(second).not.toBe(incidentId);
    await queuedAs(userId, commandId, 'incident');
    // The first incident's id no longer names the command's incident.
    expectProblem(
      await http.post(`/incidents/${incidentId}/resolve`, { note: 'by hand' }),
      404,
      ErrorCode.IncidentNotFound,
    );

    // Resolve by hand: the command is settled, never carried out again.
    const withoutNote = await http.post(`/incidents/${second}/resolve`, { resolvedBy: 'ops' });
    expect(expectProblem(withoutNote, 400, ErrorCode.MalformedRequest).errors).toEqual([
      { path: 'note', message: expect.stringMatching(/required/) },
    ]);
    // RunKycCheck is an invoked actor's command whose invoke declares KycVerdict: settled by
    // hand, it needs the verdict the operator reached, checked like a worker's output.
    const beforeResolve = (await instanceOf(userId)).revision;
    const withoutVerdict = await http.post(`/incidents/${second}/resolve`, {
      note: 'passport checked at the branch',
    });
    expectProblem(withoutVerdict, 400, ErrorCode.SchemaValidationFailed);
    expect((await instanceOf(userId)).revision).toBe(beforeResolve);
    const resolved = await http.post(`/incidents/${second}/resolve`, {
      note: 'passport checked at the branch',
      resolvedBy: 'ops@example.org',
      output: { checkId: 'by-hand-1', passed: true },
    });
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    expect(resolved.body).toMatchObject({
      outcome: 'recorded',
      incidentId: second,
      commandId,
      instance: { incidents: [] },
    });
    // The verdict moved the onboarding on, as a worker's would have.
    expect((resolved.body as { instance: { state: unknown } }).instance.state).not.toBe(
      'awaitingKyc',
    );
    const resolvedAt = (await instanceOf(userId)).revision;
    const twice = await http.post(`/incidents/${second}/resolve`, { note: 'again' });
    expect(twice.body).toMatchObject({ outcome: 'replayed', incidentId: second });
    expect((await instanceOf(userId)).revision).toBe(resolvedAt);
    const settled = await queuedAs(userId, commandId, 'resolved');
    expect(settled).toMatchObject({ incidentId: second, lastError: 'document forged' });
    expect(
      (await http.get<{ incidents: unknown[] }>(`/incidents?instance_id=${userId}`)).body.incidents,
    ).toEqual([]);
    expectProblem(
      await complete(commandId, { workerId: 'kyc-worker-2', output: verdict() }),
      409,
      ErrorCode.CommandNotInFlight,
    );
    const history = (await http.get<History>(`/workflows/${WORKFLOW}/${userId}/history`)).body;
    expect(
      history.events
        .filter((e) => e.type === 'IncidentRaised' || e.type === 'IncidentResolved')
        .map((e) => [e.type, e.data['resolution'] ?? e.data['error']]),
    ).toEqual([
      ['IncidentRaised', 'provider gone'],
      ['IncidentResolved', 'retry'],
      ['IncidentRaised', 'document forged'],
      ['IncidentResolved', 'manual'],
    ]);
  }, 90_000);

  it('refuses each bad call with its problem code, and writes nothing', async () => {
    const { userId, commandId } = await signUp();
    await leaseFor('kyc-worker-1', commandId);
    const before = {
      instance: await instanceOf(userId),
      command: await queued(userId, commandId),
      history: (await http.get<History>(`/workflows/${WORKFLOW}/${userId}/history`)).body,
    };
    const malformed = async (answer: Promise<HttpResponse<unknown>>, path?: string) => {
      const problem = expectProblem(await answer, 400, ErrorCode.MalformedRequest);
      if (path !== undefined) expect(problem.errors?.map((e) => e.path)).toContain(path);
      return problem;
    };

    // Lease.
    await malformed(http.post('/commands/lease', { commandTypes: [COMMAND_TYPE] }), 'workerId');
    expect((await malformed(lease({ workerId: 'w', colour: 'red' }))).errors?.[0]?.message).toMatch(
      /unknown field\(s\): colour/,
    );
    for (const leaseMs of [999, 600_001, 1500.5, '30000', null])
      await malformed(lease({ workerId: 'w', leaseMs }), 'leaseMs');
    for (const max of [0, 101, 2.5]) await malformed(lease({ workerId: 'w', max }), 'max');
    for (const commandTypes of [[], ['runKycCheck'], 'RunKycCheck', Array(51).fill('A')])
      await malformed(http.post('/commands/lease', { workerId: 'w', commandTypes }));
    for (const workerId of ['', 'has space', 'x'.repeat(201), 7])
      await malformed(lease({ workerId }), 'workerId');
    await malformed(http.post('/commands/lease', [1, 2]));

    // Complete.
    const unknown = randomUUID();
    expect(
      expectProblem(
        await complete(unknown, { workerId: 'w', output: verdict() }),
        404,
        ErrorCode.CommandNotFound,
      ),
    ).toMatchObject({ commandId: unknown });
    expectProblem(
      await complete('sp%20ace', { workerId: 'w', output: verdict() }),
      400,
      ErrorCode.InvalidId,
    );
    await malformed(complete(commandId, { output: verdict() }), 'workerId');
    await malformed(complete(commandId, { workerId: 'w', output: verdict(), extra: 1 }));
    await malformed(complete(commandId, { workerId: 'w', reply: { type: 'KycVerdict' } }));
    await malformed(
      complete(commandId, { workerId: 'w', reply: { type: 'KycVerdict', payload: {}, more: 1 } }),
    );
    // RunKycCheck is an invoked actor's command: it completes with its output (a KycVerdict),
    // never with a reply event, and the output must be one.
    const invalid = async (body: Record<string, unknown>) =>
      expectProblem(
        await complete(commandId, { workerId: 'w', ...body }),
        400,
        ErrorCode.SchemaValidationFailed,
      ).errors?.map((e) => e.path);
    expect(await invalid({ reply: { type: 'KycVerdict', payload: verdict() } })).toEqual(['reply']);
    expect(await invalid({ output: { checkId: 42, passed: true } })).toEqual(['output.checkId']);
    expect(await invalid({ output: { checkId: 'k', passed: 'yes' } })).toEqual(['output.passed']);
    for (const path of (await invalid({})) ?? ['none']) expect(path).toMatch(/^output/);

    // Fail.
    expectProblem(
      await fail(unknown, { workerId: 'kyc-worker-1', error: 'x' }),
      404,
      ErrorCode.CommandNotFound,
    );
    expect(
      expectProblem(
        await fail(commandId, { workerId: 'kyc-worker-2', error: 'not mine' }),
        409,
        ErrorCode.LeaseNotHeld,
      ),
    ).toMatchObject({ workerId: 'kyc-worker-2', leaseOwner: 'kyc-worker-1' });
    await malformed(fail(commandId, { workerId: 'kyc-worker-1' }), 'error');
    await malformed(fail(commandId, { workerId: 'kyc-worker-1', error: '' }), 'error');
    await malformed(
      fail(commandId, { workerId: 'kyc-worker-1', error: 'x'.repeat(4097) }),
      'error',
    );
    await malformed(
      fail(commandId, { workerId: 'kyc-worker-1', error: 'x', retryable: 'no' }),
      'retryable',
    );
    await malformed(fail(commandId, { error: 'x' }), 'workerId');

    // Incidents.
    expectProblem(
      await http.post(`/incidents/${unknown}/retry`, {}),
      404,
      ErrorCode.IncidentNotFound,
    );
    expectProblem(
      await http.post(`/incidents/${unknown}/resolve`, { note: 'x' }),
      404,
      ErrorCode.IncidentNotFound,
    );
    expectProblem(await http.post('/incidents/sp%20ace/retry', {}), 400, ErrorCode.InvalidId);
    await malformed(http.post(`/incidents/${unknown}/resolve`, { note: '' }), 'note');
    await malformed(http.post(`/incidents/${unknown}/resolve`, { note: 'x'.repeat(2001) }), 'note');
    await malformed(http.post(`/incidents/${unknown}/retry`, { reason: 'x' }));

    // The lists.
    for (const query of ['status=lost', 'limit=0', 'limit=1e1', 'colour=red', 'after=bogus'])
      await malformed(http.get(`/commands?${query}`));
    for (const query of ['status=incident', 'limit=1001', 'after=bogus'])
      await malformed(http.get(`/incidents?${query}`));

    // Nothing moved: not the instance, not its history, not the command in the queue.
    expect(await instanceOf(userId)).toEqual(before.instance);
    expect((await http.get<History>(`/workflows/${WORKFLOW}/${userId}/history`)).body).toEqual(
      before.history,
    );
    expect(await queued(userId, commandId)).toEqual(before.command);

    // Settle it, for the tests that follow.
    expect(
      (await complete(commandId, { workerId: 'kyc-worker-1', output: verdict() })).status,
    ).toBe(200);
    await queuedAs(userId, commandId, 'completed');
  }, 30_000);
});
