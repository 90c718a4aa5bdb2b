import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createMemoryEventStore,
  EventStore,
  ExpectedRevision,
  ProjectionDefinition,
  readEsflowMetadata,
  RecordedEvent,
} from '@esflow/core';
import { loadEsflowEnvironment } from '@esflow/env-config';
import { toOutgoingRecord } from '@esflow/kafka';
import { EsflowSpan, EsflowTracer } from '@esflow/nest';
import { createSqliteEventStore } from '@esflow/sqlite';
import { anOrder, createTestEngine } from '../support/engine-fixture';

// The trace context is an opaque value the caller gives the engine: recorded on every event of
// the append (and never without one), kept by the stores (SQLite's compact metadata included),
// and continued by esflow's spans only where a context exists.

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function sqliteStore(): EventStore {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-trace-'));
  dirs.push(dir);
  return createSqliteEventStore({ filename: join(dir, 'esflow.sqlite') });
}

function tracerWithExporter() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { exporter, tracer: EsflowTracer.of(provider) };
}

describe('the trace context in event metadata', () => {
  for (const [name, makeStore] of [
    ['memory', () => createMemoryEventStore()],
    ['SQLite (compact metadata)', sqliteStore],
  ] as const)
    it(`is recorded on every event of the append, as given, and read back (${name})`, async () => {
      const store = makeStore();
      const { engine } = await createTestEngine({ store });
      const traceContext = { traceparent: TRACEPARENT, tracestate: 'vendor=x' };
      await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder('o-t1') });
      const sent = await engine.sendEvent.handle({
        workflow: 'orderFulfillment',
        id: 'o-t1',
        type: 'PaymentReceived',
        payload: { paymentId: 'p', amountCents: 4999 },
        traceContext,
      });
      expect(sent.ok).toBe(true);
      const events = await store.readStream('orderFulfillment-o-t1');
      const at = events.findIndex((e) => e.type === 'PaymentReceived');
      const startEvents = events.slice(0, at);
      const sendEvents = events.slice(at);
      // The start had no context: its events record none (no key at all).
      expect(startEvents.map((e) => e.type)).toEqual(['OrderPlaced', 'TimerScheduled']);
      for (const event of startEvents)
        expect(Object.hasOwn(event.metadata, 'traceContext')).toBe(false);
      expect(sendEvents.map((e) => e.type)).toEqual(['PaymentReceived', 'TimerCancelled']);
      for (const event of sendEvents)
        expect(readEsflowMetadata(event.metadata).traceContext).toEqual(traceContext);
      await store.close();
    });
});

describe('EsflowTracer', () => {
  const recorded = (metadata: Record<string, unknown>): RecordedEvent => ({
    eventId: '6f1d2c7e-5f38-4b8e-9b38-5f4a0a3c2b11',
    type: 'PaymentReceived',
    data: new Uint8Array(),
    metadata,
    streamName: 'orderFulfillment-o1',
    revision: 2,
    position: { commit: 1n, prepare: 1n },
    recordedAt: new Date(0),
  });

  it('spans an append with a recorded context as its child, and leaves others alone', async () => {
    const { exporter, tracer } = tracerWithExporter();
    const store = tracer.traceEventStore(createMemoryEventStore());
    const event = (id: string, metadata: Record<string, unknown>) => ({
      eventId: id,
      type: 'PaymentReceived',
      data: new Uint8Array([1]),
      metadata,
    });
    await store.append('orderFulfillment-a', [event('a1', {})], {
      expectedRevision: ExpectedRevision.NoStream,
    });
    expect(exporter.getFinishedSpans()).toEqual([]);
    await store.append(
      'orderFulfillment-a',
      [event('a2', { traceContext: { traceparent: TRACEPARENT } })],
      { expectedRevision: 0 },
    );
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe(EsflowSpan.StoreAppend);
    expect(span?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span?.attributes['esflow.stream']).toBe('orderFulfillment-a');
    // Every other call reaches the store itself.
    expect((await store.readStream('orderFulfillment-a')).length).toBe(2);
    // A failed append is a failed span.
    await expect(
      store.append(
        'orderFulfillment-a',
        [event('a3', { traceContext: { traceparent: TRACEPARENT } })],
        { expectedRevision: 0 },
      ),
    ).rejects.toThrow();
    expect(exporter.getFinishedSpans()[1]?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('applies an event in a consumer span only when it recorded a context', async () => {
    const { exporter, tracer } = tracerWithExporter();
    const applied: string[] = [];
    const definition: ProjectionDefinition = {
      name: 'things',
      version: 1,
      collections: { things: { indexes: [] } },
      handle: async (event) => void applied.push(event.recorded.eventId),
    };
    const traced = tracer.traceProjection(definition);
    expect(traced.name).toBe('things');
    const plain = recorded({});
    await traced.handle(
      { recorded: plain, metadata: readEsflowMetadata({}), payload: async () => ({}) },
      {} as never,
    );
    expect(exporter.getFinishedSpans()).toEqual([]);
    const withContext = recorded({ traceContext: { traceparent: TRACEPARENT } });
    await traced.handle(
      {
        recorded: withContext,
        metadata: readEsflowMetadata(withContext.metadata),
        payload: async () => ({}),
      },
      {} as never,
    );
    expect(applied).toHaveLength(2);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe(EsflowSpan.ProjectionApply);
    expect(span?.kind).toBe(SpanKind.CONSUMER);
    expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span?.attributes['esflow.projection']).toBe('things');
  });

  it("publishes in producer spans whose context the records' headers carry", () => {
    const { exporter, tracer } = tracerWithExporter();
    const bridge = tracer.bridgeTracing();
    expect(bridge.publishing([recorded({})], () => 't')).toBeUndefined();
    const event = recorded({ traceContext: { traceparent: TRACEPARENT } });
    const trace = bridge.publishing([event, recorded({})], () => 'esflow.orderFulfillment')!;
    const context = trace.contextOf(event)!;
    expect(context.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(context.traceparent).not.toBe(TRACEPARENT);
    // Without a tracer the record still carries the recorded context; without one, none.
    const headersOf = (e: RecordedEvent) => toOutgoingRecord(e, 'esflow.{workflow}').headers;
    expect(headersOf(event)['traceparent']).toBe(TRACEPARENT);
    expect(headersOf(recorded({}))['traceparent']).toBeUndefined();
    trace.end(new Error('broker gone'));
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe(EsflowSpan.BridgePublish);
    expect(span?.kind).toBe(SpanKind.PRODUCER);
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['messaging.destination.name']).toBe('esflow.orderFulfillment');
  });
});

describe('ESFLOW_TRACING', () => {
  it('is off unless set to on, and names a bad value', () => {
    expect(loadEsflowEnvironment({}).tracing).toBeUndefined();
    expect(loadEsflowEnvironment({ ESFLOW_TRACING: 'off' }).tracing).toBeUndefined();
    expect(loadEsflowEnvironment({ ESFLOW_TRACING: 'on' }).tracing).toEqual({ exporter: 'otlp' });
    expect(
      loadEsflowEnvironment({ ESFLOW_TRACING: 'on', ESFLOW_TRACING_EXPORTER: 'console' }).tracing,
    ).toEqual({ exporter: 'console' });
    expect(() => loadEsflowEnvironment({ ESFLOW_TRACING: 'yes' })).toThrow(
      /ESFLOW_TRACING must be on or off/,
    );
  });
});
