import { join } from 'node:path';
import { Clock, WorkflowEngine } from '@esflow/core';
import { systemClock } from '@esflow/core/node';
import { orderFulfillmentFeature, sampleOrder } from '@esflow/example-order-fulfillment';
import { createEsflowRuntime } from '@esflow/nest';
import {
  createEmbeddedSchemaRegistry,
  createSqliteEventStore,
  SqliteEventStore,
} from '@esflow/sqlite';
import { LatencySummary, summarise } from '../stats';

// What the engine-level scenarios (timers, commands) share: timed engine operations against a
// SQLite store, and an engine of its own over that store.

export interface EngineOpsResult {
  readonly count: number;
  readonly perSecond: number;
  readonly seconds: number;
  readonly latency: LatencySummary;
  readonly errors: number;
  /** Events recorded per engine operation (one append each). */
  readonly eventsPerOp: number;
  /** Appends committed per SQLite transaction (one fsync). */
  readonly appendsPerFsync: number;
}

/** `count` operations, `concurrency` in flight, each timed; `op` returns false for an error. */
export async function timedOps(
  store: SqliteEventStore,
  count: number,
  concurrency: number,
  op: (i: number) => Promise<boolean>,
): Promise<EngineOpsResult> {
  const before = store.stats();
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      const ok = await op(i).catch(() => false);
      latencies.push(performance.now() - t0);
      if (!ok) errors++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const after = store.stats();
  return {
    count,
    perSecond: count / seconds,
    seconds,
    latency: summarise(latencies),
    errors,
    eventsPerOp: (after.events - before.events) / Math.max(1, after.appends - before.appends),
    appendsPerFsync: (after.appends - before.appends) / Math.max(1, after.commits - before.commits),
  };
}

/** An engine of its own over `store`, as another process would have: its instance cache cold. */
export async function engineOver(store: SqliteEventStore, database: string, clock: Clock) {
  return createEsflowRuntime({
    store,
    registry: createEmbeddedSchemaRegistry({ filename: database }),
    features: [{ feature: orderFulfillmentFeature, registeredBy: 'bench' }],
    clock,
  });
}

/** `count` orders placed (`<prefix>-<i>`), `concurrency` in flight, through `engine`. */
export const placeOrders = (
  engine: WorkflowEngine,
  store: SqliteEventStore,
  prefix: string,
  count: number,
  concurrency: number,
) =>
  timedOps(store, count, concurrency, async (i) => {
    const input = sampleOrder(`${prefix}-${i}`);
    return (await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input })).ok;
  });

/**
 * The baseline the engine-level scenarios (commands, messages) measure against: `instances`
 * orders placed on a store of its own (`<dir>/<name>.sqlite`), then one event of `type` sent to
 * each through another engine (its instance cache cold, as another process's would be).
 */
export async function measureSendBaseline(
  dir: string,
  name: string,
  instances: number,
  concurrency: number,
  event: { readonly type: string; readonly payloadOf: (i: number) => Record<string, unknown> },
): Promise<{ baselineStarts: EngineOpsResult; baselineSends: EngineOpsResult }> {
  const database = join(dir, `${name}.sqlite`);
  const store = createSqliteEventStore({ filename: database });
  try {
    const starter = (await engineOver(store, database, systemClock)).engine;
    const starts = await placeOrders(starter, store, 'base', instances, concurrency);
    const sender = (await engineOver(store, database, systemClock)).engine;
    const sends = await timedOps(store, instances, concurrency, async (i) => {
      const sent = await sender.sendEvent.handle({
        workflow: 'orderFulfillment',
        id: `base-${i}`,
        type: event.type,
        payload: event.payloadOf(i),
      });
      return sent.ok;
    });
    return { baselineStarts: starts, baselineSends: sends };
  } finally {
    await store.close();
  }
}
