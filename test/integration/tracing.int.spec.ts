import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, SpanKind, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EsflowHeader, TraceHeader } from '@esflow/kafka';
import { readTopicsToEnd } from '@esflow/kafka/testing';
import { ESFLOW_METRICS, EsflowMetrics, EsflowSpan } from '@esflow/nest';
import { anOrder } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';
import { parsePrometheus, sampleSum } from '../support/prometheus';
import { KafkaBroker, startKafkaBroker } from '../support/infra/kafka-broker.mjs';
import { uniqueCategory } from '../support/unique';
import { waitFor } from '../support/wait-for';

// One process, one trace: the bundled api app and projector (its projections and Kafka bridge)
// on one SQLite data dir, with tracing on (ESFLOW_TRACING=on) and an in-memory exporter, against
// a real Kafka broker. A REST send's trace must hold the request's server span, the engine's
// append, the projections' applies and the bridge's publish, each a child of the request's span,
// and the published record's traceparent must name the publish span.

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let broker: KafkaBroker;
let dataDir: string;
let api: INestApplication;
let projector: INestApplicationContext;
let baseUrl: string;
const name = uniqueCategory('trace');
const topic = `${name}.orderFulfillment`;
const savedEnv = { ...process.env };

beforeAll(async () => {
  provider.register();
  broker = await startKafkaBroker();
  dataDir = mkdtempSync(join(tmpdir(), 'esflow-tracing-'));
  Object.assign(process.env, {
    ESFLOW_DATA_DIR: dataDir,
    ESFLOW_TRACING: 'on',
    LOG_LEVEL: 'silent',
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_TOPIC_TEMPLATE: `${name}.{workflow}`,
    KAFKA_TOPIC_PARTITIONS: '1',
    KAFKA_CLIENT_ID: name,
    KAFKA_TRANSACTIONAL_ID: `${name}-tx`,
  });
  // The hosts' config modules read the environment when their modules are declared: import them
  // only now that it is set.
  const { createApiApp } = await import('../../apps/api/src/main');
  const { ProjectorModule } = await import('../../apps/projector/src/projector.module');
  api = await createApiApp();
  await api.listen(0, '127.0.0.1');
  const address = api.getHttpServer().address() as { port: number };
  baseUrl = `http://127.0.0.1:${address.port}`;
  projector = await NestFactory.createApplicationContext(ProjectorModule, {
    logger: false,
    abortOnError: false,
  });
  await projector.init();
});

afterAll(async () => {
  await projector?.close();
  await api?.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
  process.env = savedEnv;
  await broker?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const spansOf = (traceId: string) =>
  exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('tracing across api, store, projector and Kafka bridge', () => {
  it('follows one request from REST through the append to the projections and the topic', async () => {
    const http = httpClient(baseUrl);
    const id = `${name}-o1`;
    expect((await http.post('/workflows/orderFulfillment', { input: anOrder(id) })).status).toBe(
      201,
    );
    exporter.reset();
    const sent = await http.post(
      `/workflows/orderFulfillment/${id}/events`,
      { type: 'PaymentReceived', payload: { paymentId: 'p1', amountCents: 4999 } },
      { 'x-correlation-id': 'corr-trace-1' },
    );
    expect(sent.status).toBe(200);

    const server = await waitFor(
      () =>
        exporter
          .getFinishedSpans()
          .find(
            (span) =>
              span.kind === SpanKind.SERVER && span.name === 'POST /workflows/:workflow/:id/events',
          ),
      { what: 'the request span' },
    );
    const traceId = server.spanContext().traceId;
    const serverId = server.spanContext().spanId;
    expect(server.attributes['http.response.status_code']).toBe(200);
    expect(server.attributes['esflow.correlation_id']).toBe('corr-trace-1');
    expect(server.parentSpanContext).toBeUndefined();

    // The engine's append, a child of the request's span, in the api.
    const append = spansOf(traceId).find((span) => span.name === EsflowSpan.StoreAppend);
    expect(append, 'append span').toBeDefined();
    expect(parentOf(append!)).toBe(serverId);
    expect(append!.attributes['esflow.stream']).toBe(`orderFulfillment-${id}`);
    expect(append!.attributes['esflow.event_type']).toBe('PaymentReceived');

    // The projector applies the recorded event in spans of the same trace.
    const applies = await waitFor(
      () => {
        const found = spansOf(traceId).filter(
          (span) =>
            span.name === EsflowSpan.ProjectionApply &&
            span.attributes['esflow.event_type'] === 'PaymentReceived' &&
            span.attributes['esflow.projection'] === 'instances',
        );
        return found.length > 0 && found;
      },
      { what: 'the instances projection applying PaymentReceived', timeoutMs: 30_000 },
    );
    for (const apply of applies) {
      expect(parentOf(apply)).toBe(serverId);
      expect(apply.kind).toBe(SpanKind.CONSUMER);
    }

    // The bridge publishes it in a producer span of the same trace...
    const publish = await waitFor(
      () =>
        spansOf(traceId).find(
          (span) =>
            span.name === EsflowSpan.BridgePublish &&
            span.attributes['esflow.event_type'] === 'PaymentReceived',
        ),
      { what: 'the bridge publishing PaymentReceived', timeoutMs: 60_000 },
    );
    expect(parentOf(publish)).toBe(serverId);
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(publish.attributes['messaging.destination.name']).toBe(topic);

    // ...and the record carries that span as its traceparent: a consumer continues the trace.
    // (Polled: the transaction's markers may reach the partition a moment after its commit.)
    const record = await waitFor(
      async () =>
        (await readTopicsToEnd({ brokers: broker.brokers, topics: [topic] })).find(
          (r) =>
            r.headers[EsflowHeader.EventType] === 'PaymentReceived' &&
            r.headers[EsflowHeader.InstanceId] === id,
        ),
      { what: 'the published PaymentReceived record', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(record!.headers[TraceHeader.TraceParent]).toBe(
      `00-${traceId}-${publish.spanContext().spanId}-01`,
    );

    // The events of the append record the request span's context (its facts too).
    const history = await http.get<{
      events: { type: string; metadata: { traceContext?: { traceparent: string } } }[];
    }>(`/workflows/orderFulfillment/${id}/history`);
    const payment = history.body.events.find((event) => event.type === 'PaymentReceived');
    expect(payment?.metadata.traceContext?.traceparent).toBe(`00-${traceId}-${serverId}-01`);
    // No span names or attributes carry the payload.
    for (const span of spansOf(traceId))
      expect(JSON.stringify(span.attributes)).not.toContain('p1');
  });

  it('continues the trace of a caller that sends a traceparent', async () => {
    const http = httpClient(baseUrl);
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const started = await http.post(
      '/workflows/orderFulfillment',
      { input: anOrder(`${name}-o2`) },
      { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` },
    );
    expect(started.status).toBe(201);
    const server = await waitFor(
      () =>
        spansOf(callerTrace).find(
          (span) => span.kind === SpanKind.SERVER && span.name === 'POST /workflows/:workflow',
        ),
      { what: 'the start request span in the caller trace' },
    );
    expect(parentOf(server)).toBe('00f067aa0ba902b7');
    expect(
      spansOf(callerTrace).some(
        (span) =>
          span.name === EsflowSpan.StoreAppend && parentOf(span) === server.spanContext().spanId,
      ),
    ).toBe(true);
  });

  it('records the trace of POST /messages on the events its delivery appends', async () => {
    const http = httpClient(baseUrl);
    const id = `${name}-o3`;
    expect((await http.post('/workflows/orderFulfillment', { input: anOrder(id) })).status).toBe(
      201,
    );
    const callerTrace = '0af7651916cd43dd8448eb211c80319c';
    const sent = await http.post(
      '/messages',
      {
        name: 'PaymentReceived',
        correlationKey: id,
        messageId: `${id}-payment`,
        payload: { paymentId: 'p3', amountCents: 4999 },
      },
      { traceparent: `00-${callerTrace}-b7ad6b7169203331-01` },
    );
    expect([sent.status, sent.body['outcome']]).toEqual([202, 'delivered']);
    const server = await waitFor(
      () =>
        spansOf(callerTrace).find(
          (span) => span.kind === SpanKind.SERVER && span.name === 'POST /messages',
        ),
      { what: 'the POST /messages span in the caller trace' },
    );
    const history = await http.get<{
      events: { type: string; metadata: { traceContext?: { traceparent: string } } }[];
    }>(`/workflows/orderFulfillment/${id}/history`);
    const payment = history.body.events.find((event) => event.type === 'PaymentReceived');
    expect(payment?.metadata.traceContext?.traceparent).toBe(
      `00-${callerTrace}-${server.spanContext().spanId}-01`,
    );
  });

  // The same processes' metrics: the bridge's figures are only there with a broker to publish to.
  it("counts the Kafka bridge's published events and transactions, and its lag", async () => {
    const registry = projector.get<EsflowMetrics>(ESFLOW_METRICS).registry;
    // Every event of this file's instances is published, so the lag falls to 0.
    const samples = await waitFor(
      async () => {
        const parsed = parsePrometheus(await registry.metrics());
        return sampleSum(parsed, 'esflow_kafka_bridge_published_events_total') > 0 &&
          sampleSum(parsed, 'esflow_kafka_bridge_lag_events') === 0
          ? parsed
          : undefined;
      },
      { what: 'the bridge caught up', timeoutMs: 30_000, intervalMs: 200 },
    );
    const transactions = sampleSum(samples, 'esflow_kafka_bridge_transactions_total');
    expect(transactions).toBeGreaterThan(0);
    expect(
      sampleSum(samples, 'esflow_kafka_bridge_transaction_duration_seconds_count', {
        outcome: 'committed',
      }),
    ).toBe(transactions);
    expect(sampleSum(samples, 'esflow_kafka_bridge_state', { state: 'running' })).toBe(1);
    expect(sampleSum(samples, 'esflow_kafka_bridge_state')).toBe(1);
    // The api's debugger UI shows the bridge as the projector reported it to the read model.
    const row = await waitFor(
      async () => {
        const page = await (await fetch(`${baseUrl}/ui/projections`)).text();
        const found = /<tr[^>]*data-kind="kafkaBridge"[^>]*>[\s\S]*?<\/tr>/.exec(page)?.[0];
        // The first report may predate the bridge's first publish (catchingUp).
        return found && /data-testid="processor-state"[^>]*>\s*running\s*</.test(found) && found;
      },
      { what: 'the bridge running on /ui/projections', timeoutMs: 15_000, intervalMs: 250 },
    );
    expect(row).toMatch(/<code>\d+\/\d+<\/code>/); // its position
    expect(row).not.toContain('processor-silent');
  });
});
