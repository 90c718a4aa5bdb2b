import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, startApp } from '../support/app-process';
import { COMPLETED_ORDER_EVENTS } from '../support/engine-fixture';
import { readmeBashBlock } from '../support/readme';

/** A bash block of the README, exactly as written there (the first after `heading`). */
function walkThrough(heading = 'With `npm start` running'): string {
  return readmeBashBlock(heading);
}

/** Runs a README bash block against the api, as written, and parses the JSON lines it prints. */
function runSection(heading: string, host: string) {
  const script = walkThrough(heading).replaceAll('localhost:3000', host);
  const output = execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

type HistoryEvent = {
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
};

describe('README walk-through', () => {
  let api: AppProcess;
  let projector: AppProcess;
  beforeAll(async () => {
    api = await startApp('api');
    projector = await startApp('projector', { dataDir: api.dataDir });
  });
  afterAll(async () => {
    await projector?.dispose();
    await api?.dispose();
  });

  it('works as written', () => {
    const script = walkThrough().replaceAll('localhost:3000', new URL(api.baseUrl).host);
    const output = execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const lines = output.split('\n');
    const json = lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(json.slice(0, 5).map((r) => r['code'] ?? r['state'])).toEqual([
      'awaitingPayment',
      'fetchingGoods',
      'EVENT_NOT_ACCEPTED',
      'shipping',
      'completed',
    ]);
    // As the README says: revision 1 after the start (OrderPlaced, then the payment window's
    // TimerScheduled), 3 after the payment (its TimerCancelled), 6 once completed.
    expect(json.slice(0, 5).map((r) => r['revision'] ?? null)).toEqual([1, 3, null, 4, 6]);
    expect(json[0]!['pendingTimers']).toEqual([
      {
        timerId: expect.any(String),
        eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
        dueAt: expect.any(String),
      },
    ]);
    expect(output).toContain('ETag: "6"');
    const history = json.find((r) => Array.isArray(r['events'])) as { events: { type: string }[] };
    expect(history.events.map((e) => e.type)).toEqual(COMPLETED_ORDER_EVENTS);
    const list = json.find((r) => Array.isArray(r['items'])) as {
      items: { id: string; status: string }[];
    };
    expect(list.items).toEqual([
      expect.objectContaining({ id: 'order-1001', status: 'completed' }),
    ]);
  });

  it('the payment window works as written', () => {
    const script = walkThrough('### An order that is not paid in time').replaceAll(
      'localhost:3000',
      new URL(api.baseUrl).host,
    );
    const output = execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const json = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(json).toHaveLength(4);
    expect(json[0]).toMatchObject({ state: 'awaitingPayment', revision: 1 });
    expect(json[1]).toMatchObject({
      state: 'cancelled',
      status: 'cancelled',
      revision: 3,
      context: { cancellationReason: 'payment window expired' },
      pendingTimers: [],
    });
    const timerId = (json[0]!['pendingTimers'] as { timerId: string }[])[0]!.timerId;
    expect(json[2]).toMatchObject({
      code: 'EVENT_NOT_ACCEPTED',
      movedByTimer: {
        timerId,
        eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
        revision: 2,
      },
    });
    expect(json[3]).toEqual({
      timers: [
        expect.objectContaining({ timerId, status: 'fired', latenessMs: expect.any(Number) }),
      ],
    });
  });

  it('the messages walk-through works as written: buffered, duplicate, delivered; quarantined, retried', () => {
    const json = runSection(
      '### Messages from other services: early, twice, unmatched',
      new URL(api.baseUrl).host,
    );
    expect(json).toHaveLength(9);
    expect(json[0]).toMatchObject({
      outcome: 'buffered',
      messageId: 'pay-evt-1004',
      workflow: 'orderFulfillment',
      expiresAt: expect.any(String),
    });
    expect(json[1]).toMatchObject({ outcome: 'duplicate', firstOutcome: 'buffered' });
    expect(json[2]).toMatchObject({ state: 'awaitingPayment', revision: 1 });
    const listed = (json[3]!['items'] as { id: string; state: string; revision: number }[]).find(
      (item) => item.id === 'order-1004',
    );
    expect(listed).toMatchObject({ state: 'fetchingGoods', revision: 3 });
    expect(json[4]).toMatchObject({
      message: { status: 'delivered', instanceId: 'order-1004', attempts: 2 },
      payload: { paymentId: 'pay-4', amountCents: 3000 },
      source: { kind: 'rest' },
    });
    expect((json[4]!['attempts'] as { outcome: string }[]).map((a) => a.outcome)).toEqual([
      'buffered',
      'delivered',
    ]);
    expect(json[5]).toMatchObject({ outcome: 'buffered' });
    expect(json[6]!['messages']).toEqual([
      expect.objectContaining({
        messageId: 'fail-evt-1005',
        status: 'quarantined',
        reason: 'NO_MATCHING_INSTANCE',
      }),
    ]);
    expect(json[7]).toMatchObject({ state: 'awaitingPayment' });
    expect(json[8]).toMatchObject({
      outcome: 'delivered',
      messageId: 'fail-evt-1005',
      instanceId: 'order-1005',
      revision: 4, // PaymentFailed, TimerCancelled, WorkflowCompleted (cancelled)
    });
  });

  it('the refund path works as written: the example handler refunds, the order ends cancelled', () => {
    const json = runSection('### An order whose goods are unavailable', new URL(api.baseUrl).host);
    expect(json).toHaveLength(7);
    expect(json.slice(0, 3).map((r) => [r['state'], r['revision']])).toEqual([
      ['awaitingPayment', 1],
      ['fetchingGoods', 3],
      ['refunding', 5],
    ]);
    // The list holds the other cancelled orders of the walk-through too.
    expect((json[3] as { items: unknown[] }).items).toContainEqual(
      expect.objectContaining({
        id: 'order-1003',
        state: 'cancelled',
        status: 'cancelled',
        revision: 8,
      }),
    );
    expect(json[4]).toMatchObject({
      state: 'cancelled',
      status: 'cancelled',
      revision: 8,
      context: { cancellationReason: 'goods unavailable: SKU-3' },
      inFlightCommands: [],
      incidents: [],
    });
    const { events } = json[5] as { events: HistoryEvent[] };
    expect(events.map((e) => e.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'PaymentReceived',
      'TimerCancelled',
      'GoodsUnavailable',
      'CommandDispatched',
      'PaymentRefunded',
      'CommandCompleted',
      'WorkflowCompleted',
    ]);
    const command = events[5]!.data;
    expect(command).toMatchObject({ commandType: 'RefundPayment' });
    expect(events[6]!.data).toEqual({ refundId: expect.stringMatching(/^refund-[0-9a-f]{12}$/) });
    expect(events[6]!.metadata['causationId']).toBe(command['commandId']);
    expect(events[7]!.data).toMatchObject({
      commandId: command['commandId'],
      attempts: 1,
      replyType: 'PaymentRefunded',
      replyAccepted: true,
    });
    // The queue follows the log: the command is listed (its status may lag by moments).
    expect(json[6]).toEqual({
      commands: [
        expect.objectContaining({
          commandId: command['commandId'],
          commandType: 'RefundPayment',
          payload: {
            orderId: 'order-1003',
            paymentId: 'pay-3',
            amountCents: 2500,
            currency: 'EUR',
          },
        }),
      ],
    });
  });

  it('the onboarding saga works as written: a worker leases RunKycCheck and completes it', () => {
    const json = runSection(
      '### An onboarding saga: a KYC worker and in-process steps',
      new URL(api.baseUrl).host,
    );
    expect(json).toHaveLength(5);
    expect(json[0]).toMatchObject({
      id: 'u-2001',
      state: 'awaitingKyc',
      status: 'running',
      revision: 2,
      pendingTimers: [
        expect.objectContaining({ eventType: 'xstate.after.kycTimeout.kycOnboarding.awaitingKyc' }),
      ],
    });
    const { commands } = json[1] as { commands: Record<string, unknown>[] };
    expect(commands).toEqual([
      expect.objectContaining({
        commandType: 'RunKycCheck',
        workflow: 'kycOnboarding',
        instanceId: 'u-2001',
        payload: { userId: 'u-2001', fullName: 'Ada Lovelace', country: 'GB' },
        attempts: 1,
        leaseUntil: expect.any(String),
        dispatchedAt: expect.any(String),
      }),
    ]);
    expect(json[2]).toMatchObject({
      outcome: 'recorded',
      commandId: commands[0]!['commandId'],
      instance: {
        state: 'creatingAccount',
        inFlightCommands: [expect.objectContaining({ commandType: 'CreateAccount' })],
      },
    });
    expect((json[3] as { items: unknown[] }).items).toContainEqual(
      expect.objectContaining({ id: 'u-2001', state: 'completed', revision: 9 }),
    );
    expect(json[4]).toMatchObject({
      state: 'completed',
      status: 'completed',
      context: {
        kycCheckId: 'kyc-77',
        accountId: expect.stringMatching(/^acc-/),
        messageId: expect.stringMatching(/^msg-/),
        saga: {
          done: [
            expect.objectContaining({ step: 'user' }),
            expect.objectContaining({ step: 'account' }),
          ],
          compensated: [],
          reason: null,
        },
      },
    });
  });

  it('compensation works as written: closed, then rolled back; the KYC timeout rolls back', () => {
    const json = runSection(
      '### When a step fails: compensation in reverse',
      new URL(api.baseUrl).host,
    );
    expect(json).toHaveLength(7);
    expect(json[0]).toMatchObject({ id: 'u-2002', state: 'awaitingKyc', revision: 2 });
    expect(json[1]).toMatchObject({ state: 'creatingAccount', revision: 6, pendingTimers: [] });
    expect((json[2] as { items: unknown[] }).items).toContainEqual(
      expect.objectContaining({ id: 'u-2002', state: 'rolledBack', revision: 14 }),
    );
    const rolledBack = json[3] as { context: { accountId: string } };
    const reason = `welcome email not sent: mailbox unavailable: grace@bounce.example (account ${rolledBack.context.accountId})`;
    expect(rolledBack).toMatchObject({
      state: 'rolledBack',
      status: 'cancelled',
      context: {
        saga: {
          done: [],
          compensated: [
            { step: 'account', compensation: 'closeAccount' },
            { step: 'user', compensation: 'rollbackUser' },
          ],
          reason,
        },
      },
    });
    // In the order dispatched: the compensations last, the account closed before the rollback.
    const { commands } = json[4] as { commands: { commandType: string; payload: unknown }[] };
    expect(commands.map((c) => c.commandType)).toEqual([
      'RunKycCheck',
      'CreateAccount',
      'SendWelcomeEmail',
      'CloseAccount',
      'RollbackUser',
    ]);
    expect(commands[3]!.payload).toEqual({
      userId: 'u-2002',
      accountId: rolledBack.context.accountId,
      reason,
    });
    expect(commands[4]!.payload).toEqual({ userId: 'u-2002', reason });
    expect(json[5]).toMatchObject({ id: 'u-2003', state: 'awaitingKyc' });
    expect(json[6]).toMatchObject({
      state: 'rolledBack',
      status: 'cancelled',
      context: {
        saga: {
          done: [],
          compensated: [{ step: 'user', compensation: 'rollbackUser' }],
          reason: 'KYC timed out after 2 s',
        },
      },
    });
  });
});
