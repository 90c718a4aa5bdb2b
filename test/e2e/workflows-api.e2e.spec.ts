import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anOrder } from '../support/engine-fixture';
import { AppProcess, startApp } from '../support/app-process';
import { httpClient, rawHttp } from '../support/http-client';

let api: AppProcess;
let projector: AppProcess;
let http: ReturnType<typeof httpClient>;

beforeAll(async () => {
  api = await startApp('api');
  // GET /workflows reads the projector's read model.
  projector = await startApp('projector', { dataDir: api.dataDir });
  http = httpClient(api.baseUrl);
});
afterAll(async () => {
  await projector?.dispose();
  await api?.dispose();
});

const start = (order = anOrder(), headers: Record<string, string> = {}) =>
  http.post('/workflows/orderFulfillment', { input: order }, headers);
const send = (id: string, type: string, payload: unknown, headers: Record<string, string> = {}) =>
  http.post(`/workflows/orderFulfillment/${id}/events`, { type, payload }, headers);
const historyLength = async (id: string) =>
  (
    (await http.get<{ events: unknown[] }>(`/workflows/orderFulfillment/${id}/history`)).body
      .events ?? []
  ).length;

function expectProblem(
  response: { status: number; headers: Headers; body: Record<string, unknown> },
  status: number,
  code: string,
) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({
    status,
    code,
    type: expect.stringMatching(/^urn:esflow:problem:/),
  });
}

const PAYMENT_WINDOW = 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment';

describe('REST contract v1', () => {
  it('runs an order from OrderPlaced to completed, with ETags, history and the list', async () => {
    const order = anOrder();
    const before = Date.now();
    const started = await start(order);
    expect(started.status).toBe(201);
    // The start records OrderPlaced (0) and the payment window's TimerScheduled (1).
    expect(started.body).toEqual({
      workflow: 'orderFulfillment',
      id: order.orderId,
      version: 1,
      state: 'awaitingPayment',
      status: 'running',
      revision: 1,
      pendingTimers: [
        { timerId: expect.any(String), eventType: PAYMENT_WINDOW, dueAt: expect.any(String) },
      ],
    });
    // Due 30 minutes (the default payment window) after the start.
    const { dueAt } = (started.body as { pendingTimers: { dueAt: string }[] }).pendingTimers[0]!;
    expect(Date.parse(dueAt)).toBeGreaterThanOrEqual(before + 1_800_000);
    expect(Date.parse(dueAt)).toBeLessThanOrEqual(Date.now() + 1_800_000);
    expect(started.headers.get('etag')).toBe('"1"');
    expect(started.headers.get('location')).toBe(`/workflows/orderFulfillment/${order.orderId}`);

    expect(
      (
        await send(
          order.orderId,
          'PaymentReceived',
          { paymentId: 'pay-1', amountCents: 4999 },
          { 'If-Match': '"1"' },
        )
      ).body,
    ).toMatchObject({ state: 'fetchingGoods', revision: 3, pendingTimers: [] });
    expect((await send(order.orderId, 'GoodsFetched', { warehouseId: 'wh-1' })).body).toMatchObject(
      { state: 'shipping', revision: 4 },
    );
    const done = await send(order.orderId, 'ShipmentDispatched', { trackingId: 'trk-1' });
    expect(done.body).toMatchObject({ state: 'completed', status: 'completed', revision: 6 });

    const read = await http.get(`/workflows/orderFulfillment/${order.orderId}`);
    expect(read.headers.get('etag')).toBe('"6"');
    expect(read.body).toMatchObject({
      status: 'completed',
      acceptedEvents: [],
      pendingTimers: [],
      context: { trackingId: 'trk-1', paymentId: 'pay-1', paymentWindowSeconds: 1800 },
    });

    const history = await http.get<{
      events: {
        revision: number;
        type: string;
        data: Record<string, unknown>;
        metadata: Record<string, unknown>;
      }[];
    }>(`/workflows/orderFulfillment/${order.orderId}/history`);
    expect(history.body.events.map((e) => [e.revision, e.type])).toEqual([
      [0, 'OrderPlaced'],
      [1, 'TimerScheduled'],
      [2, 'PaymentReceived'],
      [3, 'TimerCancelled'],
      [4, 'GoodsFetched'],
      [5, 'ShipmentDispatched'],
      [6, 'WorkflowCompleted'],
    ]);
    expect(history.body.events[0]!.data).toEqual({ ...order, paymentWindowSeconds: null });
    expect(history.body.events[1]!.data).toMatchObject({
      eventType: PAYMENT_WINDOW,
      delayMs: 1_800_000,
      dueAt,
    });
    expect(history.body.events[3]!.data).toMatchObject({
      timerId: (started.body as { pendingTimers: { timerId: string }[] }).pendingTimers[0]!.timerId,
      cancelledByEventType: 'PaymentReceived',
      cancelledByRevision: 2,
    });
    expect(history.body.events[2]!.metadata).toMatchObject({
      stateBefore: 'awaitingPayment',
      stateAfter: 'fetchingGoods',
      schema: { subject: 'esflow.orderFulfillment.PaymentReceived' },
    });

    const list = await http.get<{ items: { id: string; status: string }[] }>(
      `/workflows?workflow=orderFulfillment&status=completed&limit=1000&waitFor=${order.orderId}@6`,
    );
    expect(list.headers.get('esflow-consistency')).toBe('fresh');
    expect(list.body.items.map((i) => i.id)).toContain(order.orderId);
  });

  it('pages the list with a stable cursor', async () => {
    for (let i = 0; i < 5; i++) await start(anOrder(`page-${i}`));
    await http.get('/workflows?workflow=orderFulfillment&waitFor=page-4@1');
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; next: string | null } } = await http.get(
        `/workflows?workflow=orderFulfillment&state=awaitingPayment&limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      );
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((i) => i.id));
      after = page.body.next;
    } while (after);
    const pages = seen.filter((id) => id.startsWith('page-'));
    expect(pages).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('answers repeated requests with the same Idempotency-Key with the first result and appends nothing', async () => {
    const order = anOrder();
    const first = await start(order, { 'Idempotency-Key': 'start-1' });
    const again = await start(order, { 'Idempotency-Key': 'start-1' });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const paid = await send(
      order.orderId,
      'PaymentReceived',
      { paymentId: 'p', amountCents: 1 },
      { 'Idempotency-Key': 'pay-1' },
    );
    await send(order.orderId, 'GoodsFetched', { warehouseId: 'w' });
    const repeat = await send(
      order.orderId,
      'PaymentReceived',
      { paymentId: 'p', amountCents: 1 },
      { 'Idempotency-Key': 'pay-1' },
    );
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual(paid.body);
    // OrderPlaced, TimerScheduled, PaymentReceived, TimerCancelled, GoodsFetched:
    expect(await historyLength(order.orderId)).toBe(5);
  });

  describe('failures are problem details, and write nothing', () => {
    it('400 SCHEMA_VALIDATION_FAILED names each field', async () => {
      const order = anOrder();
      const bad = await start({ ...order, amountCents: 'lots', items: [{ sku: 1 }] } as never);
      expectProblem(bad, 400, 'SCHEMA_VALIDATION_FAILED');
      expect(bad.body['errors']).toEqual([
        { path: 'input.amountCents', message: expect.stringContaining('integer') },
        { path: 'input.items.0.sku', message: expect.stringContaining('string') },
        { path: 'input.items.0.quantity', message: expect.stringContaining('required') },
      ]);
      expectProblem(
        await http.get(`/workflows/orderFulfillment/${order.orderId}`),
        404,
        'INSTANCE_NOT_FOUND',
      );
    });

    it('400 UNKNOWN_EVENT_TYPE, 422 EVENT_NOT_ACCEPTED with state and accepted events, 409 on stale If-Match', async () => {
      const order = anOrder();
      await start(order);
      const unknown = await send(order.orderId, 'Teleported', {});
      expectProblem(unknown, 400, 'UNKNOWN_EVENT_TYPE');
      const early = await send(order.orderId, 'ShipmentDispatched', { trackingId: 't' });
      expectProblem(early, 422, 'EVENT_NOT_ACCEPTED');
      expect(early.body).toMatchObject({
        eventType: 'ShipmentDispatched',
        state: 'awaitingPayment',
        acceptedEvents: ['PaymentReceived', 'PaymentFailed', 'OrderCancelled'],
      });
      const stale = await send(
        order.orderId,
        'PaymentReceived',
        { paymentId: 'p', amountCents: 1 },
        { 'If-Match': '"7"' },
      );
      expectProblem(stale, 409, 'REVISION_CONFLICT');
      expectProblem(
        await send(
          order.orderId,
          'PaymentReceived',
          { paymentId: 'p', amountCents: 1 },
          { 'If-Match': 'soon' },
        ),
        400,
        'MALFORMED_REQUEST',
      );
      expect(await historyLength(order.orderId)).toBe(2); // OrderPlaced, TimerScheduled
    });

    it('404 for unknown workflows and instances, 409 for a duplicate start', async () => {
      expectProblem(
        await http.post('/workflows/noSuchFlow', { input: {} }),
        404,
        'WORKFLOW_NOT_FOUND',
      );
      expectProblem(
        await send('never-started', 'PaymentReceived', { paymentId: 'p', amountCents: 1 }),
        404,
        'INSTANCE_NOT_FOUND',
      );
      expectProblem(
        await http.get('/workflows/orderFulfillment/never-started/history'),
        404,
        'INSTANCE_NOT_FOUND',
      );
      const order = anOrder();
      await start(order);
      expectProblem(await start(order), 409, 'INSTANCE_ALREADY_EXISTS');
      expect(await historyLength(order.orderId)).toBe(2); // OrderPlaced, TimerScheduled
    });

    it('400 MALFORMED_REQUEST for bad JSON and bad envelopes', async () => {
      expectProblem(
        await http.post('/workflows/orderFulfillment', '{"input": '),
        400,
        'MALFORMED_REQUEST',
      );
      expectProblem(
        await http.post('/workflows/orderFulfillment', '[1,2]'),
        400,
        'MALFORMED_REQUEST',
      );
      const extra = await http.post('/workflows/orderFulfillment', {
        input: anOrder(),
        colour: 'red',
      });
      expectProblem(extra, 400, 'MALFORMED_REQUEST');
      expect(extra.body['errors']).toEqual([{ path: '', message: 'unknown field(s): colour' }]);
      expectProblem(
        await http.post('/workflows/orderFulfillment/x/events', { payload: {} }),
        400,
        'MALFORMED_REQUEST',
      );
      expectProblem(await http.get('/workflows?limit=0'), 400, 'MALFORMED_REQUEST');
    });

    it('400 INVALID_ID for odd ids: too long, control characters, path tricks, bad encoding — never 500', async () => {
      const odd = [
        'a'.repeat(201),
        'bad%00id',
        '..',
        '.',
        '%2E%2E',
        '..%2F..%2Fetc%2Fpasswd',
        'sp%20ace',
        '%E0%A4%A',
        'x%0Ay',
        'emoji%F0%9F%98%80',
      ];
      for (const id of odd) {
        for (const [method, path, body] of [
          ['GET', `/workflows/orderFulfillment/${id}`, undefined],
          ['GET', `/workflows/orderFulfillment/${id}/history`, undefined],
          [
            'POST',
            `/workflows/orderFulfillment/${id}/events`,
            { type: 'PaymentReceived', payload: { paymentId: 'p', amountCents: 1 } },
          ],
        ] as const) {
          const response = await rawHttp(api.baseUrl, method, path, body);
          expect(response.status, `${method} ${path}`).toBe(400);
          expect(response.contentType).toMatch(/^application\/problem\+json/);
          expect(response.body['code']).toBe('INVALID_ID');
        }
      }
      expectProblem(
        await http.post('/workflows/orderFulfillment', { id: 'a/b', input: anOrder() }),
        400,
        'INVALID_ID',
      );
      expectProblem(
        await http.post('/workflows/orderFulfillment', { input: anOrder('has space') }),
        400,
        'INVALID_ID',
      );
      expect((await http.get('/workflows/orderFulfillment/' + 'a'.repeat(200))).status).toBe(404);
    });

    it('413 PAYLOAD_TOO_LARGE over 1 MB', async () => {
      const order = anOrder();
      await start(order);
      const huge = {
        type: 'PaymentReceived',
        payload: { paymentId: 'x'.repeat(1024 * 1024 + 10), amountCents: 1 },
      };
      expectProblem(
        await http.post(`/workflows/orderFulfillment/${order.orderId}/events`, huge),
        413,
        'PAYLOAD_TOO_LARGE',
      );
      expect(await historyLength(order.orderId)).toBe(2); // OrderPlaced, TimerScheduled
    });
  });

  it('50 racing events on one instance: contiguous revisions, only allowed transitions, only 200/409/422', async () => {
    const order = anOrder();
    await start(order);
    const moves = [
      ['PaymentReceived', { paymentId: 'p', amountCents: 1 }],
      ['GoodsFetched', { warehouseId: 'w' }],
      ['ShipmentDispatched', { trackingId: 't' }],
      ['PaymentFailed', { reason: 'declined' }],
      ['GoodsUnavailable', { sku: 'SKU-1' }],
    ] as const;
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const [type, payload] = moves[i % moves.length]!;
        // A third of the requests pin a revision, as a client that read the ETag would.
        const headers: Record<string, string> = i % 3 === 0 ? { 'If-Match': `"${i % 4}"` } : {};
        return send(order.orderId, type, payload, headers);
      }),
    );
    const statuses = new Set(responses.map((r) => r.status));
    expect(
      [...statuses].every((s) => [200, 409, 422].includes(s)),
      [...statuses].join(','),
    ).toBe(true);
    const history = await http.get<{
      events: {
        revision: number;
        type: string;
        metadata: { category: string; stateBefore: unknown; stateAfter: unknown };
      }[];
    }>(`/workflows/orderFulfillment/${order.orderId}/history`);
    const events = history.body.events;
    expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => i));
    // Every recorded workflow event is a transition the machine allows from the state before it.
    const allowed: Record<string, string[]> = {
      awaitingPayment: ['PaymentReceived', 'PaymentFailed', 'OrderCancelled'],
      fetchingGoods: ['GoodsFetched', 'GoodsUnavailable'],
      refunding: ['PaymentRefunded'],
      shipping: ['ShipmentDispatched'],
    };
    let state: unknown = 'awaitingPayment';
    for (const event of events.slice(1).filter((e) => e.metadata.category === 'workflow')) {
      expect(event.metadata.stateBefore).toBe(state);
      expect(allowed[state as string]).toContain(event.type);
      state = event.metadata.stateAfter;
    }
    const accepted = responses.filter((r) => r.status === 200);
    expect(accepted.length).toBe(
      events.filter((e) => e.metadata.category === 'workflow').length - 1,
    );
  });

  it('serves OpenAPI at /docs, health at /health and Prometheus metrics at /metrics', async () => {
    const openapi = await http.get<{ paths: Record<string, unknown> }>('/docs/openapi.json');
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining([
        '/workflows/{workflow}',
        '/workflows/{workflow}/{id}/events',
        '/workflows/{workflow}/{id}',
        '/workflows/{workflow}/{id}/history',
        '/workflows',
      ]),
    );
    expect((await http.get('/docs')).status).toBe(200);
    expect((await http.get('/health')).body).toMatchObject({
      status: 'ok',
      info: { eventStore: { status: 'up' } },
    });
    const metrics = await http.get<string>('/metrics');
    expect(metrics.body).toMatch(/esflow_store_commits_total \d+/);
  });
});
