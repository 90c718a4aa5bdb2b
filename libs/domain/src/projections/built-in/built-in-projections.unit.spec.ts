import { describe, expect, it } from 'vitest';
import { RecordedEvent } from '../../event-store/event-store.port';
import { EsflowEventMetadata } from '../../workflow/event-metadata';
import { ReadModelDocument } from '../projection';
import { definitionVersionsProjection, stateCountsProjection } from './built-in-projections';

/** The documents of one projection in memory, as the read-model store would keep them. */
function memoryDocuments() {
  const collections = new Map<string, Map<string, ReadModelDocument>>();
  const of = (collection: string) =>
    collections.get(collection) ?? collections.set(collection, new Map()).get(collection)!;
  return {
    all: (collection: string) => [...of(collection).values()],
    get: async (collection: string, id: string) => of(collection).get(id),
    put: async (collection: string, id: string, document: ReadModelDocument) => {
      of(collection).set(id, document);
    },
    delete: async (collection: string, id: string) => {
      of(collection).delete(id);
    },
  };
}

/** One order's stream as esflow records it: [type, category, state before, state after]. */
const stream = (instanceId: string, events: [string, string, string | null, string][]) =>
  events.map(([type, category, stateBefore, stateAfter], revision) => ({
    recorded: { type, revision, streamName: `orderFulfillment-${instanceId}` } as RecordedEvent,
    metadata: {
      category,
      workflow: 'orderFulfillment',
      instanceId,
      stateBefore,
      stateAfter,
    } as unknown as EsflowEventMetadata,
    payload: async () => ({}),
  }));

describe('the workflow_stats projection', () => {
  it('moves each instance once per transition, whatever event caused it', async () => {
    const projection = stateCountsProjection(['orderFulfillment']);
    const documents = memoryDocuments();
    const events = [
      // Paid and shipped: client events, each followed by facts carrying the same states.
      ...stream('paid', [
        ['OrderPlaced', 'workflow', null, 'awaitingPayment'],
        ['TimerScheduled', 'framework', null, 'awaitingPayment'],
        ['PaymentReceived', 'workflow', 'awaitingPayment', 'fetchingGoods'],
        ['TimerCancelled', 'framework', 'awaitingPayment', 'fetchingGoods'],
      ]),
      // Cancelled by its payment window: the timer's TimerFired is the cause.
      ...stream('unpaid', [
        ['OrderPlaced', 'workflow', null, 'awaitingPayment'],
        ['TimerScheduled', 'framework', null, 'awaitingPayment'],
        ['TimerFired', 'framework', 'awaitingPayment', 'cancelled'],
        ['WorkflowCompleted', 'framework', 'awaitingPayment', 'cancelled'],
      ]),
      ...stream('waiting', [['OrderPlaced', 'workflow', null, 'awaitingPayment']]),
    ];
    for (const event of events) await projection.handle(event, documents);
    const counts = Object.fromEntries(
      documents.all('state_counts').map((doc) => [doc['stateKey'], doc['count']]),
    );
    expect(counts).toEqual({ awaitingPayment: 1, fetchingGoods: 1, cancelled: 1 });
  });
});

describe('the definition_versions projection', () => {
  it('counts an instance running until it completes or an operator terminates it', async () => {
    const projection = definitionVersionsProjection(['orderFulfillment']);
    const documents = memoryDocuments();
    const versioned = (events: ReturnType<typeof stream>) =>
      events.map((event) => ({
        ...event,
        metadata: { ...event.metadata, definitionVersion: 1 } as EsflowEventMetadata,
      }));
    const events = versioned([
      ...stream('done', [
        ['OrderPlaced', 'workflow', null, 'awaitingPayment'],
        ['OrderCancelled', 'workflow', 'awaitingPayment', 'cancelled'],
        ['WorkflowCompleted', 'framework', 'awaitingPayment', 'cancelled'],
      ]),
      ...stream('ended', [
        ['OrderPlaced', 'workflow', null, 'awaitingPayment'],
        ['TimerScheduled', 'framework', null, 'awaitingPayment'],
        ['InstanceTerminated', 'framework', 'awaitingPayment', 'awaitingPayment'],
        ['TimerCancelled', 'framework', 'awaitingPayment', 'awaitingPayment'],
      ]),
      ...stream('waiting', [['OrderPlaced', 'workflow', null, 'awaitingPayment']]),
    ]);
    for (const event of events) await projection.handle(event, documents);
    expect(documents.all('versions')).toEqual([
      { workflow: 'orderFulfillment', version: 1, instances: 3, running: 1, migratedOut: 0 },
    ]);
  });

  it('moves a migrated instance from its source version to its target', async () => {
    const projection = definitionVersionsProjection(['orderFulfillment']);
    const documents = memoryDocuments();
    const [placed, migrated, paid] = stream('moved', [
      ['OrderPlaced', 'workflow', null, 'awaitingPayment'],
      ['InstanceMigrated', 'framework', 'awaitingPayment', 'awaitingFunds'],
      ['PaymentReceived', 'workflow', 'awaitingFunds', 'fetchingGoods'],
    ]);
    const on = (event: typeof placed, version: number, payload = {}) => ({
      ...event!,
      metadata: { ...event!.metadata, definitionVersion: version } as EsflowEventMetadata,
      payload: async () => payload,
    });
    await projection.handle(on(placed, 1), documents);
    await projection.handle(on(migrated, 2, { fromVersion: 1, toVersion: 2 }), documents);
    await projection.handle(on(paid, 2), documents);
    expect(documents.all('versions')).toEqual([
      { workflow: 'orderFulfillment', version: 1, instances: 1, running: 0, migratedOut: 1 },
      { workflow: 'orderFulfillment', version: 2, instances: 1, running: 1, migratedOut: 0 },
    ]);
  });
});
