import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  builtInProjections,
  createMemoryEventStore,
  defineFeature,
  defineWorkflow,
  EsflowFeature,
  EventStore,
  formatPosition,
  PayloadCodec,
  ReadModelQueries,
  ReadModelStore,
  realSleep,
  Result,
  WorkflowEngine,
} from '@esflow/core';
import { systemClock } from '@esflow/core/node';
import { kycOnboardingFeature } from '@esflow/example-kyc-onboarding';
import {
  ORDER_FULFILLMENT_SCHEMAS,
  orderFulfillment,
  orderFulfillmentFeature,
  orderFulfillmentMachine,
} from '@esflow/example-order-fulfillment';
import { SchemaRegistry } from '@esflow/schemas';
import { createEmbeddedSchemaRegistry, createSqliteReadModelStore } from '@esflow/sqlite';
import { EsflowModule, PAYLOAD_CODEC, WORKFLOW_ENGINE } from '../index';
import { countRunningVersions, VersionRemovalCheck } from './version-removal-check';

const dirs: string[] = [];
const apps: INestApplicationContext[] = [];
afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.close();
});
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function readModelFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-version-check-'));
  dirs.push(dir);
  return join(dir, 'readmodel.sqlite');
}

/**
 * The same store and registry seen by several applications, as by the deploys of one service:
 * closing an application (which closes its adapters) leaves them open for the next.
 */
function shared(): { store: EventStore; registry: SchemaRegistry } {
  const store = createMemoryEventStore();
  const registry = createEmbeddedSchemaRegistry({ filename: ':memory:' });
  return {
    store: { ...store, close: async () => {} } as EventStore,
    registry: { ...registry, close: async () => {} } as SchemaRegistry,
  };
}

/** Boots an application registering `features` on the shared adapters; the app or its error. */
async function boot(
  adapters: { store: EventStore; registry: SchemaRegistry },
  features: EsflowFeature[],
) {
  @Module({
    imports: [
      EsflowModule.forRoot({
        ...adapters,
        readModel: createSqliteReadModelStore({ filename: readModelFile() }),
        features,
      }),
    ],
  })
  class AppModule {}
  try {
    const app = await NestFactory.createApplicationContext(AppModule, {
      logger: false,
      abortOnError: false,
    });
    apps.push(app);
    return { app, error: undefined };
  } catch (error) {
    return { app: undefined, error: error as Error & { code?: string } };
  }
}

const orderFulfillmentV2 = defineWorkflow({
  name: 'orderFulfillment',
  version: 2,
  machine: orderFulfillmentMachine,
  startEvent: 'OrderPlaced',
  commands: ['RefundPayment'],
  instanceIdFrom: orderFulfillment.instanceIdFrom,
});

const order = (orderId: string) => ({
  orderId,
  customerId: `customer-${orderId}`,
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'SKU-1', quantity: 2 }],
});

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

async function start(engine: WorkflowEngine, id: string): Promise<void> {
  valueOf(await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: order(id) }));
}

async function ship(engine: WorkflowEngine, id: string): Promise<void> {
  for (const [type, payload] of [
    ['PaymentReceived', { paymentId: `pay-${id}`, amountCents: 4999 }],
    ['GoodsFetched', { warehouseId: 'wh-1' }],
    ['ShipmentDispatched', { trackingId: `trk-${id}` }],
  ] as const)
    valueOf(await engine.sendEvent.handle({ workflow: 'orderFulfillment', id, type, payload }));
}

describe('the start-up check of removed definition versions', () => {
  it('refuses to start without a version instances still run on, naming the count', async () => {
    const adapters = shared();
    const v1 = await boot(adapters, [orderFulfillmentFeature]);
    expect(v1.error).toBeUndefined();
    const engine = v1.app!.get<WorkflowEngine>(WORKFLOW_ENGINE);
    for (const id of ['o-1', 'o-2', 'o-3', 'o-4']) await start(engine, id);
    await ship(engine, 'o-4');

    const v2Only = defineFeature({
      workflows: [orderFulfillmentV2],
      schemas: ORDER_FULFILLMENT_SCHEMAS,
    });
    const refused = await boot(adapters, [v2Only]);
    expect(refused.app).toBeUndefined();
    expect(refused.error?.code).toBe('INVALID_DEFINITION');
    expect(refused.error?.message).toBe(
      'orderFulfillment v1 is no longer registered but 3 instances still run on it: register it again beside v2, or migrate them',
    );

    // Every version of the workflow removed: refused the same way.
    const withoutOrders = await boot(adapters, [kycOnboardingFeature]);
    expect(withoutOrders.error?.message).toBe(
      'orderFulfillment v1 is no longer registered but 3 instances still run on it: register it again (no version of orderFulfillment is registered now)',
    );

    // v1 registered again beside v2: it starts, and knows what runs where.
    const both = defineFeature({
      workflows: [orderFulfillment, orderFulfillmentV2],
      schemas: ORDER_FULFILLMENT_SCHEMAS,
    });
    const sideBySide = await boot(adapters, [both]);
    expect(sideBySide.error).toBeUndefined();
    expect(sideBySide.app!.get(VersionRemovalCheck).counted).toEqual({
      counts: [{ workflow: 'orderFulfillment', version: 1, running: 3 }],
      readModelPosition: null,
      eventsAfter: expect.any(Number),
    });
  });
});

describe('countRunningVersions', () => {
  const definitionVersions = builtInProjections([]).find((p) => p.name === 'definition_versions')!;

  /** A read model whose definition_versions generation 1 holds `running` as of `position`. */
  async function builtReadModel(
    position: Awaited<ReturnType<EventStore['readAll']>>[number]['position'],
    running: number,
  ): Promise<ReadModelStore> {
    const readModel = createSqliteReadModelStore({ filename: readModelFile() });
    await readModel.migrate();
    await readModel.createGeneration('definition_versions', 1, definitionVersions.collections);
    await readModel.transact(async (tx) => {
      await tx.documents('definition_versions', 1).put('versions', 'orderFulfillment/1', {
        workflow: 'orderFulfillment',
        version: 1,
        instances: running,
        running,
      });
      await tx.saveCheckpoint('definition_versions', 1, { position, eventsApplied: 1 });
      await tx.saveRecord({
        name: 'definition_versions',
        version: definitionVersions.version,
        activeGeneration: 1,
        status: 'live',
        failure: null,
        rebuild: null,
        lag: null,
        heartbeatAt: null,
      });
    });
    return readModel;
  }

  it('takes the read model as of its checkpoint and adds what the store recorded after it', async () => {
    const adapters = shared();
    const { app } = await boot(adapters, [orderFulfillmentFeature]);
    const engine = app!.get<WorkflowEngine>(WORKFLOW_ENGINE);
    await start(engine, 'a');
    await start(engine, 'b');
    const checkpoint = (await adapters.store.readAll()).at(-1)!.position;
    await start(engine, 'c');
    await ship(engine, 'a');
    // What the count reads where the store reads stream starts (SQLite): each instance's first
    // event and the facts that end (or migrate) one, never the rest of the log.
    const countedTypes = new Set(['WorkflowCompleted', 'InstanceTerminated', 'InstanceMigrated']);
    const instanceEvents = async (after?: typeof checkpoint) =>
      (await adapters.store.readAll(after ? { after } : {})).filter(
        (e) =>
          e.streamName.startsWith('orderFulfillment-') &&
          (e.revision === 0 || countedTypes.has(e.type)),
      ).length;
    const later = await instanceEvents(checkpoint);
    // c's start and a's completion.
    expect(later).toBe(2);

    // The read model says 10 (not what the store holds), so the result shows it was used.
    const readModel = await builtReadModel(checkpoint, 10);
    const queries = new ReadModelQueries(readModel, systemClock, realSleep);
    const codec = app!.get<PayloadCodec>(PAYLOAD_CODEC);
    expect(await countRunningVersions(adapters.store, readModel, queries, codec)).toEqual({
      counts: [{ workflow: 'orderFulfillment', version: 1, running: 10 + 1 - 1 }],
      readModelPosition: formatPosition(checkpoint),
      eventsAfter: later,
    });

    // A read model never built: the whole log is counted, and the count is the store's.
    const fresh = createSqliteReadModelStore({ filename: readModelFile() });
    await fresh.migrate();
    const counted = await countRunningVersions(
      adapters.store,
      fresh,
      new ReadModelQueries(fresh, systemClock, realSleep),
      codec,
    );
    expect(counted).toEqual({
      counts: [{ workflow: 'orderFulfillment', version: 1, running: 2 }],
      readModelPosition: null,
      eventsAfter: await instanceEvents(),
    });
    await Promise.all([readModel.close(), fresh.close()]);
  });
});
