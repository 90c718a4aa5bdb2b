import { assign, createMachine } from 'xstate';
import type { AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { orderFulfillment, orderFulfillmentMachine } from '@esflow/example-order-fulfillment';
import { createTestEngine, INVOKING_SCHEMAS } from '../../../../test/support/engine-fixture';
import { invokingWorkflow } from '../../../../test/support/invoking-workflow';
import { defineWorkflow, WorkflowDefinition } from '../workflow/workflow-definition';
import { schemaNameOf } from '../engine/transition-planner';
import { Result } from '../errors/rejection';
import {
  contextDifferences,
  recordedContextOfSnapshot,
  replayInstance,
  ReplayEvent,
} from './replay-instance';

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

const order = (orderId: string) => ({
  orderId,
  customerId: 'customer-7',
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'SKU-1', quantity: 2 }],
});

/** Records orders through the real engine and returns each stream as a replay test reads it. */
async function recordedOrders(): Promise<Map<string, ReplayEvent[]>> {
  const { engine, store, codec, catalog } = await createTestEngine();
  const send = (id: string, type: string, payload: unknown) =>
    engine.sendEvent.handle({ workflow: 'orderFulfillment', id, type, payload }).then(valueOf);
  for (const id of ['shipped', 'failed', 'waiting']) {
    valueOf(await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: order(id) }));
  }
  await send('shipped', 'PaymentReceived', { paymentId: 'pay-1', amountCents: 4999 });
  await send('shipped', 'GoodsFetched', { warehouseId: 'wh-1' });
  await send('shipped', 'ShipmentDispatched', { trackingId: 'trk-1' });
  await send('failed', 'PaymentFailed', { reason: 'declined' });
  const streams = new Map<string, ReplayEvent[]>();
  for (const id of ['shipped', 'failed', 'waiting']) {
    const recorded = await store.readStream(`orderFulfillment-${id}`);
    const definition = catalog.latest('orderFulfillment')!;
    streams.set(
      id,
      await Promise.all(
        recorded.map(async (event) => ({
          streamName: event.streamName,
          revision: event.revision,
          type: event.type,
          eventId: event.eventId,
          metadata: event.metadata,
          payload: await codec.decode(schemaNameOf(definition, event.type), event.data),
        })),
      ),
    );
  }
  return streams;
}

/** orderFulfillment at the same version, its machine built from `machine`. */
function orderFulfillmentWith(machine: AnyStateMachine): WorkflowDefinition {
  return defineWorkflow({
    name: 'orderFulfillment',
    version: 1,
    machine,
    startEvent: 'OrderPlaced',
    commands: ['RefundPayment'],
    correlationKeys: {
      orderId: (context: { orderId: string }) => context.orderId,
      customerId: (context: { customerId: string }) => context.customerId,
    },
  } as never);
}

/** The config of orderFulfillment's machine with one transition of awaitingPayment replaced. */
function changedAwaitingPayment(on: Record<string, unknown>): AnyStateMachine {
  const config = orderFulfillmentMachine.config;
  const awaiting = config.states!['awaitingPayment']!;
  return createMachine(
    {
      ...config,
      states: {
        ...config.states,
        awaitingPayment: { ...awaiting, on: { ...(awaiting.on as object), ...on } },
      },
    } as never,
    orderFulfillmentMachine.implementations as never,
  );
}

describe('replayInstance', () => {
  it('finds every recorded instance the same through the definition it ran on', async () => {
    const streams = await recordedOrders();
    for (const [id, events] of streams) {
      const report = replayInstance(orderFulfillment, events);
      expect(report, id).toMatchObject({
        outcome: 'same',
        instanceId: id,
        streamName: `orderFulfillment-${id}`,
        workflow: 'orderFulfillment',
        version: 1,
        pinnedVersion: 1,
        events: events.length,
        // The start event's correlation keys were compared with the fold's context.
        contextsCompared: 1,
      });
      expect(report.divergence).toBeUndefined();
    }
    expect(streams.get('shipped')!.map((e) => e.type)).toContain('WorkflowCompleted');
  });

  it('reports the first event where a changed guard leads elsewhere, with both states', async () => {
    const streams = await recordedOrders();
    // A copy whose PaymentReceived now needs twice the order's amount: no payment is enough.
    const changed = orderFulfillmentWith(
      changedAwaitingPayment({
        PaymentReceived: {
          target: 'fetchingGoods',
          guard: ({ context, event }: { context: { amountCents: number }; event: never }) =>
            (event as { amountCents: number }).amountCents >= context.amountCents * 2,
          actions: assign({
            paymentId: ({ event }) => (event as unknown as { paymentId: string }).paymentId,
          }),
        },
      }),
    );
    const shipped = replayInstance(changed, streams.get('shipped')!);
    const paymentAt = streams.get('shipped')!.findIndex((e) => e.type === 'PaymentReceived');
    expect(shipped.outcome).toBe('diverged');
    expect(shipped.divergence).toMatchObject({
      eventIndex: paymentAt,
      revision: paymentAt,
      eventType: 'PaymentReceived',
      aspect: 'state',
      expectedState: 'fetchingGoods',
      foundState: 'awaitingPayment',
      expectedStatus: 'running',
      foundStatus: 'running',
    });
    expect(shipped.divergence!.summary).toBe(
      `after PaymentReceived (revision ${paymentAt}): expected state "fetchingGoods", found "awaitingPayment"`,
    );
    // The instances that never received a payment are unaffected by the change.
    expect(replayInstance(changed, streams.get('failed')!).outcome).toBe('same');
    expect(replayInstance(changed, streams.get('waiting')!).outcome).toBe('same');
  });

  it('catches a changed assign through the correlation keys recorded at the start', async () => {
    const streams = await recordedOrders();
    const machine = orderFulfillmentMachine.config;
    const changed = orderFulfillmentWith(
      createMachine(
        {
          ...machine,
          context: (args: { input: { orderId: string } }) => ({
            ...(machine.context as unknown as (a: unknown) => Record<string, unknown>)(args),
            orderId: args.input.orderId.toUpperCase(),
          }),
        } as never,
        orderFulfillmentMachine.implementations as never,
      ),
    );
    const report = replayInstance(changed, streams.get('waiting')!);
    expect(report.outcome).toBe('diverged');
    expect(report.divergence).toMatchObject({
      eventIndex: 0,
      eventType: 'OrderPlaced',
      aspect: 'correlationKeys',
      contextDiff: [{ path: 'correlationKeys.orderId', expected: 'waiting', found: 'WAITING' }],
    });
  });

  it('compares the whole context where one was recorded (a snapshot)', async () => {
    const events = (await recordedOrders()).get('shipped')!;
    const last = events.at(-1)!;
    const recorded = {
      revision: last.revision,
      source: 'snapshot',
      context: { ...shippedContext(events), trackingId: 'trk-other' },
    };
    const report = replayInstance(orderFulfillment, events, { recordedContexts: [recorded] });
    expect(report.outcome).toBe('diverged');
    expect(report.divergence).toMatchObject({
      revision: last.revision,
      aspect: 'context',
      contextDiff: [{ path: 'context.trackingId', expected: 'trk-other', found: 'trk-1' }],
    });
    expect(report.divergence!.summary).toBe(
      `after WorkflowCompleted (revision ${last.revision}): in state "completed" as recorded, the context differs from the snapshot's: context.trackingId expected "trk-other", found "trk-1"`,
    );
    const same = replayInstance(orderFulfillment, events, {
      recordedContexts: [{ ...recorded, context: shippedContext(events) }],
    });
    expect(same).toMatchObject({ outcome: 'same', contextsCompared: 2 });
  });

  it('says a machine whose assign reads Math.random is not deterministic', async () => {
    const streams = await recordedOrders();
    const random = orderFulfillmentWith(
      changedAwaitingPayment({
        PaymentReceived: {
          target: 'fetchingGoods',
          actions: assign({ paymentId: () => `pay-${Math.random()}` }),
        },
      }),
    );
    const report = replayInstance(random, streams.get('shipped')!);
    expect(report.outcome).toBe('nondeterministic');
    expect(report.divergence).toMatchObject({
      eventType: 'PaymentReceived',
      aspect: 'context',
      expectedState: 'fetchingGoods',
      foundState: 'fetchingGoods',
    });
    expect(report.divergence!.contextDiff!.map((d) => d.path)).toEqual(['context.paymentId']);
    expect(report.divergence!.summary).toMatch(
      /^not deterministic: two folds of the same events differ: context.paymentId expected "pay-0\.\d+", found "pay-0\.\d+" \(after PaymentReceived, revision 2\)$/,
    );
  });

  it('says a guard that alternates between folds is not deterministic', async () => {
    const streams = await recordedOrders();
    let calls = 0;
    const flipping = orderFulfillmentWith(
      changedAwaitingPayment({
        PaymentReceived: { target: 'fetchingGoods', guard: () => calls++ % 2 === 0 },
      }),
    );
    const report = replayInstance(flipping, streams.get('shipped')!);
    expect(report.outcome).toBe('nondeterministic');
    expect(report.divergence).toMatchObject({
      eventType: 'PaymentReceived',
      aspect: 'state',
      expectedState: 'fetchingGoods',
      foundState: 'awaitingPayment',
    });
  });

  it('reports a guard that throws as failed, naming the event', async () => {
    const streams = await recordedOrders();
    const throwing = orderFulfillmentWith(
      changedAwaitingPayment({
        PaymentFailed: {
          target: 'cancelled',
          guard: () => {
            throw new Error('no reasons accepted');
          },
        },
      }),
    );
    const report = replayInstance(throwing, streams.get('failed')!);
    expect(report.outcome).toBe('failed');
    expect(report.failure).toMatchObject({ eventType: 'PaymentFailed', revision: 2 });
    expect(report.failure!.message).toContain('no reasons accepted');
  });

  it('refuses a stream of another workflow, and an empty one', async () => {
    const events = (await recordedOrders()).get('waiting')!;
    const other = invokingWorkflow('invoking', true);
    expect(replayInstance(other, events)).toMatchObject({
      outcome: 'failed',
      failure: { message: 'the stream is an instance of orderFulfillment, not of invoking' },
    });
    expect(replayInstance(orderFulfillment, []).outcome).toBe('failed');
  });

  it('replays an instance an operator terminated (status terminated, as recorded)', async () => {
    const { engine, store, codec } = await createTestEngine();
    valueOf(
      await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: order('t-1') }),
    );
    valueOf(
      await engine.terminate.handle({
        workflow: 'orderFulfillment',
        id: 't-1',
        reason: 'customer asked',
        operator: 'ops',
      }),
    );
    const events = await Promise.all(
      (await store.readStream('orderFulfillment-t-1')).map(async (event) => ({
        ...event,
        payload: await codec.decode(schemaNameOf(orderFulfillment, event.type), event.data),
      })),
    );
    expect(events.map((e) => e.metadata['statusAfter'])).toContain('terminated');
    expect(replayInstance(orderFulfillment, events)).toMatchObject({ outcome: 'same' });
  });

  it('replays an invoked command whose outcome moves the machine (a framework fact as cause)', async () => {
    const definition = invokingWorkflow('invoking', true);
    const { engine, store, codec } = await createTestEngine({
      definitions: [definition],
      schemas: INVOKING_SCHEMAS,
    });
    valueOf(
      await engine.startWorkflow.handle({
        workflow: 'invoking',
        id: 'j-1',
        input: { jobId: 'j-1' },
      }),
    );
    const view = valueOf(await engine.queries.get('invoking', 'j-1'));
    const command = view.inFlightCommands[0]!;
    valueOf(
      await engine.commands.complete({
        workflow: 'invoking',
        id: 'j-1',
        commandId: command.commandId,
        attempts: 1,
        output: { result: 'ok' },
      }),
    );
    const events = await Promise.all(
      (await store.readStream('invoking-j-1')).map(async (event) => ({
        ...event,
        payload: await codec.decode(schemaNameOf(definition, event.type), event.data),
      })),
    );
    expect(events.map((e) => e.type)).toContain('CommandCompleted');
    expect(replayInstance(definition, events)).toMatchObject({ outcome: 'same' });
  });
});

/** The shipped order's context, as the engine keeps it after its last event. */
function shippedContext(events: readonly ReplayEvent[]): Record<string, unknown> {
  return {
    ...events[0]!.payload,
    paymentId: 'pay-1',
    warehouseId: 'wh-1',
    trackingId: 'trk-1',
    cancellationReason: null,
    paymentWindowSeconds: 1800,
  };
}

describe('contextDifferences', () => {
  it('lists differing values by path, absent ones as undefined', () => {
    expect(
      contextDifferences({ a: 1, b: { c: [1, 2] }, d: 'x' }, { a: 1, b: { c: [1, 3] }, e: 'y' }),
    ).toEqual([
      { path: 'context.b.c[1]', expected: 2, found: 3 },
      { path: 'context.d', expected: 'x', found: undefined },
      { path: 'context.e', expected: undefined, found: 'y' },
    ]);
  });
});

describe('recordedContextOfSnapshot', () => {
  it("reads the context, state and last event of the engine's snapshot encoding", () => {
    const data = JSON.stringify({
      format: 1,
      revision: 7,
      lastEventId: 'e-7',
      machine: { value: 'shipping', context: { orderId: 'o-1' } },
    });
    expect(recordedContextOfSnapshot(data)).toEqual({
      revision: 7,
      lastEventId: 'e-7',
      state: 'shipping',
      context: { orderId: 'o-1' },
      source: 'snapshot',
    });
    expect(recordedContextOfSnapshot('{"format":2}')).toBeUndefined();
    expect(recordedContextOfSnapshot('not json')).toBeUndefined();
  });
});
