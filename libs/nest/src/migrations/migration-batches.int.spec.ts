import { describe, expect, it } from 'vitest';
import {
  createMemoryEventStore,
  createMemoryMessageIndex,
  EventStore,
  InstanceList,
  InstanceSummary,
  WorkflowEngine,
} from '@esflow/core';
import {
  orderFulfillmentFeatureOf,
  OrderFulfillmentVersion,
} from '@esflow/example-order-fulfillment';
import { SchemaRegistry } from '@esflow/schemas';
import { createEmbeddedSchemaRegistry } from '@esflow/sqlite';
import { waitFor } from '@esflow/testing';
import { createEsflowRuntime } from '../runtime/esflow-runtime';
import {
  MigrationBatches,
  MigrationBatchProgress,
  MigrationBatchRequest,
} from './migration-batches';

// Batch migrations over the real engine (memory store, real codec): orders started while only
// orderFulfillment v1 was registered, migrated by a runtime with v1 and v2. The instance list
// stands in for the read model, as the projector would have it.

const order = (orderId: string) => ({
  orderId,
  customerId: 'c-1',
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'SKU-1', quantity: 1 }],
});

async function engineOf(
  store: EventStore,
  registry: SchemaRegistry,
  versions: OrderFulfillmentVersion[],
): Promise<WorkflowEngine> {
  const runtime = await createEsflowRuntime({
    store,
    registry,
    features: [{ feature: orderFulfillmentFeatureOf(versions), registeredBy: 'batch test' }],
    sleep: async () => {},
  });
  return runtime.engine;
}

/** The instance list as a read model would hold it, as of `rows` (possibly stale). */
function listOf(rows: () => InstanceSummary[]): InstanceList {
  return {
    async list(query) {
      const all = rows()
        .filter((row) => row.status === query.status)
        .sort((a, b) => a.id.localeCompare(b.id));
      const from = query.after === undefined ? 0 : all.findIndex((r) => r.id === query.after) + 1;
      const items = all.slice(from, from + query.limit);
      return { items, next: from + query.limit < all.length ? items.at(-1)!.id : null };
    },
  };
}

async function setUp() {
  const store = createMemoryEventStore();
  const registry = createEmbeddedSchemaRegistry({ filename: ':memory:' });
  const v1 = await engineOf(store, registry, [1]);
  const ids = ['o-1', 'o-2', 'o-3', 'paid-1'];
  for (const id of ids) {
    const started = await v1.startWorkflow.handle({
      workflow: 'orderFulfillment',
      input: order(id),
      actor: 't',
    });
    expect(started.ok).toBe(true);
  }
  const paid = await v1.sendEvent.handle({
    workflow: 'orderFulfillment',
    id: 'paid-1',
    type: 'PaymentReceived',
    payload: { paymentId: 'p', amountCents: 4999 },
    actor: 't',
  });
  expect(paid.ok).toBe(true);
  const engine = await engineOf(store, registry, [1, 2]);
  // What the read model listed before any migration: every order on v1.
  const rows: InstanceSummary[] = [];
  for (const id of ids) {
    const read = await engine.queries.get('orderFulfillment', id);
    if (!read.ok) throw new Error(read.rejection.message);
    const { workflow, version, state, status, revision } = read.value;
    rows.push({ workflow, id, version, state, status, revision, updatedAt: '' });
  }
  let now = 0;
  const batches = new MigrationBatches({
    engine,
    messageIndex: createMemoryMessageIndex(),
    instances: listOf(() => rows),
    clock: { now: () => new Date(Date.UTC(2030, 0, 1, 0, 0, now++)) },
    ids: { random: () => `batch-${now}`, deterministic: (name) => name },
  });
  const run = async (fields: Partial<MigrationBatchRequest>): Promise<MigrationBatchProgress> => {
    const started = batches.start({
      workflow: 'orderFulfillment',
      filter: { fromVersion: 1, state: 'awaitingPayment' },
      toVersion: 2,
      dryRun: false,
      operator: 'ops',
      ...fields,
    });
    expect(started).toMatchObject({ status: 'running', matched: 0 });
    return waitFor(
      async () => {
        const progress = batches.progress(started.migrationId)!;
        return progress.status === 'done' && progress;
      },
      { timeoutMs: 5_000, what: 'the batch to finish' },
    );
  };
  const events = async (id: string) => (await store.readStream(`orderFulfillment-${id}`)).length;
  return { engine, batches, run, events, store };
}

describe('MigrationBatches', () => {
  it('migrates every running instance the filter takes, one recorded step each, and a re-run skips them', async () => {
    const { engine, run, events } = await setUp();
    const before = await Promise.all(['o-1', 'o-2', 'o-3', 'paid-1'].map(events));

    const dryRun = await run({ dryRun: true });
    expect(dryRun).toMatchObject({ dryRun: true, matched: 3, migrated: 3, skipped: 0, refused: 0 });
    expect(await Promise.all(['o-1', 'o-2', 'o-3', 'paid-1'].map(events))).toEqual(before);

    const done = await run({ reason: 'v2' });
    expect(done).toMatchObject({
      matched: 3,
      migrated: 3,
      skipped: 0,
      refused: 0,
      failed: 0,
      errors: [],
      finishedAt: expect.any(String),
    });
    for (const id of ['o-1', 'o-2', 'o-3']) {
      const read = await engine.queries.get('orderFulfillment', id);
      expect(read.ok && read.value.version).toBe(2);
    }
    // The paid order is in fetchingGoods: not taken.
    const paid = await engine.queries.get('orderFulfillment', 'paid-1');
    expect(paid.ok && paid.value.version).toBe(1);

    // The (stale) list still says v1: the engine finds them on v2 already.
    const again = await run({});
    expect(again).toMatchObject({ matched: 3, migrated: 0, skipped: 3, refused: 0, errors: [] });
  });

  it('counts and lists the refused, and writes nothing for them', async () => {
    const { run, events } = await setUp();
    const before = await events('o-1');
    const refused = await run({ stateMapping: { awaitingPayment: 'awaitingFunds' } });
    expect(refused).toMatchObject({ matched: 3, migrated: 0, refused: 3, failed: 0 });
    expect(refused.errors).toEqual(
      ['o-1', 'o-2', 'o-3'].map((id) => ({
        id,
        code: 'MIGRATION_REFUSED',
        message: expect.stringContaining(
          'stateMapping.awaitingPayment v2 has no state awaitingFunds',
        ),
      })),
    );
    expect(await events('o-1')).toBe(before);
  });

  it('stops where the selection fails, saying why', async () => {
    const batches = new MigrationBatches({
      engine: (await setUp()).engine,
      messageIndex: createMemoryMessageIndex(),
      instances: {
        list: async () => {
          throw new Error('read model unreachable');
        },
      },
      clock: { now: () => new Date(0) },
      ids: { random: () => 'b-1', deterministic: (name) => name },
    });
    batches.start({
      workflow: 'orderFulfillment',
      filter: { fromVersion: 1 },
      toVersion: 2,
      dryRun: false,
      operator: 'ops',
    });
    const done = await waitFor(
      async () => batches.progress('b-1')?.status === 'done' && batches.progress('b-1'),
      {
        timeoutMs: 5_000,
        what: 'the batch to stop',
      },
    );
    expect(done).toMatchObject({
      matched: 0,
      failure: { code: 'INTERNAL', message: 'read model unreachable' },
    });
    await batches.stop();
    expect(batches.progress('unknown')).toBeUndefined();
  });
});
