import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiAndProjector } from '../support/api-and-projector';
import { waitFor } from '../support/wait-for';

// Messages from other services over REST, against the built api and projector on one data
// directory (SQLite): the api correlates (`POST /messages`), the projector's message
// correlation service indexes and delivers what waited, and both survive restarts.

const apps = apiAndProjector('sqlite', 'esflow-messages-');

type Outcome = {
  outcome: string;
  instanceId?: string;
  revision?: number;
  reason?: string;
  detail?: string;
  firstOutcome?: string;
  expiresAt?: string;
};
type Listed = { messages: { messageId: string; status: string; reason: string | null }[] };
type Details = {
  message: { status: string; instanceId: string | null; reason: string | null };
  attempts: { trigger: string; outcome: string; by: string | null; candidates: string[] }[];
  discarded?: { reason: string; by: string | null };
};

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
const order = (orderId: string, extra: Record<string, unknown> = {}) => ({
  input: {
    orderId,
    customerId: 'c-1',
    amountCents: 4999,
    currency: 'EUR',
    items: [{ sku: 'SKU-1', quantity: 1 }],
    ...extra,
  },
});
const payment = (orderId: string, messageId = unique('pay')) => ({
  name: 'PaymentReceived',
  correlationKey: orderId,
  messageId,
  payload: { paymentId: `p-${orderId}`, amountCents: 4999 },
});

async function stateOf(orderId: string): Promise<string> {
  const { body } = await apps.http.get<{ state: string }>(`/workflows/orderFulfillment/${orderId}`);
  return body.state;
}

async function messageStatus(messageId: string): Promise<Details['message'] | undefined> {
  const { status, body } = await apps.http.get<Details>(`/messages/${messageId}`);
  return status === 200 ? body.message : undefined;
}

describe('POST /messages and the message operators, over the built api and projector', () => {
  it('delivers a payment to its waiting order in one append; the same messageId again is a duplicate', async () => {
    const orderId = unique('order');
    expect((await apps.http.post('/workflows/orderFulfillment', order(orderId))).status).toBe(201);
    const message = payment(orderId);
    const sent = await apps.http.post<Outcome>('/messages', message);
    expect(sent.status).toBe(202);
    // OrderPlaced, TimerScheduled, then PaymentReceived and the payment window's TimerCancelled.
    expect(sent.body).toMatchObject({ outcome: 'delivered', instanceId: orderId, revision: 3 });
    expect(await stateOf(orderId)).toBe('fetchingGoods');
    const again = await apps.http.post<Outcome>('/messages', message);
    expect(again.body).toMatchObject({ outcome: 'duplicate', firstOutcome: 'delivered' });
    const { body } = await apps.http.get<{ events: { type: string }[] }>(
      `/workflows/orderFulfillment/${orderId}/history`,
    );
    expect(body.events.filter((e) => e.type === 'PaymentReceived')).toHaveLength(1);
    await waitFor(async () => (await messageStatus(message.messageId))?.status === 'delivered', {
      what: 'the direct delivery indexed',
    });
  });

  it('buffers a payment that comes before its order and delivers it when the order is placed', async () => {
    const orderId = unique('order');
    const message = payment(orderId);
    const early = await apps.http.post<Outcome>('/messages', message);
    expect(early.body).toMatchObject({ outcome: 'buffered', expiresAt: expect.any(String) });
    await waitFor(
      async () =>
        (
          await apps.http.get<Listed>(`/messages?status=buffered&correlationKey=${orderId}`)
        ).body.messages.some((m) => m.messageId === message.messageId),
      { what: 'the early payment listed as buffered' },
    );
    await apps.http.post('/workflows/orderFulfillment', order(orderId));
    await waitFor(async () => (await stateOf(orderId)) === 'fetchingGoods', {
      timeoutMs: 10_000,
      what: 'the buffered payment delivered once the order started',
    });
    // The delivery is recorded in the message's stream right after the order's.
    const body = await waitFor(
      async () => {
        const { body } = await apps.http.get<Details>(`/messages/${message.messageId}`);
        return body.message.status === 'delivered' ? body : undefined;
      },
      { what: 'the delivery recorded with the message' },
    );
    expect(body.message).toMatchObject({ status: 'delivered', instanceId: orderId });
    expect(body.attempts.map((a) => a.outcome)).toEqual(['buffered', 'delivered']);
  });

  it('refuses a bad message with a specific 400 and writes nothing', async () => {
    const messageId = unique('bad');
    const cases: [unknown, string, string?][] = [
      [{ ...payment('o-x', messageId), name: 'PaymentTeleported' }, 'UNKNOWN_MESSAGE'],
      [
        { ...payment('o-x', messageId), payload: { paymentId: 'p', amountCents: 'lots' } },
        'SCHEMA_VALIDATION_FAILED',
        'payload.amountCents',
      ],
      [
        { name: 'PaymentReceived', correlationKey: 'o-x', payload: {} },
        'MALFORMED_REQUEST',
        'messageId',
      ],
      [{ ...payment('o-x', messageId), extra: 1 }, 'MALFORMED_REQUEST', 'extra'],
      [{ ...payment('o-x', messageId), ttlSeconds: 1.5 }, 'MALFORMED_REQUEST', 'ttlSeconds'],
      [{ ...payment('o-x', 'not an id') }, 'INVALID_ID', 'messageId'],
    ];
    for (const [body, code, path] of cases) {
      const response = await apps.http.post<{ code: string; errors?: { path: string }[] }>(
        '/messages',
        body,
      );
      expect(response.status, code).toBe(400);
      expect(response.body.code).toBe(code);
      // Each failure names the field (an unknown member is named in its message).
      if (path) expect(JSON.stringify(response.body), code).toContain(path);
    }
    expect((await apps.http.get(`/messages/${messageId}`)).status).toBe(404);
  });

  it('quarantines a message unmatched after its time-to-live; an operator retries it once the order exists, and discards another', async () => {
    const orderId = unique('order');
    const failed = {
      name: 'PaymentFailed',
      correlationKey: orderId,
      messageId: unique('fail'),
      payload: { reason: 'card declined' },
      ttlSeconds: 1,
    };
    expect((await apps.http.post<Outcome>('/messages', failed)).body.outcome).toBe('buffered');
    await waitFor(async () => (await messageStatus(failed.messageId))?.status === 'quarantined', {
      timeoutMs: 15_000,
      what: 'the unmatched message quarantined at its expiry',
    });
    const quarantined = await apps.http.get<Listed>(
      '/messages?status=quarantined&name=PaymentFailed',
    );
    expect(quarantined.body.messages.find((m) => m.messageId === failed.messageId)).toMatchObject({
      reason: 'NO_MATCHING_INSTANCE',
    });
    await apps.http.post('/workflows/orderFulfillment', order(orderId));
    const retried = await apps.http.post<Outcome>(`/messages/${failed.messageId}/retry`, {
      by: 'ops@example.com',
    });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ outcome: 'delivered', instanceId: orderId });
    expect(await stateOf(orderId)).toBe('cancelled');
    const { body } = await apps.http.get<Details>(`/messages/${failed.messageId}`);
    expect(body.attempts.at(-1)).toMatchObject({ trigger: 'retry', by: 'ops@example.com' });
    const retryAgain = await apps.http.post<{ code: string }>(
      `/messages/${failed.messageId}/retry`,
      {},
    );
    expect([retryAgain.status, retryAgain.body.code]).toEqual([409, 'MESSAGE_SETTLED']);

    const stray = { ...failed, correlationKey: unique('nobody'), messageId: unique('stray') };
    await apps.http.post('/messages', stray);
    const discarded = await apps.http.post<Outcome>(`/messages/${stray.messageId}/discard`, {
      reason: 'a sandbox payment',
      by: 'ops',
    });
    expect(discarded.body).toMatchObject({ outcome: 'discarded' });
    expect(
      (await apps.http.get<Details>(`/messages/${stray.messageId}`)).body.discarded,
    ).toMatchObject({ reason: 'a sandbox payment', by: 'ops' });
    const noReason = await apps.http.post<{ code: string }>(
      `/messages/${stray.messageId}/discard`,
      {},
    );
    expect([noReason.status, noReason.body.code]).toEqual([400, 'MALFORMED_REQUEST']);
    const unknown = await apps.http.post<{ code: string }>(
      `/messages/${unique('never')}/retry`,
      {},
    );
    expect([unknown.status, unknown.body.code]).toEqual([404, 'MESSAGE_NOT_FOUND']);
  });

  it('quarantines a payment that comes after the payment window cancelled the order (LATE_MESSAGE)', async () => {
    const orderId = unique('order');
    await apps.http.post(
      '/workflows/orderFulfillment',
      order(orderId, { paymentWindowSeconds: 1 }),
    );
    await waitFor(async () => (await stateOf(orderId)) === 'cancelled', {
      timeoutMs: 15_000,
      what: 'the payment window timer cancelling the order',
    });
    const late = await apps.http.post<Outcome>('/messages', payment(orderId));
    expect(late.body).toMatchObject({
      outcome: 'quarantined',
      reason: 'LATE_MESSAGE',
      instanceId: orderId,
    });
    const failedLate = await apps.http.post<Outcome>('/messages', {
      name: 'PaymentFailed',
      correlationKey: orderId,
      messageId: unique('late-fail'),
      payload: { reason: 'too late anyway' },
    });
    expect(failedLate.body).toMatchObject({ outcome: 'late', instanceId: orderId });
  });

  it('quarantines a cancellation that two waiting orders of one customer accept (AMBIGUOUS_CORRELATION), delivering it to neither', async () => {
    const customerId = unique('customer');
    const [first, second] = [unique('order'), unique('order')];
    // The index is the projector's: with it running, the message could find one order indexed
    // and the other not yet, and go to the first (the immediate ambiguous answer is the unit
    // suite's). Stopped, the index knows neither: the message waits, and the projector judges it
    // once it has indexed both.
    await apps.projector.kill('SIGTERM');
    for (const orderId of [first, second])
      await apps.http.post('/workflows/orderFulfillment', order(orderId, { customerId }));
    const messageId = unique('cancel');
    const answer = await apps.http.post<Outcome>('/messages', {
      name: 'OrderCancelled',
      correlationKey: customerId,
      messageId,
      payload: { reason: 'the customer called' },
    });
    expect(answer.body).toMatchObject({ outcome: 'buffered' });
    await apps.projector.restart();
    await waitFor(async () => (await messageStatus(messageId))?.status === 'quarantined', {
      timeoutMs: 30_000,
      what: 'the ambiguous cancellation quarantined',
    });
    const { body } = await apps.http.get<Details>(`/messages/${messageId}`);
    expect(body.message.reason).toBe('AMBIGUOUS_CORRELATION');
    expect(body.attempts.at(-1)).toMatchObject({
      candidates: expect.arrayContaining([first, second]),
    });
    expect([await stateOf(first), await stateOf(second)]).toEqual([
      'awaitingPayment',
      'awaitingPayment',
    ]);
    const listed = await apps.http.get<Listed>(
      `/messages?status=quarantined&correlationKey=${customerId}`,
    );
    expect(listed.body.messages.map((m) => [m.messageId, m.reason])).toEqual([
      [messageId, 'AMBIGUOUS_CORRELATION'],
    ]);
  });

  it("starts an onboarding from the sign-up service's message, once per user: a repeat and another message for the same user are duplicates", async () => {
    const userId = unique('user');
    const message = {
      name: 'UserCreated',
      correlationKey: userId,
      messageId: unique('signup'),
      payload: { userId, email: `${userId}@example.com`, fullName: 'Ada', country: 'GB' },
    };
    const started = await apps.http.post<Outcome>('/messages', message);
    expect(started.body).toMatchObject({ outcome: 'started', instanceId: userId });
    const repeated = await apps.http.post<Outcome>('/messages', message);
    expect(repeated.body).toMatchObject({ outcome: 'duplicate', firstOutcome: 'started' });
    const other = await apps.http.post<Outcome>('/messages', {
      ...message,
      messageId: unique('signup'),
    });
    expect(other.body).toMatchObject({ outcome: 'duplicate', instanceId: userId });
    const { body } = await apps.http.get<{ events: { type: string }[] }>(
      `/workflows/kycOnboarding/${userId}/history`,
    );
    expect(body.events.filter((e) => e.type === 'UserCreated')).toHaveLength(1);

    // The KYC provider's verdict comes as a message too, matched by the user it is about.
    const verdict = await apps.http.post<Outcome>('/messages', {
      name: 'KYCCompleted',
      correlationKey: userId,
      messageId: unique('kyc'),
      payload: { checkId: `kyc-${userId}` },
    });
    expect(verdict.body).toMatchObject({ outcome: 'delivered', instanceId: userId });
    const { body: after } = await apps.http.get<{ state: unknown }>(
      `/workflows/kycOnboarding/${userId}`,
    );
    expect(after.state).not.toBe('awaitingKyc');
  });

  it('keeps buffered messages across a restart of both processes and delivers them after it', async () => {
    const orderId = unique('order');
    const message = payment(orderId);
    await apps.http.post('/messages', message);
    await waitFor(async () => (await messageStatus(message.messageId))?.status === 'buffered', {
      what: 'buffered',
    });
    await Promise.all([apps.projector.kill('SIGKILL'), apps.api.kill('SIGTERM')]);
    await Promise.all([apps.projector.restart(), apps.api.restart()]);
    // A rebuild of the read models leaves the messages be: they live in their own streams.
    expect((await apps.http.post('/projections/instances/rebuild', {})).status).toBe(202);
    // The api answers from the index, which the restarted projector brings up to date.
    const listed = await waitFor(
      async () => {
        const { body } = await apps.http.get<Listed>(
          `/messages?status=buffered&correlationKey=${orderId}`,
        );
        return body.messages.length > 0 ? body.messages : undefined;
      },
      { timeoutMs: 15_000, what: 'the buffered message listed after the restart' },
    );
    expect(listed.map((m) => m.messageId)).toEqual([message.messageId]);
    await apps.http.post('/workflows/orderFulfillment', order(orderId));
    await waitFor(async () => (await stateOf(orderId)) === 'fetchingGoods', {
      timeoutMs: 15_000,
      what: 'the buffered payment delivered by the restarted projector',
    });
  });
});
