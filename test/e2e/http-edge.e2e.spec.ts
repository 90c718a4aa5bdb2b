import { networkInterfaces } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteReadModelStore } from '@esflow/sqlite';
import { ReadModelStore } from '@esflow/core';
import { anOrder } from '../support/engine-fixture';
import { AppProcess, startApp } from '../support/app-process';
import { HttpResponse, httpClient, rawExchange } from '../support/http-client';
import { waitFor } from '../support/wait-for';

/**
 * The HTTP edge as a hostile or sloppy client meets it, one reproducer per class of the hardening
 * probe, against the built api (and projector) processes. Limits are lowered so that the
 * size classes take kilobytes, not megabytes.
 */
const LIMITS = {
  ESFLOW_MAX_EVENT_SIZE: '64kb',
  ESFLOW_MAX_INSTANCE_SIZE: '160kb',
  ESFLOW_INSTANCE_CACHE_BYTES: '1mb',
};

let api: AppProcess;
let projector: AppProcess | undefined;
let http: ReturnType<typeof httpClient>;
let readModel: ReadModelStore;

beforeAll(async () => {
  api = await startApp('api', { env: LIMITS });
  http = httpClient(api.baseUrl);
  readModel = createSqliteReadModelStore({ filename: join(api.dataDir, 'readmodel.sqlite') });
});
afterAll(async () => {
  await readModel?.close();
  await projector?.dispose();
  await api?.dispose();
});

const WORKFLOW = '/workflows/orderFulfillment';
const start = (body: unknown, headers: Record<string, string> = {}) =>
  http.post(WORKFLOW, body, headers);
const send = (id: string, body: unknown, headers: Record<string, string> = {}) =>
  http.post(`${WORKFLOW}/${id}/events`, body, headers);
const historyOf = async (id: string) =>
  (await http.get<{ events?: { type: string; data: Record<string, unknown> }[] }>(
    `${WORKFLOW}/${id}/history`,
  ))!.body.events;

function expectProblem(response: HttpResponse, status: number, code: string) {
  expect(response.status, JSON.stringify(response.body).slice(0, 500)).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
}

function expectRawProblem(
  answer: { status: number; headers: Record<string, string>; body: string },
  status: number,
  code: string,
) {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(answer.body)).toMatchObject({ status, code });
}

const hostHeader = () => `Host: ${new URL(api.baseUrl).host}\r\n`;

describe('an Idempotency-Key identifies one request', () => {
  it('refuses a start key reused on an event, and an event key reused with another body or type', async () => {
    const order = anOrder();
    expect(
      (await start({ input: order }, { 'idempotency-key': `${order.orderId}-k` })).status,
    ).toBe(201);
    // The probe's reproducer: the start's key on an event was answered 200, replayed, and dropped.
    expectProblem(
      await send(
        order.orderId,
        { type: 'PaymentReceived', payload: { paymentId: 'p-1', amountCents: 4999 } },
        { 'idempotency-key': `${order.orderId}-k` },
      ),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect((await historyOf(order.orderId))!.map((e) => e.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
    ]);

    const pay = { type: 'PaymentReceived', payload: { paymentId: 'p-1', amountCents: 4999 } };
    const first = await send(order.orderId, pay, { 'idempotency-key': 'pay-1' });
    expect(first.status).toBe(200);
    // The same request again is a replay of the first answer.
    const again = await send(
      order.orderId,
      { payload: { amountCents: 4999, paymentId: 'p-1' }, type: 'PaymentReceived' },
      { 'idempotency-key': 'pay-1' },
    );
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    // Another body, or another type, under the same key is another request: refused.
    const reused = await send(
      order.orderId,
      { type: 'PaymentReceived', payload: { paymentId: 'p-2', amountCents: 1 } },
      { 'idempotency-key': 'pay-1' },
    );
    expectProblem(reused, 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(reused.body['idempotencyKey']).toBe('pay-1');
    expectProblem(
      await send(
        order.orderId,
        { type: 'GoodsFetched', payload: { warehouseId: 'wh-1' } },
        { 'idempotency-key': 'pay-1' },
      ),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect((await historyOf(order.orderId))!.map((e) => e.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'PaymentReceived',
      'TimerCancelled',
    ]);
  });
});

describe('the body: depth, Unicode, size', () => {
  it('refuses 4,000 levels of nesting (an 8 KB body) with 400, not a stack overflow', async () => {
    const order = anOrder();
    const deep = `${'['.repeat(4000)}${']'.repeat(4000)}`;
    const response = await start(
      `{"input":${JSON.stringify(order).replace('"customer-7"', deep)}}`,
    );
    expectProblem(response, 400, 'MALFORMED_REQUEST');
    expect(String(response.body['detail'])).toMatch(/nest/);
    expect((await http.get(`${WORKFLOW}/${order.orderId}`)).status).toBe(404);
  });

  it('refuses a lone surrogate, naming the field; a valid pair is stored exactly as acknowledged', async () => {
    const broken = anOrder();
    const response = await start(
      `{"input":${JSON.stringify(broken).replace('"customer-7"', '"a\\ud800b"')}}`,
    );
    expectProblem(response, 400, 'MALFORMED_REQUEST');
    expect(response.body['errors']).toEqual([
      { path: 'input.customerId', message: expect.stringMatching(/not valid Unicode/) },
    ]);
    expect((await http.get(`${WORKFLOW}/${broken.orderId}`)).status).toBe(404);

    const fine = { ...anOrder(), customerId: 'a\u{1F600}b\u00e9' };
    expect((await start({ input: fine })).status).toBe(201);
    const read = await http.get<{ context: { customerId: string } }>(`${WORKFLOW}/${fine.orderId}`);
    expect(read.body.context.customerId).toBe(fine.customerId);
    expect((await historyOf(fine.orderId))![0]!.data['customerId']).toBe(fine.customerId);
  });

  it('refuses an event over the per-event limit and an instance over the per-instance limit (413), writing nothing', async () => {
    const huge = { ...anOrder(), customerId: 'x'.repeat(70 * 1024) };
    const tooBig = await start({ input: huge });
    expectProblem(tooBig, 413, 'PAYLOAD_TOO_LARGE');
    expect(tooBig.body).toMatchObject({ eventType: 'OrderPlaced', limitBytes: 64 * 1024 });
    expect((await http.get(`${WORKFLOW}/${huge.orderId}`)).status).toBe(404);

    // 50 KB per event: the third pushes the stream past 160 KB.
    const order = { ...anOrder(), customerId: 'c'.repeat(50 * 1024) };
    expect((await start({ input: order })).status).toBe(201);
    const pay = { paymentId: 'p'.repeat(50 * 1024), amountCents: 4999 };
    expect((await send(order.orderId, { type: 'PaymentReceived', payload: pay })).status).toBe(200);
    const third = await send(order.orderId, {
      type: 'GoodsFetched',
      payload: { warehouseId: 'w'.repeat(60 * 1024) },
    });
    expectProblem(third, 413, 'INSTANCE_TOO_LARGE');
    expect(third.body['limitBytes']).toBe(160 * 1024);
    expect((await historyOf(order.orderId))!.map((e) => e.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'PaymentReceived',
      'TimerCancelled',
    ]);
  });

  it('bounds the instance cache by bytes: 120 starts of 40 KB each keep at most 1 MB cached', async () => {
    const metric = async (name: string) => {
      const text = (await http.get<string>('/metrics')).body;
      return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
    };
    for (let i = 0; i < 120; i++) {
      const order = { ...anOrder(), customerId: `${i}`.padEnd(40 * 1024, 'm') };
      expect((await start({ input: order })).status).toBe(201);
    }
    const bytes = await metric('esflow_instance_cache_bytes');
    const instances = await metric('esflow_instance_cache_instances');
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(instances).toBeLessThan(120);
  });

  it('answers errors without echoing large input back', async () => {
    const order = anOrder();
    expect((await start({ input: order })).status).toBe(201);
    const unknown = await send(order.orderId, { type: 'X'.repeat(100_000), payload: {} });
    expectProblem(unknown, 400, 'UNKNOWN_EVENT_TYPE');
    expect(JSON.stringify(unknown.body).length).toBeLessThan(4_000);

    const invalid = await start({
      input: { ...anOrder(), amountCents: 'y'.repeat(100_000), extra: 'z'.repeat(100_000) },
    });
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.body).length).toBeLessThan(4_000);
  });

  it('refuses a declared Content-Length over the limit before reading the body', async () => {
    // Only the headers are sent: the answer must come without the 50 MB.
    const answer = await rawExchange(
      api.baseUrl,
      `POST ${WORKFLOW} HTTP/1.1\r\n${hostHeader()}Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n`,
    );
    expectRawProblem(answer, 413, 'PAYLOAD_TOO_LARGE');
    expect(answer.closed).toBe(true);
  });
});

describe('the envelope is checked consistently', () => {
  it('input and payload must be JSON objects: missing, null and arrays are MALFORMED_REQUEST', async () => {
    for (const input of [undefined, null, [], 'text', 7]) {
      const response = await start(input === undefined ? {} : { input });
      expectProblem(response, 400, 'MALFORMED_REQUEST');
      expect(response.body['errors']).toEqual([{ path: 'input', message: expect.any(String) }]);
    }
    const order = anOrder();
    expect((await start({ input: order })).status).toBe(201);
    for (const payload of [undefined, null, [1]]) {
      const response = await send(order.orderId, { type: 'PaymentReceived', payload });
      expectProblem(response, 400, 'MALFORMED_REQUEST');
    }
    expect((await historyOf(order.orderId))!.map((e) => e.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
    ]);
  });

  it('limit is decimal digits only', async () => {
    for (const limit of ['0x10', '1e1', ' 5', '5.0', '-1', '0', '1001'])
      expectProblem(
        await http.get(`/workflows?limit=${encodeURIComponent(limit)}`),
        400,
        'MALFORMED_REQUEST',
      );
    expect((await http.get('/workflows?limit=10')).status).toBe(200);
  });

  it('routes match case-sensitively', async () => {
    expectProblem(await http.get('/HEALTH'), 404, 'NOT_FOUND');
    const order = anOrder();
    expectProblem(
      await http.post('/Workflows/orderFulfillment', { input: order }),
      404,
      'NOT_FOUND',
    );
    expectProblem(
      await http.post('/workflows/OrderFulfillment', { input: order }),
      404,
      'WORKFLOW_NOT_FOUND',
    );
    expect((await http.get(`${WORKFLOW}/${order.orderId}`)).status).toBe(404);
  });

  it('a wrong method is 405 with Allow', async () => {
    const put = await http.request('PUT', WORKFLOW, { input: anOrder() });
    expectProblem(put, 405, 'METHOD_NOT_ALLOWED');
    expect(put.headers.get('allow')).toBe('POST');
    const deleteHealth = await http.request('DELETE', '/health');
    expectProblem(deleteHealth, 405, 'METHOD_NOT_ALLOWED');
    expect(deleteHealth.headers.get('allow')).toBe('GET, HEAD');
  });

  it('a body that is not JSON is 415 (text/plain, forms, a charset we do not read), with nothing written', async () => {
    const order = anOrder();
    for (const contentType of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ])
      expectProblem(
        await start(JSON.stringify({ input: order }), { 'content-type': contentType }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    expectProblem(
      await start(JSON.stringify({ input: order }), {
        'content-type': 'application/json; charset=latin1',
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expect((await http.get(`${WORKFLOW}/${order.orderId}`)).status).toBe(404);
  });

  it('a safe method is never parsed: GET with a malformed JSON body is answered as without one', async () => {
    const body = '{"not json';
    for (const path of ['/health', '/workflows?limit=1', `${WORKFLOW}/nope-404`]) {
      const answer = await rawExchange(
        api.baseUrl,
        `GET ${path} HTTP/1.1\r\n${hostHeader()}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(answer.status, `${path}: ${answer.body}`).toBe(path.endsWith('nope-404') ? 404 : 200);
    }
  });
});

describe('malformed HTTP is answered as problem details', () => {
  it('a bad request line', async () => {
    const answer = await rawExchange(api.baseUrl, 'GARBAGE\r\n\r\n');
    expectRawProblem(answer, 400, 'MALFORMED_REQUEST');
    expect(answer.closed).toBe(true);
  });

  it('both Content-Length and Transfer-Encoding', async () => {
    const answer = await rawExchange(
      api.baseUrl,
      `POST ${WORKFLOW} HTTP/1.1\r\n${hostHeader()}Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    );
    expectRawProblem(answer, 400, 'MALFORMED_REQUEST');
  });

  it('a 20 KB header', async () => {
    const answer = await rawExchange(
      api.baseUrl,
      `GET /health HTTP/1.1\r\n${hostHeader()}X-Big: ${'b'.repeat(20 * 1024)}\r\n\r\n`,
    );
    expectRawProblem(answer, 431, 'HEADERS_TOO_LARGE');
  });

  it('an unfinished header block is closed after the 10 s header timeout, not left open for minutes', async () => {
    const answer = await rawExchange(
      api.baseUrl,
      `GET /health HTTP/1.1\r\n${hostHeader()}X-Slow: 1\r\n`,
      20_000,
    );
    expectRawProblem(answer, 408, 'MALFORMED_REQUEST');
    expect(answer.closed).toBe(true);
  }, 25_000);
});

describe('cross-site and rebinding requests cannot drive the api', () => {
  it('refuses a request addressed to a host name that is not local (DNS rebinding)', async () => {
    const answer = await rawExchange(
      api.baseUrl,
      'GET /health HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n',
    );
    expectRawProblem(answer, 400, 'HOST_NOT_ALLOWED');
    const local = await rawExchange(
      api.baseUrl,
      `GET /health HTTP/1.1\r\nHost: localhost:${new URL(api.baseUrl).port}\r\nConnection: close\r\n\r\n`,
    );
    expect(local.status).toBe(200);
  });

  it('grants no other origin: a preflight and a cross-origin request get no CORS headers', async () => {
    const preflight = await http.request('OPTIONS', WORKFLOW, undefined, {
      origin: 'https://attacker.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const read = await http.get('/health', { origin: 'https://attacker.example' });
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('listens on loopback only by default', async () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === 'IPv4' && !address.internal);
    if (!external) {
      console.log(
        '[http-edge] no non-loopback IPv4 interface on this machine: binding checked by the log line only',
      );
      expect(api.output()).toMatch(/listening on http:\/\/127\.0\.0\.1:/);
      return;
    }
    const refused = await new Promise<string>((resolve) => {
      const socket = connect({ host: external.address, port: Number(new URL(api.baseUrl).port) });
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('operator actions need a JSON content type: a text/plain rebuild (a cross-site fetch) is 415 and requests nothing', async () => {
    for (const action of ['rebuild', 'retry', 'skip']) {
      expectProblem(
        await http.request('POST', `/projections/instances/${action}`, 'x', {
          'content-type': 'text/plain',
        }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      // A bodiless POST that does not say it is JSON, likewise.
      const bare = await rawExchange(
        api.baseUrl,
        `POST /projections/instances/${action} HTTP/1.1\r\n${hostHeader()}Content-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      expectRawProblem(bare, 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    expect(await readModel.pendingRequests('instances')).toEqual([]);
  });

  it('a rebuild asked for again moments after the last one finished is 429 with Retry-After', async () => {
    projector = await startApp('projector', { dataDir: api.dataDir });
    const generation = async () =>
      (
        await http.get<{ projections: { name: string; generation: number; rebuild?: unknown }[] }>(
          '/projections',
        )
      ).body.projections.find((p) => p.name === 'instances');
    await waitFor(async () => (await generation())?.generation === 1, { what: 'instances live' });
    expect((await http.post('/projections/instances/rebuild', undefined)).status).toBe(202);
    await waitFor(
      async () => {
        const now = await generation();
        return now?.generation === 2 && !now.rebuild;
      },
      { what: 'the rebuild to swap', timeoutMs: 30_000 },
    );
    const again = await http.post('/projections/instances/rebuild', undefined);
    expectProblem(again, 429, 'REBUILD_TOO_SOON');
    const retryAfter = Number(again.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(again.body['retryAfterSeconds']).toBe(retryAfter);
    expect(await readModel.pendingRequests('instances')).toEqual([]);
  }, 60_000);
});
