import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  EventStore,
  instancesProjection,
  ProjectionRunner,
  ReadModelStore,
  realSleep,
} from '@esflow/core';
import { systemClock } from '@esflow/core/node';
import { driveSampleOrders, orderFulfillmentFeature } from '@esflow/example-order-fulfillment';
import { createEsflowRuntime } from '@esflow/nest';
import { createPostgresReadModelStore } from '@esflow/postgres';
import {
  createEmbeddedSchemaRegistry,
  createSqliteEventStore,
  createSqliteReadModelStore,
} from '@esflow/sqlite';

export interface RebuildResult {
  readonly events: number;
  /** Baseline: reading the whole log in pages, doing nothing with it. */
  readonly storeScanEventsPerSecond: number;
  readonly sqliteRebuildEventsPerSecond: number;
  /** Undefined when no PostgreSQL answered (then `postgresSkipped` says why). */
  readonly postgresRebuildEventsPerSecond?: number;
  readonly postgresSkipped?: string;
}

async function scanRate(store: EventStore): Promise<number> {
  const started = performance.now();
  let count = 0;
  for (let after; ; ) {
    const page = await store.readAll({ ...(after ? { after } : {}), maxCount: 500 });
    count += page.length;
    if (page.length < 500) break;
    after = page[page.length - 1]!.position;
  }
  return count / ((performance.now() - started) / 1000);
}

/** Times a requested rebuild of the instance list, from the request to the swap. */
async function rebuildRate(
  store: EventStore,
  readModel: ReadModelStore,
  events: number,
): Promise<number> {
  await readModel.migrate();
  const runner = new ProjectionRunner({
    definition: instancesProjection(['orderFulfillment']),
    store,
    readModel,
    decode: async () => ({}),
    clock: systemClock,
    sleep: realSleep,
    owner: 'bench',
    heartbeatMs: 20,
  });
  runner.start();
  try {
    while ((await readModel.checkpoint('instances', 1))?.eventsApplied !== events)
      await realSleep(20);
    const started = performance.now();
    await readModel.request('instances', 'rebuild');
    while (runner.current()?.activeGeneration !== 2 || runner.current()?.rebuild)
      await realSleep(5);
    return events / ((performance.now() - started) / 1000);
  } finally {
    await runner.stop();
  }
}

/**
 * The rebuild scenario: replays `instances` orders' events (about 5 each) into a fresh shadow
 * copy of the instance list, in SQLite and in PostgreSQL, against a plain scan of the same log.
 */
export async function measureProjectionRebuild(
  instances: number,
  postgresUrl: string,
): Promise<RebuildResult> {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-bench-rebuild-'));
  const store = createSqliteEventStore({
    filename: join(dir, 'events.sqlite'),
    synchronous: 'NORMAL',
  });
  try {
    const { engine } = await createEsflowRuntime({
      store,
      registry: createEmbeddedSchemaRegistry({ filename: join(dir, 'events.sqlite') }),
      features: [{ feature: orderFulfillmentFeature, registeredBy: 'bench' }],
    });
    await driveSampleOrders(engine, instances, { prefix: 'bench' });
    // The instance list reads the workflow's streams only (not esflow's kept writer schemas).
    const events = (await store.readAll({ filter: { streamNamePrefixes: ['orderFulfillment-'] } }))
      .length;
    const storeScanEventsPerSecond = await scanRate(store);

    const sqlite = createSqliteReadModelStore({ filename: join(dir, 'readmodel.sqlite') });
    const sqliteRebuildEventsPerSecond = await rebuildRate(store, sqlite, events).finally(() =>
      sqlite.close(),
    );

    const schema = `esflow_bench_${process.pid}`;
    const postgres = createPostgresReadModelStore({ connectionString: postgresUrl, schema });
    try {
      const postgresRebuildEventsPerSecond = await rebuildRate(store, postgres, events);
      return {
        events,
        storeScanEventsPerSecond,
        sqliteRebuildEventsPerSecond,
        postgresRebuildEventsPerSecond,
      };
    } catch (error) {
      return {
        events,
        storeScanEventsPerSecond,
        sqliteRebuildEventsPerSecond,
        postgresSkipped: (error as Error).message,
      };
    } finally {
      await postgres.close();
      const client = new Client({ connectionString: postgresUrl });
      await client
        .connect()
        .then(() => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
        .catch(() => undefined)
        .finally(() => client.end().catch(() => undefined));
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
