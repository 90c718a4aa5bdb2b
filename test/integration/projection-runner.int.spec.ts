import { afterEach, describe, expect, it } from 'vitest';
import {
  builtInProjections,
  EventStore,
  instancesProjection,
  ProjectionDefinition,
  ProjectionRunner,
  ReadModelQueries,
  ReadModelStore,
  realSleep,
} from '@esflow/core';
import { systemClock } from '@esflow/core/node';
import { createPostgresReadModelStore } from '@esflow/postgres';
import { anOrder, createTestEngine } from '../support/engine-fixture';
import { dropSchema, TEST_POSTGRES_URL, uniqueSchema } from '../support/postgres';
import { runnerFor, tempSqliteReadModel } from '../support/projection-fixture';
import { waitFor } from '../support/wait-for';

const cleanups: (() => Promise<void>)[] = [];
const runners: ProjectionRunner[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sqliteReadModel(): Promise<ReadModelStore> {
  const { readModel, dispose } = await tempSqliteReadModel();
  cleanups.push(dispose);
  return readModel;
}

async function postgresReadModel(): Promise<ReadModelStore> {
  const schema = uniqueSchema('esflow_runner');
  const readModel = createPostgresReadModelStore({ connectionString: TEST_POSTGRES_URL, schema });
  await readModel.migrate();
  cleanups.push(async () => {
    await readModel.close();
    await dropSchema(schema);
  });
  return readModel;
}

/** Orders through different paths, so the read models have varied states. */
async function driveOrders(
  engine: Awaited<ReturnType<typeof createTestEngine>>['engine'],
  count: number,
  prefix = 'o',
) {
  for (let i = 0; i < count; i++) {
    const order = anOrder(`${prefix}-${i}`);
    await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: order });
    const send = (type: string, payload: unknown) =>
      engine.sendEvent.handle({ workflow: 'orderFulfillment', id: order.orderId, type, payload });
    if (i % 4 === 0) continue;
    if (i % 4 === 1) {
      await send('PaymentFailed', { reason: 'declined' });
      continue;
    }
    await send('PaymentReceived', { paymentId: `p-${i}`, amountCents: 1 });
    if (i % 4 === 2) await send('GoodsUnavailable', { sku: 'SKU-1' });
    else {
      await send('GoodsFetched', { warehouseId: 'w' });
      await send('ShipmentDispatched', { trackingId: 't' });
    }
  }
}

/** The events a projection of orderFulfillment reads (the log also holds esflow's kept schemas). */
const workflowEventCount = async (store: EventStore) =>
  (await store.readAll({ filter: { streamNamePrefixes: ['orderFulfillment-'] } })).length;

const applied = async (readModel: ReadModelStore, name: string, generation = 1) =>
  (await readModel.checkpoint(name, generation))?.eventsApplied ?? 0;

describe.each([
  ['SQLite', sqliteReadModel],
  ['PostgreSQL', postgresReadModel],
])('projection runner on %s', (_name, makeReadModel) => {
  it('catches up, then follows live, with the checkpoint in step with the documents', async () => {
    const { engine, store } = await createTestEngine();
    const readModel = await makeReadModel();
    await driveOrders(engine, 12);
    const total = await workflowEventCount(store);
    const definition = instancesProjection(['orderFulfillment']);
    const runner = runnerFor(definition, store, readModel);
    runners.push(runner);
    runner.start();
    await waitFor(async () => (await applied(readModel, 'instances')) === total, {
      what: 'catch-up',
    });
    await driveOrders(engine, 4, 'late');
    const after = await workflowEventCount(store);
    await waitFor(async () => (await applied(readModel, 'instances')) === after, {
      what: 'live events',
    });
    const queries = new ReadModelQueries(readModel, systemClock, realSleep);
    const page = await queries.list({ workflow: 'orderFulfillment', limit: 100 });
    expect(page.items).toHaveLength(16);
    expect(
      (await queries.list({ workflow: 'orderFulfillment', status: 'cancelled', limit: 100 })).items
        .length,
    ).toBeGreaterThan(0);
    await waitFor(() => runner.current()?.status === 'live', { what: 'status live' });
    expect(runner.current()?.lag).toEqual({ events: 0, seconds: 0 });
  });

  it('rebuilds into a shadow generation that equals the live one, while the live one keeps answering', async () => {
    const { engine, store } = await createTestEngine();
    const readModel = await makeReadModel();
    await driveOrders(engine, 40);
    const [definition] = builtInProjections(['orderFulfillment']);
    const runner = runnerFor(definition!, store, readModel);
    runners.push(runner);
    runner.start();
    const total = await workflowEventCount(store);
    await waitFor(async () => (await applied(readModel, 'instances')) === total, {
      what: 'catch-up',
    });
    const before = await readModel.digest('instances', 1, definition!.collections);
    await readModel.request('instances', 'rebuild');
    // A small rebuild may start and swap between two polls.
    await waitFor(() => runner.current()?.rebuild || runner.current()?.activeGeneration === 2, {
      what: 'rebuild to start',
    });
    expect((await readModel.find('instances', 'instances', { limit: 1000 })).length).toBe(40); // still serving
    await waitFor(
      () => runner.current()?.activeGeneration === 2 && runner.current()?.rebuild === null,
      { what: 'swap' },
    );
    expect(await readModel.digest('instances', 2, definition!.collections)).toBe(before);
    await waitFor(async () => (await applied(readModel, 'instances', 1)) === 0, {
      what: 'the old generation to be dropped',
    });
  });

  it('stops only the failing projection, naming the event; skip records it and moves on', async () => {
    const { engine, store } = await createTestEngine();
    const readModel = await makeReadModel();
    await driveOrders(engine, 6);
    const poisonId = 'o-3';
    const fragile: ProjectionDefinition = {
      name: 'fragile',
      version: 1,
      collections: { seen: { indexes: [] } },
      async handle({ recorded, metadata }, documents) {
        if (metadata.instanceId === poisonId && recorded.type === 'PaymentReceived')
          throw new Error('cannot handle this payment');
        await documents.put('seen', recorded.eventId, { type: recorded.type });
      },
    };
    const healthy = instancesProjection(['orderFulfillment']);
    const errors: string[] = [];
    const fragileRunner = runnerFor(fragile, store, readModel, 'owner', (m) => errors.push(m));
    const healthyRunner = runnerFor(healthy, store, readModel);
    runners.push(fragileRunner, healthyRunner);
    fragileRunner.start();
    healthyRunner.start();
    const total = (await store.readAll()).length;
    const workflowTotal = await workflowEventCount(store);
    await waitFor(() => fragileRunner.current()?.failure, { what: 'the poison event' });
    const failure = fragileRunner.current()!.failure!;
    expect(failure).toMatchObject({
      streamName: `orderFulfillment-${poisonId}`,
      revision: 2, // after OrderPlaced and its TimerScheduled
      type: 'PaymentReceived',
      message: 'cannot handle this payment',
    });
    expect(errors.join('\n')).toContain(`orderFulfillment-${poisonId}@2 (PaymentReceived)`);
    await waitFor(async () => (await applied(readModel, 'instances')) === workflowTotal, {
      what: 'the healthy projection to finish',
    });
    const before = await applied(readModel, 'fragile');
    expect(
      (await store.readAll()).findIndex(
        (e) => e.streamName === failure.streamName && e.revision === 2,
      ),
    ).toBe(before);

    await readModel.request('fragile', 'skip');
    await waitFor(async () => (await applied(readModel, 'fragile')) === total, {
      what: 'the rest after the skip',
    });
    expect(fragileRunner.current()?.failure).toBeNull();
    const docs = await readModel.find('fragile', 'seen', { limit: 1000 });
    expect(docs).toHaveLength(total - 1);
  });

  it('retries a failed event once the cause is gone', async () => {
    const { engine, store } = await createTestEngine();
    const readModel = await makeReadModel();
    await driveOrders(engine, 3);
    let broken = true;
    const flaky: ProjectionDefinition = {
      name: 'flaky',
      version: 1,
      collections: { seen: { indexes: [] } },
      async handle({ recorded }, documents) {
        if (broken && recorded.revision === 1) throw new Error('downstream lookup failed');
        await documents.put('seen', recorded.eventId, {});
      },
    };
    const runner = runnerFor(flaky, store, readModel);
    runners.push(runner);
    runner.start();
    await waitFor(() => runner.current()?.failure, { what: 'failure' });
    broken = false;
    await readModel.request('flaky', 'retry');
    const total = (await store.readAll()).length;
    await waitFor(async () => (await applied(readModel, 'flaky')) === total, {
      what: 'retry to apply everything',
    });
    expect(await readModel.find('flaky', 'seen', { limit: 100 })).toHaveLength(total);
  });

  it('rebuilds itself on start when its code version changed', async () => {
    const { engine, store } = await createTestEngine();
    const readModel = await makeReadModel();
    await driveOrders(engine, 8);
    const v1 = instancesProjection(['orderFulfillment']);
    const first = runnerFor(v1, store, readModel);
    first.start();
    const total = await workflowEventCount(store);
    await waitFor(async () => (await applied(readModel, 'instances')) === total, {
      what: 'v1 catch-up',
    });
    await first.stop();
    const v2: ProjectionDefinition = {
      ...v1,
      version: 2,
      handle: async (event, documents) => {
        await v1.handle(event, documents);
        const id = `${event.metadata.workflow}/${event.metadata.instanceId}`;
        await documents.put('instances', id, {
          ...(await documents.get('instances', id)),
          touchedBy: 'v2',
        });
      },
    };
    const second = runnerFor(v2, store, readModel);
    runners.push(second);
    second.start();
    // The swap is done once it is stored (the runner's own view changes just before).
    await waitFor(
      async () => {
        const stored = await readModel.record('instances');
        return stored?.version === 2 && stored.rebuild === null;
      },
      { what: 'the v2 rebuild' },
    );
    const docs = await readModel.find('instances', 'instances', { limit: 100 });
    expect(docs).toHaveLength(8);
    expect(docs.every((doc) => doc['touchedBy'] === 'v2')).toBe(true);
  });

  it('lets only the lease holder write, so two processes never apply an event twice', async () => {
    const { engine, store } = await createTestEngine();
    const readModel = await makeReadModel();
    await driveOrders(engine, 10);
    let handled = 0;
    const counting: ProjectionDefinition = {
      name: 'counting',
      version: 1,
      collections: { total: { indexes: [] } },
      async handle(_event, documents) {
        handled++;
        const current = ((await documents.get('total', 'all'))?.['n'] as number | undefined) ?? 0;
        await documents.put('total', 'all', { n: current + 1 });
      },
    };
    const a = runnerFor(counting, store, readModel, 'process-a');
    const b = runnerFor(counting, store, readModel, 'process-b');
    runners.push(a, b);
    a.start();
    b.start();
    const total = (await store.readAll()).length;
    await waitFor(async () => (await applied(readModel, 'counting')) === total, {
      what: 'one of them to finish',
    });
    const [doc] = await readModel.find('counting', 'total', { limit: 1 });
    expect(doc).toEqual({ n: total });
    expect(handled).toBe(total);
    expect([a.current(), b.current()].filter((r) => r !== undefined)).toHaveLength(1);
  });
});
