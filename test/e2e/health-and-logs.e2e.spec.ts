import { afterAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort, startApp } from '../support/app-process';
import { anOrder } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';
import { waitFor } from '../support/wait-for';

// The built api and projector: their liveness and readiness probes, and the api's access log
// lines with tracing on and off (correlation id, trace and span ids, never a payload).

const apps: AppProcess[] = [];
afterAll(async () => {
  await Promise.all(apps.map((app) => app.dispose()));
});

async function start(app: 'api' | 'projector', env: Record<string, string> = {}, dataDir?: string) {
  const started = await startApp(app, { env, ...(dataDir ? { dataDir } : {}) });
  apps.push(started);
  return started;
}

type Check = { status: string; message?: string; state?: string };
type Health = {
  status: string;
  info?: Record<string, Check>;
  error?: Record<string, Check>;
  details: Record<string, Check>;
};

/** The JSON log lines of `app` whose message is `msg`. */
function logLines(app: AppProcess, msg: string): Record<string, unknown>[] {
  return app
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line['msg'] === msg);
}

/** Starts an order and pays for it with a correlation id; the payment's access log line. */
async function payForAnOrder(api: AppProcess, id: string) {
  const http = httpClient(api.baseUrl);
  expect((await http.post('/workflows/orderFulfillment', { input: anOrder(id) })).status).toBe(201);
  const paid = await http.post(
    `/workflows/orderFulfillment/${id}/events`,
    { type: 'PaymentReceived', payload: { paymentId: 'secret-payment-77', amountCents: 4999 } },
    { 'x-correlation-id': `corr-${id}` },
  );
  expect(paid.status).toBe(200);
  const line = await waitFor(
    () =>
      logLines(api, 'request completed').find(
        (entry) => entry['path'] === `/workflows/orderFulfillment/${id}/events`,
      ),
    { what: 'the access log line of the payment' },
  );
  const history = await http.get<{
    events: { type: string; metadata: Record<string, unknown> }[];
  }>(`/workflows/orderFulfillment/${id}/history`);
  const payment = history.body.events.find((event) => event.type === 'PaymentReceived')!;
  return { line, metadata: payment.metadata };
}

describe('health probes', () => {
  it('the api: live checks nothing, ready checks the store, the registry and the read model', async () => {
    const api = await start('api');
    const http = httpClient(api.baseUrl);
    const live = await http.get<Health>('/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'ok' });
    const ready = await http.get<Health>('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(Object.keys(ready.body.details).sort()).toEqual([
      'eventStore',
      'lifecycle',
      'readModel',
      'schemaRegistry',
    ]);
    for (const check of Object.values(ready.body.details)) expect(check.status).toBe('up');
    // The old probe answers as before.
    expect((await http.get<Health>('/health')).body.status).toBe('ok');
    // Probes are not logged.
    expect(api.output()).not.toContain('/health/ready');
  });

  it('the projector: not ready (503) while its Kafka bridge cannot reach Kafka, live all the same', async () => {
    const closed = await freePort();
    const projector = await start('projector', {
      KAFKA_BROKERS: `127.0.0.1:${closed}`,
      KAFKA_CLIENT_ID: 'health-e2e',
      KAFKA_TRANSACTIONAL_ID: 'health-e2e-tx',
    });
    const http = httpClient(projector.baseUrl);
    expect((await http.get<Health>('/health/live')).status).toBe(200);
    const ready = await waitFor(
      async () => {
        const answer = await http.get<Health>('/health/ready');
        return answer.status === 503 && answer;
      },
      { what: 'the projector to be not ready', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(ready.body.status).toBe('error');
    expect(ready.body.error?.['kafkaBridge']?.status).toBe('down');
    expect(ready.body.error?.['kafkaBridge']?.state).toBe('retrying');
    expect(ready.body.info?.['eventStore']?.status).toBe('up');
    expect(ready.body.info?.['readModel']?.status).toBe('up');
  });

  it('the projector without Kafka is ready with its store, registry and read model', async () => {
    const projector = await start('projector');
    const ready = await httpClient(projector.baseUrl).get<Health>('/health/ready');
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.details).sort()).toEqual([
      'eventStore',
      'lifecycle',
      'readModel',
      'schemaRegistry',
    ]);
  });
});

describe('access log lines', () => {
  it('carry the correlation id and, with tracing on, the trace and span ids the events record', async () => {
    const closed = await freePort();
    const api = await start('api', {
      LOG_LEVEL: 'info',
      ESFLOW_TRACING: 'on',
      // Nothing listens there: exports fail quietly, the api is unaffected.
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`,
    });
    const { line, metadata } = await payForAnOrder(api, 'order-logs-1');
    expect(line['correlationId']).toBe('corr-order-logs-1');
    expect(line['trace_id']).toMatch(/^[0-9a-f]{32}$/);
    expect(line['span_id']).toMatch(/^[0-9a-f]{16}$/);
    // The line names the request span the events of the append recorded.
    expect((metadata['traceContext'] as { traceparent: string }).traceparent).toBe(
      `00-${String(line['trace_id'])}-${String(line['span_id'])}-01`,
    );
    // No payload, nor any part of it.
    for (const field of ['payload', 'body', 'input', 'data'])
      expect(line).not.toHaveProperty(field);
    expect(api.output()).not.toContain('secret-payment-77');
  });

  it('with tracing off carry no trace ids, and the events record no trace context', async () => {
    const api = await start('api', { LOG_LEVEL: 'info' });
    const { line, metadata } = await payForAnOrder(api, 'order-logs-2');
    expect(line['correlationId']).toBe('corr-order-logs-2');
    expect(line).not.toHaveProperty('trace_id');
    expect(line).not.toHaveProperty('span_id');
    expect(metadata).not.toHaveProperty('traceContext');
    expect(api.output()).not.toContain('secret-payment-77');
  });
});
