import { assign, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '@esflow/testing';
import { orderFulfillment, orderFulfillmentMachine } from '@esflow/example-order-fulfillment';
import { ErrorCode } from '../errors/esflow-error';
import { Result } from '../errors/rejection';
import { createMemoryEventStore } from '../event-store/memory-event-store';
import { createMemorySnapshotStore } from '../snapshots/snapshot-store.port';
import { readEsflowMetadata } from '../workflow/event-metadata';
import { defineWorkflow } from '../workflow/workflow-definition';
import { foldInstance } from '../workflow/instance-state';
import { replayInstance } from '../replay/replay-instance';
import { anOrder, createTestEngine } from '../../../../test/support/engine-fixture';

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}
function rejectionOf<T>(result: Result<T>) {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.value)}`);
  return result.rejection;
}

const workflow = 'orderFulfillment';
const pay = { type: 'PaymentReceived', payload: { paymentId: 'p-1', amountCents: 4999 } };
const v1States = orderFulfillmentMachine.config.states!;

/**
 * v2 of the example for these tests: `awaitingPayment` renamed `awaitingFunds` (the same
 * payment window), a `riskScore` in the context that v1 instances get from `contextFrom` and
 * that must be a number from 0 to 100.
 */
const v2 = defineWorkflow({
  name: workflow,
  startEvent: 'OrderPlaced',
  instanceIdFrom: orderFulfillment.instanceIdFrom,
  correlationKeys: orderFulfillment.correlationKeys,
  messages: {
    PaymentReceived: { correlateBy: 'orderId' },
    ShipmentDispatched: { correlateBy: 'orderId' },
  },
  version: 2,
  machine: setup({
    types: {} as {
      context: Record<string, unknown> & { riskScore: number; paymentWindowSeconds: number };
      events: { type: string; [field: string]: unknown };
    },
    delays: { paymentWindow: ({ context }) => context.paymentWindowSeconds * 1000 },
  }).createMachine({
    id: 'orderFulfillment',
    initial: 'awaitingFunds',
    context: ({ input }) => ({
      ...(input as Record<string, unknown>),
      paymentWindowSeconds: 1800,
      riskScore: 0,
    }),
    states: {
      awaitingFunds: {
        after: { paymentWindow: { target: 'cancelled' } },
        on: {
          PaymentReceived: {
            target: 'fetchingGoods',
            actions: assign({ paymentId: ({ event }) => event['paymentId'] as string }),
          },
          OrderCancelled: { target: 'cancelled' },
        },
      },
      fetchingGoods: v1States['fetchingGoods'] as never,
      refunding: v1States['refunding'] as never,
      shipping: v1States['shipping'] as never,
      completed: { type: 'final' },
      cancelled: { type: 'final', meta: { status: 'cancelled' } },
    },
  }),
  commands: ['RefundPayment'],
  migrations: {
    contextFrom: { 1: (context: unknown) => ({ ...(context as object), riskScore: 10 }) as never },
    validateContext: (context: unknown) => {
      const score = (context as { riskScore?: unknown }).riskScore;
      return typeof score === 'number' && score >= 0 && score <= 100
        ? []
        : [{ path: 'riskScore', message: 'must be a number from 0 to 100' }];
    },
  },
} as never);

async function engineWithBoth(
  options: { clock?: ManualClock; store?: ReturnType<typeof createMemoryEventStore> } = {},
) {
  return createTestEngine({ definitions: [orderFulfillment, v2], ...options });
}

describe('migrating an instance to another definition version', () => {
  /** A v1 order (started by a process that knew only v1), then an engine with v1 and v2. */
  async function v1OrderThenBoth(id: string, clock = new ManualClock('2026-03-01T10:00:00.000Z')) {
    const store = createMemoryEventStore();
    const v1Only = await createTestEngine({ store, clock });
    valueOf(await v1Only.engine.startWorkflow.handle({ workflow, input: anOrder(id) }));
    return { ...(await engineWithBoth({ store, clock })), clock };
  }

  it('records InstanceMigrated, moves the payment window to the renamed state, and runs on v2', async () => {
    const { engine, store, clock } = await v1OrderThenBoth('m-1');
    const before = valueOf(await engine.queries.get(workflow, 'm-1'));
    expect(before.version).toBe(1);
    const [timer] = before.pendingTimers;

    const migrated = valueOf(
      await engine.migrate.handle({
        workflow,
        id: 'm-1',
        toVersion: 2,
        stateMapping: { awaitingPayment: 'awaitingFunds' },
        operator: 'alice',
        reason: 'v2 rollout',
      }),
    );
    expect(migrated.plan).toMatchObject({
      fromVersion: 1,
      toVersion: 2,
      fromState: 'awaitingPayment',
      toState: 'awaitingFunds',
      stateMapping: { awaitingPayment: 'awaitingFunds' },
      context: { riskScore: 10, orderId: 'm-1' },
      timers: {
        kept: [],
        moved: [
          {
            timerId: timer!.timerId,
            eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingFunds',
          },
        ],
        cancelled: [],
      },
    });
    expect(migrated.instance).toMatchObject({ version: 2, state: 'awaitingFunds' });
    expect(migrated.instance.pendingTimers).toEqual([
      {
        timerId: expect.not.stringMatching(timer!.timerId),
        eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingFunds',
        dueAt: timer!.dueAt,
      },
    ]);
    const events = await store.readStream('orderFulfillment-m-1');
    expect(events.slice(2).map((e) => e.type)).toEqual([
      'InstanceMigrated',
      'TimerCancelled',
      'TimerScheduled',
    ]);
    expect(readEsflowMetadata(events[2]!.metadata)).toMatchObject({
      definitionVersion: 2,
      stateBefore: 'awaitingPayment',
      stateAfter: 'awaitingFunds',
      actor: 'alice',
    });

    // It advances on v2 — and its moved timer fires into v2's transition.
    clock.advance(31 * 60 * 1000);
    const [moved] = migrated.instance.pendingTimers;
    const fired = valueOf(
      await engine.fireTimer.handle({ workflow, id: 'm-1', timerId: moved!.timerId }),
    );
    expect(fired).toMatchObject({ outcome: 'fired', instance: { state: 'cancelled' } });
  });

  it('is replayed from the stream after a restart, and from a snapshot taken after it', async () => {
    const { store, clock } = await v1OrderThenBoth('m-2');
    const first = await engineWithBoth({ store, clock });
    valueOf(
      await first.engine.migrate.handle({
        workflow,
        id: 'm-2',
        toVersion: 2,
        stateMapping: { awaitingPayment: 'awaitingFunds' },
        operator: 'alice',
      }),
    );
    valueOf(await first.engine.sendEvent.handle({ workflow, id: 'm-2', ...pay }));

    // A new process: nothing cached; the stream alone says where it is.
    const restarted = await engineWithBoth({ store, clock });
    const read = valueOf(await restarted.engine.queries.get(workflow, 'm-2'));
    expect(read).toMatchObject({
      version: 2,
      state: 'fetchingGoods',
      context: { riskScore: 10, paymentId: 'p-1' },
    });

    const snapshots = createMemorySnapshotStore();
    const snapshotting = await createTestEngine({
      definitions: [orderFulfillment, v2],
      store,
      clock,
      snapshots: { store: snapshots, policy: { every: 1 } },
    });
    valueOf(
      await snapshotting.engine.sendEvent.handle({
        workflow,
        id: 'm-2',
        type: 'GoodsFetched',
        payload: { warehouseId: 'w-1' },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    const fromSnapshot = await createTestEngine({
      definitions: [orderFulfillment, v2],
      store,
      clock,
      snapshots: { store: snapshots },
    });
    expect(valueOf(await fromSnapshot.engine.queries.get(workflow, 'm-2'))).toMatchObject({
      version: 2,
      state: 'shipping',
    });
    expect(fromSnapshot.engine.snapshotStats().restored).toBe(1);
  });

  it('refuses a state the target lacks, an unmapped one, and a context it refuses, writing nothing', async () => {
    const { engine, store } = await v1OrderThenBoth('m-3');
    const length = (await store.readStream('orderFulfillment-m-3')).length;
    const refusal = async (command: object) =>
      rejectionOf(
        await engine.migrate.handle({
          workflow,
          id: 'm-3',
          toVersion: 2,
          operator: 'alice',
          ...command,
        }),
      );

    expect(await refusal({ stateMapping: { awaitingPayment: 'awaitingCash' } })).toMatchObject({
      code: ErrorCode.MigrationRefused,
      fromVersion: 1,
      toVersion: 2,
      errors: [{ path: 'stateMapping.awaitingPayment', message: 'v2 has no state awaitingCash' }],
    });
    expect((await refusal({})) as object).toMatchObject({
      errors: [{ path: 'state', message: expect.stringContaining('map it') }],
    });
    expect(await refusal({ stateMapping: { awaitingPayment: 'completed' } })).toMatchObject({
      errors: [{ path: 'stateMapping.awaitingPayment', message: expect.stringContaining('final') }],
    });
    expect(
      await refusal({
        stateMapping: { awaitingPayment: 'awaitingFunds' },
        contextPatch: { riskScore: 'high' },
      }),
    ).toMatchObject({
      errors: [{ path: 'context.riskScore', message: 'must be a number from 0 to 100' }],
    });
    expect(await refusal({ toVersion: 7 })).toMatchObject({
      errors: [{ path: 'toVersion', message: expect.stringContaining('v1, v2') }],
    });
    expect(await refusal({ toVersion: 1 })).toMatchObject({
      errors: [{ path: 'toVersion', message: 'the instance runs on v1 already' }],
    });
    expect((await store.readStream('orderFulfillment-m-3')).length).toBe(length);
  });

  it('refuses a timer that has no place in the target, or cancels it when asked', async () => {
    const { engine, store } = await v1OrderThenBoth('m-4');
    // fetchingGoods exists in v2; the payment window's timer cannot follow into it.
    const refused = rejectionOf(
      await engine.migrate.handle({
        workflow,
        id: 'm-4',
        toVersion: 2,
        stateMapping: { awaitingPayment: 'fetchingGoods' },
        operator: 'alice',
      }),
    );
    expect(refused).toMatchObject({
      code: ErrorCode.MigrationRefused,
      errors: [{ path: expect.stringMatching(/^timers\./), message: expect.any(String) }],
    });
    const dryRun = valueOf(
      await engine.migrate.handle({
        workflow,
        id: 'm-4',
        toVersion: 2,
        stateMapping: { awaitingPayment: 'fetchingGoods' },
        unmappable: 'cancel',
        dryRun: true,
        operator: 'alice',
      }),
    );
    expect(dryRun).toMatchObject({ dryRun: true, instance: { version: 1 } });
    expect(dryRun.plan.timers.cancelled).toHaveLength(1);
    expect(await store.readStream('orderFulfillment-m-4')).toHaveLength(2);

    const cancelled = valueOf(
      await engine.migrate.handle({
        workflow,
        id: 'm-4',
        toVersion: 2,
        stateMapping: { awaitingPayment: 'fetchingGoods' },
        unmappable: 'cancel',
        operator: 'alice',
      }),
    );
    expect(cancelled.instance).toMatchObject({
      version: 2,
      state: 'fetchingGoods',
      pendingTimers: [],
    });
    expect((await store.readStream('orderFulfillment-m-4')).slice(2).map((e) => e.type)).toEqual([
      'InstanceMigrated',
      'TimerCancelled',
    ]);
  });

  it('refuses a message waiting for the instance that the target no longer declares', async () => {
    const { engine } = await v1OrderThenBoth('m-5');
    const refused = rejectionOf(
      await engine.migrate.handle({
        workflow,
        id: 'm-5',
        toVersion: 2,
        stateMapping: { awaitingPayment: 'awaitingFunds' },
        waitingMessages: [
          { messageId: 'msg-1', name: 'ShipmentDispatched' },
          { messageId: 'msg-2', name: 'GiftWrapRequested' },
        ],
        operator: 'alice',
      }),
    );
    expect(refused).toMatchObject({
      errors: [{ path: 'messages.msg-2', message: expect.stringContaining('GiftWrapRequested') }],
    });
  });

  it('refuses an instance that is not running, and a stale If-Match', async () => {
    const { engine } = await v1OrderThenBoth('m-6');
    expect(
      rejectionOf(
        await engine.migrate.handle({
          workflow,
          id: 'm-6',
          toVersion: 2,
          stateMapping: { awaitingPayment: 'awaitingFunds' },
          expectedRevision: 0,
          operator: 'alice',
        }),
      ),
    ).toMatchObject({ code: ErrorCode.RevisionConflict, actualRevision: 1 });
    valueOf(
      await engine.terminate.handle({ workflow, id: 'm-6', reason: 'gone', operator: 'alice' }),
    );
    expect(
      rejectionOf(
        await engine.migrate.handle({
          workflow,
          id: 'm-6',
          toVersion: 2,
          stateMapping: { awaitingPayment: 'awaitingFunds' },
          operator: 'alice',
        }),
      ),
    ).toMatchObject({ code: ErrorCode.InstanceNotRunning, instanceStatus: 'terminated' });
  });

  it('folds a migrated stream through the versions it names, and the replay test agrees', async () => {
    const { engine, store, catalog } = await v1OrderThenBoth('m-7');
    valueOf(
      await engine.migrate.handle({
        workflow,
        id: 'm-7',
        toVersion: 2,
        stateMapping: { awaitingPayment: 'awaitingFunds' },
        operator: 'alice',
      }),
    );
    valueOf(await engine.sendEvent.handle({ workflow, id: 'm-7', ...pay }));
    const events = await store.readStream('orderFulfillment-m-7');
    const history = valueOf(await engine.queries.history(workflow, 'm-7'));
    const payloads = (revision: number) => history[revision]!.data;
    // Without the versions a migration names, the fold stops there, saying why.
    expect(() =>
      foldInstance(
        orderFulfillment,
        'm-7',
        events.map((recorded) => ({ recorded, payload: payloads(recorded.revision) })),
      ),
    ).toThrow(/migrated orderFulfillment to v2, which this process does not define/);
    // The replay test folds it like the engine does, when it knows the versions.
    const decoded = events.map((recorded) => ({
      eventId: recorded.eventId,
      type: recorded.type,
      streamName: recorded.streamName,
      revision: recorded.revision,
      metadata: recorded.metadata,
      payload: payloads(recorded.revision),
    }));
    const report = replayInstance(orderFulfillment, decoded, {
      versionOf: (version) => catalog.version(workflow, version),
    });
    expect(report.outcome).toBe('same');
  });
});
