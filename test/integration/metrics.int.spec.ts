import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESFLOW_METRICS, EsflowMetrics, UNMATCHED_ROUTE } from '@esflow/nest';
import { anOrder } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';
import { parsePrometheus, PrometheusSample, sampleSum } from '../support/prometheus';
import { waitFor } from '../support/wait-for';

// The bundled api and projector on one SQLite data dir (no Kafka: the bridge's metrics are
// checked by tracing.int.spec.ts, which runs a broker). Requests of every outcome go through
// the api; both processes' /metrics must count them by bounded labels only.

let dataDir: string;
let api: INestApplication;
let projector: INestApplicationContext;
let baseUrl: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'esflow-metrics-'));
  Object.assign(process.env, { ESFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  delete process.env['KAFKA_BROKERS'];
  const { createApiApp } = await import('../../apps/api/src/main');
  const { ProjectorModule } = await import('../../apps/projector/src/projector.module');
  api = await createApiApp();
  await api.listen(0, '127.0.0.1');
  baseUrl = `http://127.0.0.1:${(api.getHttpServer().address() as { port: number }).port}`;
  projector = await NestFactory.createApplicationContext(ProjectorModule, {
    logger: false,
    abortOnError: false,
  });
  await projector.init();
});

afterAll(async () => {
  await projector?.close();
  await api?.close();
  process.env = savedEnv;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const paid = { type: 'PaymentReceived', payload: { paymentId: 'p1', amountCents: 4999 } };

async function apiMetrics(): Promise<PrometheusSample[]> {
  const response = await fetch(`${baseUrl}/metrics`);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePrometheus(await response.text());
}

describe('metrics of the api and the projector', () => {
  const ids = ['metrics-o1', 'metrics-o2'];

  beforeAll(async () => {
    const http = httpClient(baseUrl);
    for (const id of ids)
      expect((await http.post('/workflows/orderFulfillment', { input: anOrder(id) })).status).toBe(
        201,
      );
    const events = `/workflows/orderFulfillment/${ids[0]}/events`;
    expect((await http.post(events, paid, { 'idempotency-key': 'pay-1' })).status).toBe(200);
    expect((await http.post(events, paid, { 'idempotency-key': 'pay-1' })).status).toBe(200);
    expect((await http.post(events, paid)).status).toBe(422); // EVENT_NOT_ACCEPTED
    expect((await http.post(events, { ...paid, payload: {} })).status).toBe(400);
    expect(
      (await http.post(`/workflows/orderFulfillment/${ids[1]}/events`, paid, { 'if-match': '"0"' }))
        .status,
    ).toBe(409); // stale If-Match
    expect((await http.get(`/no-such-route/${ids[0]}`)).status).toBe(404);
  });

  it('counts transitions by workflow, event type and outcome, rejections by code', async () => {
    const samples = await apiMetrics();
    const transitions = (labels: Record<string, string>) =>
      sampleSum(samples, 'esflow_transitions_total', { workflow: 'orderFulfillment', ...labels });
    expect(transitions({ event_type: 'OrderPlaced', outcome: 'recorded' })).toBe(2);
    expect(transitions({ event_type: 'PaymentReceived', outcome: 'recorded' })).toBe(1);
    expect(transitions({ event_type: 'PaymentReceived', outcome: 'replayed' })).toBe(1);
    expect(
      transitions({
        event_type: 'PaymentReceived',
        outcome: 'rejected',
        code: 'EVENT_NOT_ACCEPTED',
      }),
    ).toBe(1);
    expect(
      transitions({
        event_type: 'PaymentReceived',
        outcome: 'rejected',
        code: 'SCHEMA_VALIDATION_FAILED',
      }),
    ).toBe(1);
    expect(
      sampleSum(samples, 'esflow_revision_conflicts_total', {
        workflow: 'orderFulfillment',
        resolution: 'returned',
      }),
    ).toBe(1);
  });

  it('times requests by route template and status class, never by path', async () => {
    const samples = await apiMetrics();
    const count = (labels: Record<string, string>) =>
      sampleSum(samples, 'esflow_http_request_duration_seconds_count', labels);
    expect(count({ method: 'POST', route: '/workflows/:workflow', status_class: '2xx' })).toBe(2);
    expect(
      count({ method: 'POST', route: '/workflows/:workflow/:id/events', status_class: '2xx' }),
    ).toBe(2);
    expect(
      count({ method: 'POST', route: '/workflows/:workflow/:id/events', status_class: '4xx' }),
    ).toBe(3);
    expect(count({ method: 'GET', route: UNMATCHED_ROUTE, status_class: '4xx' })).toBe(1);
  });

  it("times the engine's appends and the store's group commits, and counts the cache", async () => {
    const samples = await apiMetrics();
    // Two starts and one payment were appended.
    expect(
      sampleSum(samples, 'esflow_store_append_duration_seconds_count', {
        workflow: 'orderFulfillment',
      }),
    ).toBe(3);
    const commits = sampleSum(samples, 'esflow_store_commit_duration_seconds_count');
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(sampleSum(samples, 'esflow_store_commit_batch_appends_count')).toBe(commits);
    // Every append the api made went through a group commit (the projector appends none here).
    expect(sampleSum(samples, 'esflow_store_commit_batch_appends_sum')).toBeGreaterThanOrEqual(3);
    expect(sampleSum(samples, 'esflow_store_commits_total')).toBeGreaterThanOrEqual(commits);
    expect(sampleSum(samples, 'esflow_instance_cache_hits_total')).toBeGreaterThan(0);
    expect(sampleSum(samples, 'esflow_instance_cache_instances')).toBe(2);
  });

  it("reports each projection's lag and the events it applied, on both processes", async () => {
    const projectorRegistry = projector.get<EsflowMetrics>(ESFLOW_METRICS).registry;
    const applied = await waitFor(
      async () => {
        const samples = parsePrometheus(await projectorRegistry.metrics());
        const instances = sampleSum(samples, 'esflow_projection_events_applied', {
          projection: 'instances',
        });
        return instances > 0 &&
          sampleSum(samples, 'esflow_projection_lag_events', { projection: 'instances' }) === 0
          ? samples
          : undefined;
      },
      { what: 'the instances projection caught up', timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(sampleSum(applied, 'esflow_projection_failing', { projection: 'instances' })).toBe(0);
    // The api measures the same read model against the same log.
    const fromApi = await apiMetrics();
    expect(
      sampleSum(fromApi, 'esflow_projection_events_applied', { projection: 'instances' }),
    ).toBe(sampleSum(applied, 'esflow_projection_events_applied', { projection: 'instances' }));
    // The projector's own work is on its registry too: its timer service indexed the timers.
    expect(sampleSum(applied, 'esflow_timers_indexed_total', { change: 'scheduled' })).toBe(2);
  });

  it('never puts an instance id, a key or a path in a label', async () => {
    const samples = [
      ...(await apiMetrics()),
      ...parsePrometheus(await projector.get<EsflowMetrics>(ESFLOW_METRICS).registry.metrics()),
    ];
    const values = samples.flatMap((sample) => Object.values(sample.labels));
    expect(values.length).toBeGreaterThan(50);
    for (const leaked of [...ids, 'pay-1', 'no-such-route', 'p1'])
      expect(values.filter((value) => value.includes(leaked))).toEqual([]);
  });
});
