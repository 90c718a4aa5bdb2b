import { join } from 'node:path';
import {
  Clock,
  createMemoryEventStore,
  defineFeature,
  EngineObserver,
  EventStore,
  InstanceSnapshots,
  LeaseStore,
  StreamLimits,
  WorkflowCatalog,
  WorkflowDefinition,
  WorkflowEngine,
} from '@esflow/core';
import {
  ORDER_FULFILLMENT_SCHEMAS,
  orderFulfillmentFeature,
} from '@esflow/example-order-fulfillment';
import { createEsflowRuntime } from '@esflow/nest';
import { AvroPayloadCodec } from '@esflow/schemas';
import { createEmbeddedSchemaRegistry } from '@esflow/sqlite';

/**
 * An engine over the memory store and the real Avro codec (registry in an in-memory SQLite),
 * running orderFulfillment, or `definitions` with orderFulfillment's schemas.
 */
export async function createTestEngine(
  options: {
    store?: EventStore;
    definitions?: readonly WorkflowDefinition[];
    limits?: Partial<StreamLimits>;
    clock?: Clock;
    /** The schema directory of `definitions` (default orderFulfillment's). */
    schemas?: string;
    snapshots?: InstanceSnapshots;
    observer?: EngineObserver;
  } = {},
): Promise<{
  engine: WorkflowEngine;
  store: EventStore;
  codec: AvroPayloadCodec;
  catalog: WorkflowCatalog;
}> {
  const store = options.store ?? createMemoryEventStore();
  const feature = options.definitions
    ? defineFeature({
        workflows: options.definitions,
        schemas: options.schemas ?? ORDER_FULFILLMENT_SCHEMAS,
      })
    : orderFulfillmentFeature;
  const { engine, codec, catalog } = await createEsflowRuntime({
    store,
    registry: createEmbeddedSchemaRegistry({ filename: ':memory:' }),
    features: [{ feature, registeredBy: 'createTestEngine' }],
    sleep: async () => {},
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.snapshots ? { snapshots: options.snapshots } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
  });
  return { engine, store, codec, catalog };
}

export const anOrder = (orderId = `order-${Math.random().toString(36).slice(2, 10)}`) => ({
  orderId,
  customerId: 'customer-7',
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'SKU-1', quantity: 2 }],
});

/** The event types of an orderFulfillment order paid, fetched and shipped, in stream order. */
export const COMPLETED_ORDER_EVENTS = [
  'OrderPlaced',
  'TimerScheduled',
  'PaymentReceived',
  'TimerCancelled',
  'GoodsFetched',
  'ShipmentDispatched',
  'WorkflowCompleted',
];

/** Schemas of the `looping` test workflow (LoopStarted, Retry, Ping: no fields). */
export const LOOPING_SCHEMAS = join(__dirname, 'schemas/looping');

/** Schemas of the `invoking` test workflow (JobStarted, DoWork, WorkResult, Abandon). */
export const INVOKING_SCHEMAS = join(__dirname, 'schemas/invoking');

/** One process's leases, in memory: the processor under test is the only owner. */
export function soleLeases(): LeaseStore {
  const owners = new Map<string, string>();
  return {
    acquireLease: async (name, owner) => {
      if (owners.get(name) && owners.get(name) !== owner) return false;
      owners.set(name, owner);
      return true;
    },
    releaseLease: async (name, owner) => {
      if (owners.get(name) === owner) owners.delete(name);
    },
  };
}
