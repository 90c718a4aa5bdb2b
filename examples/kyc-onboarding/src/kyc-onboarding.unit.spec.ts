import { beforeAll, describe, expect, it } from 'vitest';
import { FrameworkEvent, InstanceView, Result, WorkflowEngine } from '@esflow/core';
import { dispatched, ManualClock, timerFired, WorkflowSpecification } from '@esflow/testing';
import { createTestEngine } from '../../../test/support/engine-fixture';
import { KYC_ONBOARDING_SCHEMAS, kycOnboardingFeature } from './kyc-onboarding.feature';
import { kycOnboarding } from './kyc-onboarding.workflow';

const WORKFLOW = 'kycOnboarding';
const TIMER = 'xstate.after.kycTimeout.kycOnboarding.awaitingKyc';

const userCreated = (userId = 'u-1', email = 'ada@example.com') => ({
  userId,
  email,
  fullName: 'Ada Lovelace',
  country: 'GB',
});

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

describe('kycOnboarding, as defined', () => {
  it('invokes each step and compensation as a durable command; clients may send a verdict', () => {
    expect(kycOnboarding.invokes).toEqual({
      runKycCheck: { command: 'RunKycCheck', output: 'KycVerdict' },
      createAccount: { command: 'CreateAccount', output: 'AccountCreated' },
      sendWelcomeEmail: { command: 'SendWelcomeEmail', output: 'WelcomeEmailSent' },
      closeAccount: { command: 'CloseAccount' },
      rollbackUser: { command: 'RollbackUser' },
    });
    expect([...kycOnboarding.commands].sort()).toEqual([
      'CloseAccount',
      'CreateAccount',
      'RollbackUser',
      'RunKycCheck',
      'SendWelcomeEmail',
    ]);
    expect([...kycOnboarding.inputEvents].sort()).toEqual(['KYCCompleted', 'KYCFailed']);
    // The KYC worker decides when to give up: RunKycCheck keeps the default policy.
    expect(Object.keys(kycOnboarding.retries).sort()).toEqual([
      'CloseAccount',
      'CreateAccount',
      'RollbackUser',
      'SendWelcomeEmail',
    ]);
  });
});

describe('kycOnboarding, as recorded (WorkflowSpecification)', () => {
  let spec: WorkflowSpecification;
  beforeAll(async () => {
    spec = await WorkflowSpecification.for(kycOnboardingFeature);
  });

  it('asks for a KYC check as soon as the user is created, with a 48 h timeout', async () => {
    const { instance } = await spec
      .whenStarted(userCreated())
      .then([
        { type: 'UserCreated', data: { userId: 'u-1' } },
        { type: 'TimerScheduled', data: { eventType: TIMER, delayMs: 48 * 3600 * 1000 } },
        dispatched('RunKycCheck', { userId: 'u-1', fullName: 'Ada Lovelace', country: 'GB' }),
      ]);
    expect(instance).toMatchObject({ state: 'awaitingKyc', status: 'running' });
    expect(instance.inFlightCommands.map((c) => c.commandType)).toEqual(['RunKycCheck']);
    expect(instance.context).toMatchObject({
      saga: {
        done: [{ step: 'user', compensation: 'rollbackUser', input: { userId: 'u-1' } }],
        compensated: [],
        reason: null,
      },
    });
  });

  it('takes the timeout from the sign-up when it names one', async () => {
    await spec
      .whenStarted({ ...userCreated(), kycTimeoutSeconds: 90 })
      .then([
        { type: 'UserCreated' },
        { type: 'TimerScheduled', data: { delayMs: 90_000 } },
        dispatched('RunKycCheck'),
      ]);
  });

  it('rolls the user back when the KYC provider does not answer in time, withdrawing the check', async () => {
    const { instance } = await spec
      .given(userCreated())
      .whenTimerFires('kycTimeout')
      .then([
        timerFired({ eventType: TIMER, latenessMs: 0 }),
        { type: 'CommandWithdrawn', data: { commandType: 'RunKycCheck' } },
        dispatched('RollbackUser', { userId: 'u-1', reason: 'KYC timed out after 172800 s' }),
      ]);
    expect(instance.state).toEqual({ compensating: 'rollbackUser' });
    expect(instance.inFlightCommands.map((c) => c.commandType)).toEqual(['RollbackUser']);
  });

  it("takes a verdict a client sends (the provider's webhook) and withdraws the check", async () => {
    const { instance } = await spec
      .given(userCreated())
      .when({ type: 'KYCCompleted', checkId: 'kyc-7' })
      .then([
        { type: 'KYCCompleted', data: { checkId: 'kyc-7' } },
        { type: 'TimerCancelled', data: { cancelledByEventType: 'KYCCompleted' } },
        { type: 'CommandWithdrawn', data: { commandType: 'RunKycCheck' } },
        dispatched('CreateAccount', { userId: 'u-1', email: 'ada@example.com' }),
      ]);
    expect(instance.state).toBe('creatingAccount');
  });

  it('rolls the user back on a KYCFailed a client sends', async () => {
    await spec
      .given(userCreated())
      .when({ type: 'KYCFailed', checkId: 'kyc-8', reason: 'document expired' })
      .then([
        { type: 'KYCFailed' },
        { type: 'TimerCancelled' },
        { type: 'CommandWithdrawn', data: { commandType: 'RunKycCheck' } },
        dispatched('RollbackUser', { userId: 'u-1', reason: 'KYC failed: document expired' }),
      ]);
  });

  it('refuses a verdict once the user is verified, naming what the state accepts (nothing)', async () => {
    await spec
      .given(userCreated(), { type: 'KYCCompleted', checkId: 'kyc-7' })
      .when({ type: 'KYCFailed', checkId: 'kyc-7', reason: 'second thoughts' })
      .thenRejected('EVENT_NOT_ACCEPTED', { state: 'creatingAccount', acceptedEvents: [] });
  });

  it('refuses a payload that breaks its schema, naming the field', async () => {
    const rejection = await spec
      .given(userCreated())
      .when({ type: 'KYCCompleted', checkId: 42 })
      .thenRejected('SCHEMA_VALIDATION_FAILED');
    expect(rejection).toMatchObject({
      errors: [expect.objectContaining({ path: 'payload.checkId' })],
    });
  });

  it('fails a specification whose expectation does not hold, saying how', async () => {
    await expect(
      spec.whenStarted(userCreated()).then([{ type: 'UserCreated' }, dispatched('CreateAccount')]),
    ).rejects.toThrow(/expected 2 events, 3 were recorded/);
  });
});

describe('kycOnboarding, its steps and compensations (the engine, in memory)', () => {
  let engine: WorkflowEngine;
  let clock: ManualClock;
  let next = 0;
  beforeAll(async () => {
    clock = new ManualClock();
    ({ engine } = await createTestEngine({
      definitions: [kycOnboarding],
      schemas: KYC_ONBOARDING_SCHEMAS,
      clock,
    }));
  });

  /** A new onboarding, waiting for its KYC check. */
  async function signUp(email = 'ada@example.com'): Promise<string> {
    const userId = `u-${++next}`;
    valueOf(
      await engine.startWorkflow.handle({ workflow: WORKFLOW, input: userCreated(userId, email) }),
    );
    return userId;
  }
  const instanceOf = async (id: string) => valueOf(await engine.queries.get(WORKFLOW, id));
  const inFlight = async (id: string, commandType: string) => {
    const command = (await instanceOf(id)).inFlightCommands.find(
      (c) => c.commandType === commandType,
    );
    if (!command) throw new Error(`${id} has no ${commandType} in flight`);
    return command;
  };
  /** Completes the command of this type in flight, as its handler or worker would. */
  async function complete(
    id: string,
    commandType: string,
    output?: unknown,
  ): Promise<InstanceView> {
    const { commandId } = await inFlight(id, commandType);
    const outcome = valueOf(
      await engine.commands.complete({
        workflow: WORKFLOW,
        id,
        commandId,
        attempts: 1,
        ...(output === undefined ? {} : { output }),
      }),
    );
    expect(outcome.outcome).toBe('recorded');
    return outcome.instance;
  }
  /** Records the final failure of the command of this type in flight (its last attempt failed). */
  async function fail(id: string, commandType: string, error: string) {
    const { commandId } = await inFlight(id, commandType);
    const outcome = valueOf(
      await engine.commands.fail({ workflow: WORKFLOW, id, commandId, attempts: 3, error }),
    );
    if (outcome.outcome !== 'recorded') throw new Error(`${commandType}: ${outcome.outcome}`);
    return outcome;
  }
  /** The commands the instance dispatched, in the order they were recorded, with their payloads. */
  async function dispatchedCommands(id: string) {
    const history = valueOf(await engine.queries.history(WORKFLOW, id));
    return history
      .filter((e) => e.type === FrameworkEvent.CommandDispatched)
      .map((e) => ({
        type: String(e.data['commandType']),
        payload: JSON.parse(String(e.data['payloadJson'])) as Record<string, unknown>,
      }));
  }
  const typesOf = async (id: string) => (await dispatchedCommands(id)).map((c) => c.type);
  const passed = { checkId: 'kyc-7', passed: true, reason: null };

  it('onboards a verified user: account, then welcome email, then completed; nothing compensated', async () => {
    const id = await signUp();
    const verified = await complete(id, 'RunKycCheck', passed);
    expect(verified.state).toBe('creatingAccount');
    expect(verified.pendingTimers).toEqual([]);
    const opened = await complete(id, 'CreateAccount', { accountId: 'acc-9' });
    expect(opened.state).toBe('sendingWelcomeEmail');
    const welcomed = await complete(id, 'SendWelcomeEmail', { messageId: 'm-1' });
    expect(welcomed).toMatchObject({ state: 'completed', status: 'completed' });
    expect(await dispatchedCommands(id)).toEqual([
      { type: 'RunKycCheck', payload: { userId: id, fullName: 'Ada Lovelace', country: 'GB' } },
      { type: 'CreateAccount', payload: { userId: id, email: 'ada@example.com' } },
      {
        type: 'SendWelcomeEmail',
        payload: { userId: id, email: 'ada@example.com', accountId: 'acc-9' },
      },
    ]);
    expect(welcomed.context).toMatchObject({
      kycCheckId: 'kyc-7',
      accountId: 'acc-9',
      messageId: 'm-1',
      saga: {
        done: [
          { step: 'user', compensation: 'rollbackUser', input: { userId: id } },
          {
            step: 'account',
            compensation: 'closeAccount',
            input: { userId: id, accountId: 'acc-9' },
          },
        ],
        compensated: [],
        reason: null,
      },
    });
  });

  it('rolls the user back, and only that, when the KYC check fails', async () => {
    const id = await signUp();
    const failed = await complete(id, 'RunKycCheck', {
      checkId: 'kyc-8',
      passed: false,
      reason: 'document expired',
    });
    expect(failed.state).toEqual({ compensating: 'rollbackUser' });
    expect(failed.pendingTimers).toEqual([]);
    const rolledBack = await complete(id, 'RollbackUser');
    expect(rolledBack).toMatchObject({ state: 'rolledBack', status: 'cancelled' });
    expect(await dispatchedCommands(id)).toEqual([
      { type: 'RunKycCheck', payload: expect.any(Object) },
      { type: 'RollbackUser', payload: { userId: id, reason: 'KYC failed: document expired' } },
    ]);
    expect(rolledBack.context).toMatchObject({
      kycCheckId: 'kyc-8',
      saga: { done: [], compensated: [{ step: 'user' }], reason: 'KYC failed: document expired' },
    });
  });

  it('rolls the user back when the KYC timeout fires; a verdict that comes later is not taken', async () => {
    const id = await signUp();
    const { commandId: check } = await inFlight(id, 'RunKycCheck');
    const [timer] = (await instanceOf(id)).pendingTimers;
    clock.set(timer!.dueAt);
    const fired = valueOf(
      await engine.fireTimer.handle({ workflow: WORKFLOW, id, timerId: timer!.timerId }),
    );
    expect(fired.outcome).toBe('fired');
    const late = valueOf(
      await engine.commands.complete({
        workflow: WORKFLOW,
        id,
        commandId: check,
        attempts: 1,
        output: passed,
      }),
    );
    expect(late.outcome).toBe('notInFlight');
    const rolledBack = await complete(id, 'RollbackUser');
    expect(rolledBack).toMatchObject({ state: 'rolledBack', status: 'cancelled' });
    expect(await typesOf(id)).toEqual(['RunKycCheck', 'RollbackUser']);
  });

  it('rolls the user back, and closes no account, when the account cannot be created', async () => {
    const id = await signUp();
    await complete(id, 'RunKycCheck', passed);
    const failed = await fail(id, 'CreateAccount', 'the account service is gone');
    expect(failed.settledAs).toBe('errorDelivered');
    expect(failed.instance.state).toEqual({ compensating: 'rollbackUser' });
    const rolledBack = await complete(id, 'RollbackUser');
    expect(rolledBack.state).toBe('rolledBack');
    expect(await dispatchedCommands(id)).toEqual([
      { type: 'RunKycCheck', payload: expect.any(Object) },
      { type: 'CreateAccount', payload: expect.any(Object) },
      {
        type: 'RollbackUser',
        payload: { userId: id, reason: 'account not created: the account service is gone' },
      },
    ]);
  });

  it('closes the account, then rolls the user back, when the welcome email fails for good', async () => {
    const id = await signUp();
    await complete(id, 'RunKycCheck', passed);
    await complete(id, 'CreateAccount', { accountId: 'acc-3' });
    const failed = await fail(id, 'SendWelcomeEmail', 'mailbox unavailable');
    expect(failed.instance.state).toEqual({ compensating: 'closeAccount' });
    // One at a time: the sign-up is rolled back only once the account is closed.
    expect(failed.instance.inFlightCommands.map((c) => c.commandType)).toEqual(['CloseAccount']);
    const closed = await complete(id, 'CloseAccount');
    expect(closed.state).toEqual({ compensating: 'rollbackUser' });
    expect(closed.inFlightCommands.map((c) => c.commandType)).toEqual(['RollbackUser']);
    const rolledBack = await complete(id, 'RollbackUser');
    expect(rolledBack).toMatchObject({ state: 'rolledBack', status: 'cancelled' });
    const reason = 'welcome email not sent: mailbox unavailable';
    expect((await dispatchedCommands(id)).slice(3)).toEqual([
      { type: 'CloseAccount', payload: { userId: id, accountId: 'acc-3', reason } },
      { type: 'RollbackUser', payload: { userId: id, reason } },
    ]);
    expect(await typesOf(id)).toEqual([
      'RunKycCheck',
      'CreateAccount',
      'SendWelcomeEmail',
      'CloseAccount',
      'RollbackUser',
    ]);
    expect(rolledBack.context).toMatchObject({
      saga: {
        done: [],
        compensated: [{ step: 'account' }, { step: 'user' }],
        reason,
      },
    });
  });

  it('makes a KYC check that fails for good an incident; the timeout still rolls the user back', async () => {
    const id = await signUp();
    const failed = await fail(id, 'RunKycCheck', 'provider gone');
    expect(failed.settledAs).toBe('incident');
    expect(failed.instance.state).toBe('awaitingKyc');
    expect(failed.instance.incidents).toEqual([
      expect.objectContaining({ commandType: 'RunKycCheck', error: 'provider gone' }),
    ]);
    const [timer] = failed.instance.pendingTimers;
    clock.set(timer!.dueAt);
    const fired = valueOf(
      await engine.fireTimer.handle({ workflow: WORKFLOW, id, timerId: timer!.timerId }),
    );
    expect(fired.outcome).toBe('fired');
    const after = await instanceOf(id);
    expect(after.state).toEqual({ compensating: 'rollbackUser' });
    // Withdrawn with its state: the incident is closed, nobody waits for the check any more.
    expect(after.incidents).toEqual([]);
    expect(after.inFlightCommands.map((c) => c.commandType)).toEqual(['RollbackUser']);
  });

  it('waits on a compensation that fails for good (an incident) and resumes it on retry', async () => {
    const id = await signUp();
    await complete(id, 'RunKycCheck', passed);
    await complete(id, 'CreateAccount', { accountId: 'acc-4' });
    await fail(id, 'SendWelcomeEmail', 'mailbox unavailable');
    const stuck = await fail(id, 'CloseAccount', 'account service down');
    expect(stuck.settledAs).toBe('incident');
    expect(stuck.instance.state).toEqual({ compensating: 'closeAccount' });
    const [incident] = stuck.instance.incidents;
    valueOf(
      await engine.commands.resolveIncident({
        workflow: WORKFLOW,
        id,
        incidentId: incident!.incidentId,
        resolution: 'retry',
      }),
    );
    await complete(id, 'CloseAccount');
    expect((await complete(id, 'RollbackUser')).state).toBe('rolledBack');
    expect((await typesOf(id)).slice(3)).toEqual(['CloseAccount', 'RollbackUser']);
  });

  it('refuses a verdict that breaks its schema, naming the field, and records nothing', async () => {
    const id = await signUp();
    const { commandId } = await inFlight(id, 'RunKycCheck');
    const before = (await instanceOf(id)).revision;
    const refused = await engine.commands.complete({
      workflow: WORKFLOW,
      id,
      commandId,
      attempts: 1,
      output: { checkId: 'kyc-1', passed: 'yes' },
    });
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.rejection.code).toBe('SCHEMA_VALIDATION_FAILED');
      expect(JSON.stringify(refused.rejection)).toContain('output.passed');
    }
    expect((await instanceOf(id)).revision).toBe(before);
  });

  it('records the end once, cancelled, and says when the provider gave no reason', async () => {
    const id = await signUp();
    await complete(id, 'RunKycCheck', { checkId: 'k', passed: false, reason: null });
    await complete(id, 'RollbackUser');
    const history = valueOf(await engine.queries.history(WORKFLOW, id));
    expect(history.filter((e) => e.type === 'WorkflowCompleted').map((e) => e.data)).toEqual([
      expect.objectContaining({ status: 'cancelled' }),
    ]);
    expect((await dispatchedCommands(id))[1]).toEqual({
      type: 'RollbackUser',
      payload: { userId: id, reason: 'KYC failed: no reason given' },
    });
  });
});
