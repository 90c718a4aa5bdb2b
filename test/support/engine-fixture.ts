import { resolve } from 'node:path';
import {
  createWorkflowEngine,
  EventStore,
  WorkflowCatalog,
  WorkflowDefinition,
  WorkflowEngine,
} from '@esflow/domain';
import { createMemoryEventStore } from '@esflow/eventstore-memory';
import { AvroPayloadCodec, createEmbeddedSchemaRegistry, SchemaCatalog } from '@esflow/schemas';
import { builtInWorkflows } from '@esflow/workflows';
import { nodeIdGenerator, systemClock } from '@esflow/app-core';

export const SCHEMA_DIR = resolve(__dirname, '../../schemas/avro');

/** An engine over the memory store and the real Avro codec (registry in an in-memory SQLite). */
export async function createTestEngine(
  options: { store?: EventStore; definitions?: readonly WorkflowDefinition[] } = {},
): Promise<{ engine: WorkflowEngine; store: EventStore; codec: AvroPayloadCodec }> {
  const store = options.store ?? createMemoryEventStore();
  const codec = await AvroPayloadCodec.create({
    catalog: SchemaCatalog.load(SCHEMA_DIR),
    registry: createEmbeddedSchemaRegistry({ filename: ':memory:' }),
  });
  const engine = createWorkflowEngine({
    store,
    codec,
    catalog: new WorkflowCatalog(options.definitions ?? builtInWorkflows),
    clock: systemClock,
    ids: nodeIdGenerator,
    sleep: async () => {},
  });
  return { engine, store, codec };
}

export const anOrder = (orderId = `order-${Math.random().toString(36).slice(2, 10)}`) => ({
  orderId,
  customerId: 'customer-7',
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'SKU-1', quantity: 2 }],
});
