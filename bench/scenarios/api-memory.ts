import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventToAppend, ExpectedRevision, realSleep } from '@esflow/core';
import { orderFulfillmentFeature, sampleOrder } from '@esflow/example-order-fulfillment';
import { createEsflowRuntime } from '@esflow/nest';
import { createEmbeddedSchemaRegistry, createSqliteEventStore } from '@esflow/sqlite';
import { canReadResidentMemory, randomPort, residentMiB, startApi, stopApp } from '../api-process';
import { jsonPoster, metricValue } from '../http-load';
import { ORDER_STEPS, orderInput } from '../workloads/orders';

/** What {@link measureApiMemory} measured. */
export interface ApiMemoryResult {
  /** Events in the store when measured (the whole log, the registry's own few included). */
  readonly storedEvents: number;
  /** Instances the api loaded (and so cached), each by one GET. */
  readonly hotInstances: number;
  /** The api's resident memory on an empty store, after start-up and a few requests. */
  readonly baselineMiB: number;
  /** Its resident memory once the hot instances were loaded and it had settled. */
  readonly loadedMiB: number;
  /**
   * Where the loaded figure goes, from the api's own /metrics (prom-client's process metrics):
   * V8's heap in use, memory outside it (Buffers, SQLite's), and the rest of RSS (code, the
   * commit thread's isolate, free heap V8 has not given back).
   */
  readonly loadedHeapUsedMiB: number;
  readonly loadedExternalMiB: number;
  /** `loadedMiB / baselineMiB`. */
  readonly vsBaseline: number;
  /** How long filling the store took. */
  readonly fillSeconds: number;
  /** GETs of hot instances that did not answer 200 (0 when every one loaded). */
  readonly errors: number;
}

/**
 * Fresh event ids in the UUIDv7 layout, in increasing order: `unix_ts_ms` from the start of the
 * fill on, a 12-bit counter in `rand_a`, random bits after. Random (v4) ids land all over the
 * store's event-id index, and SQLite's small page cache then makes a 1 000 000-event fill ~4×
 * slower (≈135 s against ≈33 s on 2 cores); the api never reads by event id, so what it holds in
 * memory is the same either way.
 */
function orderedEventIds(): () => string {
  const start = Date.now();
  let n = 0;
  return () => {
    const ms = (start + Math.floor(n / 4096)).toString(16).padStart(12, '0');
    const counter = (n++ % 4096).toString(16).padStart(3, '0');
    return `${ms.slice(0, 8)}-${ms.slice(8)}-7${counter}-${randomUUID().slice(19)}`;
  };
}

/**
 * Fills `<dataDir>/esflow.sqlite` with about `events` events: one orderFulfillment order run to
 * completion through an engine (whose start-up records the writer schemas and the embedded
 * registry in that same file, so the api can read what follows), then copied as raw appends to
 * fresh instances `mem-<i>` with fresh event ids (see {@link orderedEventIds}), 512 appends in
 * flight so the store's group commit batches them. Returns the copies' ids and the events stored.
 */
async function fillStore(
  dataDir: string,
  events: number,
): Promise<{ ids: string[]; storedEvents: number }> {
  const filename = join(dataDir, 'esflow.sqlite');
  const store = createSqliteEventStore({ filename, synchronous: 'NORMAL' });
  const registry = createEmbeddedSchemaRegistry({ filename });
  try {
    const { engine } = await createEsflowRuntime({
      store,
      registry,
      features: [{ feature: orderFulfillmentFeature, registeredBy: 'bench' }],
    });
    const templateId = 'template';
    const started = await engine.startWorkflow.handle({
      workflow: 'orderFulfillment',
      input: sampleOrder(templateId),
    });
    if (!started.ok) throw new Error('the template order did not start');
    for (const [type, payload] of ORDER_STEPS) {
      const sent = await engine.sendEvent.handle({
        workflow: 'orderFulfillment',
        id: templateId,
        type,
        payload,
      });
      if (!sent.ok) throw new Error(`the template order refused ${type}`);
    }
    const template = await store.readStream(`orderFulfillment-${templateId}`);
    // The template is one of the instances; the copies make up the rest.
    const copies = Math.max(0, Math.ceil(events / template.length) - 1);
    const nextEventId = orderedEventIds();
    const copyOf = (instanceId: string): EventToAppend[] => {
      const newIds = new Map(template.map((event) => [event.eventId, nextEventId()]));
      const mapped = (id: unknown) => (typeof id === 'string' ? (newIds.get(id) ?? id) : id);
      return template.map((event) => ({
        eventId: newIds.get(event.eventId)!,
        type: event.type,
        data: event.data,
        metadata: {
          ...event.metadata,
          eventId: newIds.get(event.eventId)!,
          instanceId,
          correlationId: mapped(event.metadata['correlationId']),
          causationId: mapped(event.metadata['causationId']),
        },
      }));
    };
    const ids = Array.from({ length: copies }, (_, i) => `mem-${i}`);
    let next = 0;
    const worker = async () => {
      while (next < copies) {
        const id = ids[next++]!;
        await store.append(`orderFulfillment-${id}`, copyOf(id), {
          expectedRevision: ExpectedRevision.NoStream,
        });
      }
    };
    await Promise.all(Array.from({ length: 512 }, worker));
    const storedEvents = store.countEvents
      ? await store.countEvents({})
      : store.stats().events + template.length;
    return { ids, storedEvents };
  } finally {
    await store.close();
    await registry.close();
  }
}

/**
 * The api's resident memory with a large store and a full instance cache. A baseline first: the
 * built api on an empty store after start-up and ~20 requests (orders started and read). Then a
 * store filled with about `events` events (default 1 000 000) of completed orderFulfillment
 * orders, and the api on it loading `hotInstances` (default 10 000, the instance cache's default
 * capacity) of them by GET /workflows/orderFulfillment/:id, 32 at a time; the figure is the most
 * of three reads of VmRSS 500 ms apart, 2 s after the last GET. The cache's limits are left at
 * their defaults (10 000 instances, 64 MiB of event data). Skipped where there is no /proc or the
 * api does not start.
 */
export async function measureApiMemory(
  options: { events?: number; hotInstances?: number } = {},
): Promise<ApiMemoryResult | { skipped: string }> {
  const events = options.events ?? 1_000_000;
  const wanted = options.hotInstances ?? 10_000;
  if (!canReadResidentMemory())
    return { skipped: 'no /proc on this machine to read resident memory from' };
  const emptyDir = mkdtempSync(join(tmpdir(), 'esflow-bench-api-memory-empty-'));
  const filledDir = mkdtempSync(join(tmpdir(), 'esflow-bench-api-memory-'));
  try {
    const empty = await startApi(randomPort(), emptyDir).catch(() => undefined);
    if (!empty) return { skipped: 'the api did not start' };
    let baselineMiB: number;
    try {
      const http = jsonPoster(empty.baseUrl, 4);
      for (let i = 0; i < 10; i++) {
        const orderId = `baseline-${i}`;
        await http.post('/workflows/orderFulfillment', {
          input: orderInput(orderId),
        });
        await http.get(`/workflows/orderFulfillment/${orderId}`);
      }
      http.close();
      await realSleep(1_000);
      baselineMiB = residentMiB(empty.child.pid!);
    } finally {
      await stopApp(empty.child);
    }

    const fillStarted = performance.now();
    const { ids, storedEvents } = await fillStore(filledDir, events);
    const fillSeconds = (performance.now() - fillStarted) / 1000;

    const api = await startApi(randomPort(), filledDir).catch(() => undefined);
    if (!api) return { skipped: 'the api did not start on the filled store' };
    try {
      const hot = ids.slice(0, wanted);
      let errors = 0;
      let next = 0;
      const client = async () => {
        while (next < hot.length) {
          const id = hot[next++]!;
          const response = await fetch(`${api.baseUrl}/workflows/orderFulfillment/${id}`).catch(
            () => undefined,
          );
          if (response?.status !== 200) errors++;
          await response?.arrayBuffer();
        }
      };
      await Promise.all(Array.from({ length: 32 }, client));
      await realSleep(2_000);
      let loadedMiB = 0;
      for (let read = 0; read < 3; read++) {
        if (read > 0) await realSleep(500);
        loadedMiB = Math.max(loadedMiB, residentMiB(api.child.pid!));
      }
      const metrics = await (await fetch(`${api.baseUrl}/metrics`)).text();
      const mib = (name: string) => metricValue(metrics, name) / 2 ** 20;
      return {
        storedEvents,
        hotInstances: hot.length - errors,
        baselineMiB,
        loadedMiB,
        loadedHeapUsedMiB: mib('nodejs_heap_size_used_bytes'),
        loadedExternalMiB: mib('nodejs_external_memory_bytes'),
        vsBaseline: loadedMiB / baselineMiB,
        fillSeconds,
        errors,
      };
    } finally {
      await stopApp(api.child);
    }
  } finally {
    rmSync(emptyDir, { recursive: true, force: true });
    rmSync(filledDir, { recursive: true, force: true });
  }
}
