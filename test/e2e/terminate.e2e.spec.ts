import { describe, expect, it } from 'vitest';
import { apiAndProjector } from '../support/api-and-projector';
import { anOrder } from '../support/engine-fixture';
import { waitFor } from '../support/wait-for';

// An operator terminates instances over REST, against the built api and projector on one SQLite
// data directory: the fact and who did it in the history, the timer index and the command queue
// following the TimerCancelled and CommandWithdrawn it recorded, the instance list showing the
// status, and every refusal writing nothing.

type Written = { status: string; state: unknown; revision: number; pendingTimers: unknown[] };
type Detail = Written & {
  acceptedEvents: string[];
  inFlightCommands: { commandId: string }[];
};
type HistoryEvent = {
  revision: number;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
};
type Problem = { code: string; errors?: { path: string; message: string }[] };
type Timer = {
  timerId: string;
  status: string;
  settledBy: { eventType: string; revision: number } | null;
};

describe('terminating an instance over REST', () => {
  const apps = apiAndProjector('sqlite', 'esflow-terminate-');
  const order = '/workflows/orderFulfillment';
  const history = async (path: string) =>
    (await apps.http.get<{ events: HistoryEvent[] }>(`${path}/history`)).body.events;

  it('terminates an order with a reason: status terminated, the fact and its operator in the history, its timer cancelled, listed as terminated', async () => {
    const { http } = apps;
    const { orderId } = anOrder();
    const instance = `${order}/${orderId}`;
    const started = await http.post<Written>(order, {
      input: { ...anOrder(orderId), paymentWindowSeconds: 3600 },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body.pendingTimers).toHaveLength(1);
    const timers = async () =>
      (
        await http.get<{ timers: Timer[] }>(
          `/timers?workflow=orderFulfillment&instance_id=${orderId}`,
        )
      ).body.timers;
    await waitFor(async () => (await timers())[0]?.status === 'pending', {
      timeoutMs: 15_000,
      what: 'the payment window indexed',
    });

    const terminated = await http.post<Written>(
      `${instance}/terminate`,
      { reason: 'customer asked by phone to drop it' },
      { 'if-match': '"1"' },
    );
    expect(terminated.status, JSON.stringify(terminated.body)).toBe(200);
    expect(terminated.headers.get('etag')).toBe('"3"');
    expect(terminated.body).toMatchObject({
      status: 'terminated',
      state: 'awaitingPayment',
      revision: 3,
      pendingTimers: [],
    });
    const view = await http.get<Detail>(instance);
    expect(view.body).toMatchObject({
      status: 'terminated',
      acceptedEvents: [],
      pendingTimers: [],
    });

    const events = await history(instance);
    expect(events.map((event) => event.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'InstanceTerminated',
      'TimerCancelled',
    ]);
    expect(events[2]).toMatchObject({
      data: {
        reason: 'customer asked by phone to drop it',
        operator: 'anonymous',
        stateAtTermination: '"awaitingPayment"',
      },
      metadata: { actor: 'anonymous', statusAfter: 'terminated', category: 'framework' },
    });
    expect(events[3]).toMatchObject({
      data: { cancelledByEventType: 'InstanceTerminated', cancelledByRevision: 2 },
      metadata: { actor: 'anonymous', statusAfter: 'terminated' },
    });
    // The request that started it is recorded with who made it too; the engine's own facts of
    // that append with it.
    expect(events[0]!.metadata['actor']).toBe('anonymous');

    const cancelled = await waitFor(
      async () => {
        const [timer] = await timers();
        return timer?.status === 'cancelled' ? timer : undefined;
      },
      { timeoutMs: 15_000, what: 'the payment window cancelled in the timer list' },
    );
    expect(cancelled.settledBy).toMatchObject({ eventType: 'InstanceTerminated', revision: 2 });

    const listed = await http.get<{ items: { id: string; status: string }[] }>(
      `/workflows?workflow=orderFulfillment&status=terminated&waitFor=${orderId}@3`,
    );
    expect(listed.headers.get('esflow-consistency')).toBe('fresh');
    expect(listed.body.items).toContainEqual(
      expect.objectContaining({ id: orderId, status: 'terminated' }),
    );
    const running = await http.get<{ items: { id: string }[] }>(
      '/workflows?workflow=orderFulfillment&status=running&limit=1000',
    );
    expect(running.body.items.map((item) => item.id)).not.toContain(orderId);

    // Finished now: a second termination and any event are refused, and nothing is written.
    const again = await http.post<Problem>(`${instance}/terminate`, { reason: 'again' });
    expect([again.status, again.body.code]).toEqual([409, 'INSTANCE_NOT_RUNNING']);
    const paid = await http.post<Problem>(`${instance}/events`, {
      type: 'PaymentReceived',
      payload: { paymentId: 'p-1', amountCents: 4999 },
    });
    expect([paid.status, paid.body.code]).toEqual([422, 'EVENT_NOT_ACCEPTED']);
    expect(await history(instance)).toHaveLength(4);
  });

  it('withdraws the commands of a terminated onboarding: the queue never leases them again', async () => {
    const { http } = apps;
    const userId = `u-term-${Math.random().toString(36).slice(2, 10)}`;
    const path = `/workflows/kycOnboarding/${userId}`;
    const user = { userId, email: 't@example.org', fullName: 'T O', country: 'DE' };
    expect((await http.post('/workflows/kycOnboarding', { input: user })).status).toBe(201);
    const [command] = (await http.get<Detail>(path)).body.inFlightCommands;
    const statusOf = async () =>
      (
        await http.get<{ commands: { commandId: string; status: string }[] }>(
          `/commands?instance_id=${userId}&command_type=RunKycCheck`,
        )
      ).body.commands[0]?.status;
    await waitFor(async () => (await statusOf()) === 'pending', {
      timeoutMs: 15_000,
      what: 'RunKycCheck queued',
    });

    const terminated = await http.post<Written>(`${path}/terminate`, {
      reason: 'duplicate sign-up',
    });
    expect(terminated.status, JSON.stringify(terminated.body)).toBe(200);
    expect(terminated.body).toMatchObject({ status: 'terminated', pendingTimers: [] });
    const events = await history(path);
    expect(events.slice(-3).map((event) => event.type)).toEqual([
      'InstanceTerminated',
      'TimerCancelled',
      'CommandWithdrawn',
    ]);
    expect(events.at(-1)).toMatchObject({
      data: { commandId: command!.commandId, withdrawnByEventType: 'InstanceTerminated' },
    });

    await waitFor(async () => (await statusOf()) === 'withdrawn', {
      timeoutMs: 15_000,
      what: 'RunKycCheck withdrawn in the queue',
    });
    const leased = await http.post<{ commands: { commandId: string }[] }>('/commands/lease', {
      workerId: 'term-worker',
      commandTypes: ['RunKycCheck'],
      max: 100,
    });
    expect(leased.status).toBe(200);
    expect(leased.body.commands.map((c) => c.commandId)).not.toContain(command!.commandId);
  });

  it('refuses a bad body, an unknown workflow or instance, a stale If-Match, and writes nothing', async () => {
    const { http } = apps;
    const { orderId } = anOrder();
    const instance = `${order}/${orderId}`;
    expect((await http.post(order, { input: anOrder(orderId) })).status).toBe(201);
    const refusals: [unknown, Record<string, string>, string, number, string, string?][] = [
      [{}, {}, instance, 400, 'MALFORMED_REQUEST', 'reason'],
      [{ reason: '' }, {}, instance, 400, 'MALFORMED_REQUEST', 'reason'],
      [{ reason: '  ' }, {}, instance, 400, 'MALFORMED_REQUEST', 'reason'],
      [{ reason: 'r'.repeat(2001) }, {}, instance, 400, 'MALFORMED_REQUEST', 'reason'],
      [{ reason: 7 }, {}, instance, 400, 'MALFORMED_REQUEST', 'reason'],
      [{ reason: 'ok', by: 'me' }, {}, instance, 400, 'MALFORMED_REQUEST', ''],
      [{ reason: 'ok' }, { 'if-match': '"0"' }, instance, 409, 'REVISION_CONFLICT'],
      [{ reason: 'ok' }, { 'if-match': 'nope' }, instance, 400, 'MALFORMED_REQUEST'],
      [{ reason: 'ok' }, {}, `${order}/nobody-${orderId}`, 404, 'INSTANCE_NOT_FOUND'],
      [{ reason: 'ok' }, {}, `/workflows/noSuchFlow/${orderId}`, 404, 'WORKFLOW_NOT_FOUND'],
      [{ reason: 'ok' }, {}, `${order}/bad%20id`, 400, 'INVALID_ID'],
    ];
    for (const [body, headers, path, status, code, field] of refusals) {
      const answer = await http.post<Problem>(`${path}/terminate`, body, headers);
      const context = `${path} ${JSON.stringify(body).slice(0, 80)} ${JSON.stringify(headers)}`;
      expect([answer.status, answer.body.code], context).toEqual([status, code]);
      expect(answer.headers.get('content-type'), context).toMatch(/^application\/problem\+json/);
      if (field !== undefined)
        expect(
          answer.body.errors?.map((error) => error.path),
          context,
        ).toContain(field);
    }
    expect(await history(instance)).toHaveLength(2);
    expect((await http.get<Detail>(instance)).body.status).toBe('running');
  });
});
