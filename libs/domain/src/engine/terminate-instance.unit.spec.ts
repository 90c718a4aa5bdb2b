import { describe, expect, it } from 'vitest';
import { ManualClock } from '@esflow/testing';
import { ErrorCode } from '../errors/esflow-error';
import { Result } from '../errors/rejection';
import { readEsflowMetadata } from '../workflow/event-metadata';
import { createMemorySnapshotStore } from '../snapshots/snapshot-store.port';
import { anOrder, createTestEngine } from '../../../../test/support/engine-fixture';
import type { WorkflowEngine } from './workflow-engine';

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

async function send(engine: WorkflowEngine, id: string, type: string, payload: object) {
  return valueOf(await engine.sendEvent.handle({ workflow, id, type, payload }));
}

/** An order whose goods were unavailable: RefundPayment in flight, no timer pending. */
async function aRefundingOrder(engine: WorkflowEngine, id: string) {
  valueOf(await engine.startWorkflow.handle({ workflow, input: anOrder(id) }));
  await send(engine, id, pay.type, pay.payload);
  const refunding = await send(engine, id, 'GoodsUnavailable', { sku: 'SKU-1' });
  return refunding.instance.inFlightCommands[0]!.commandId;
}

describe('terminating an instance', () => {
  it('records InstanceTerminated and cancels its pending timer in one append; status terminated', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00.000Z');
    const { engine, store } = await createTestEngine({ clock });
    const started = valueOf(
      await engine.startWorkflow.handle({
        workflow,
        input: { ...anOrder('term-1'), paymentWindowSeconds: 60 },
        actor: 'alice',
      }),
    );
    const { timerId } = started.instance.pendingTimers[0]!;

    const terminated = valueOf(
      await engine.terminate.handle({
        workflow,
        id: 'term-1',
        reason: 'customer asked by phone',
        operator: 'bob',
        expectedRevision: 1,
      }),
    );
    expect(terminated).toMatchObject({
      revision: 3,
      cancelledTimers: [timerId],
      withdrawnCommands: [],
      instance: {
        state: 'awaitingPayment',
        status: 'terminated',
        revision: 3,
        pendingTimers: [],
        acceptedEvents: [],
      },
    });

    const events = await store.readStream('orderFulfillment-term-1');
    expect(events.map((e) => e.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'InstanceTerminated',
      'TimerCancelled',
    ]);
    const [, , fact, cancel] = events.map((e) => ({ ...e, meta: readEsflowMetadata(e.metadata) }));
    // One append: the same occurredAt, the cancel caused by the termination.
    expect(cancel!.meta.occurredAt).toBe(fact!.meta.occurredAt);
    expect(cancel!.meta.causationId).toBe(fact!.eventId);
    for (const event of [fact!, cancel!])
      expect(event.meta).toMatchObject({
        category: 'framework',
        actor: 'bob',
        stateBefore: 'awaitingPayment',
        stateAfter: 'awaitingPayment',
        statusAfter: 'terminated',
      });
    expect(readEsflowMetadata(events[0]!.metadata).actor).toBe('alice');
    const history = valueOf(await engine.queries.history(workflow, 'term-1'));
    expect(history[2]!.data).toEqual({
      reason: 'customer asked by phone',
      operator: 'bob',
      stateAtTermination: '"awaitingPayment"',
    });
    expect(history[3]!.data).toMatchObject({
      timerId,
      cancelledByEventType: 'InstanceTerminated',
      cancelledByRevision: 2,
    });

    // Its timer never fires, even once due; an event is refused as by a finished instance.
    clock.advance(120_000);
    expect(
      valueOf(await engine.fireTimer.handle({ workflow, id: 'term-1', timerId })),
    ).toMatchObject({ outcome: 'notPending', instance: { status: 'terminated' } });
    const refused = rejectionOf(await engine.sendEvent.handle({ workflow, id: 'term-1', ...pay }));
    expect(refused).toMatchObject({
      code: ErrorCode.EventNotAccepted,
      state: 'awaitingPayment',
      acceptedEvents: [],
    });
    expect(refused.message).toMatch(/terminated at revision 2 by bob \(customer asked by phone\)/);
    expect(await store.readStream('orderFulfillment-term-1')).toHaveLength(4);
  });

  it('withdraws its commands in flight in the same append; a late completion finds nothing', async () => {
    const { engine, store } = await createTestEngine();
    const commandId = await aRefundingOrder(engine, 'term-2');
    const before = (await store.readStream('orderFulfillment-term-2')).length;
    const terminated = valueOf(
      await engine.terminate.handle({
        workflow,
        id: 'term-2',
        reason: 'refund settled by the bank',
        operator: 'ops-key',
      }),
    );
    expect(terminated.withdrawnCommands).toEqual([commandId]);
    expect(terminated.instance).toMatchObject({
      state: 'refunding',
      status: 'terminated',
      inFlightCommands: [],
      incidents: [],
    });
    const appended = (await store.readStream('orderFulfillment-term-2')).slice(before);
    expect(appended.map((e) => e.type)).toEqual(['InstanceTerminated', 'CommandWithdrawn']);
    const history = valueOf(await engine.queries.history(workflow, 'term-2'));
    expect(history.at(-1)!.data).toMatchObject({
      commandId,
      commandType: 'RefundPayment',
      withdrawnByEventType: 'InstanceTerminated',
    });

    const late = await engine.commands.complete({
      workflow,
      id: 'term-2',
      commandId,
      attempts: 1,
      reply: { type: 'PaymentRefunded', payload: { refundId: 'r-1' } },
    });
    expect(valueOf(late)).toMatchObject({ outcome: 'notInFlight' });
    expect(await store.readStream('orderFulfillment-term-2')).toHaveLength(before + 2);
  });

  it('folds to terminated on replay: a fresh engine, and one restoring a snapshot', async () => {
    const snapshots = createMemorySnapshotStore();
    const { engine, store } = await createTestEngine({
      snapshots: { store: snapshots, policy: { every: 1 } },
    });
    const commandId = await aRefundingOrder(engine, 'term-3');
    valueOf(
      await engine.terminate.handle({ workflow, id: 'term-3', reason: 'fraud', operator: 'carol' }),
    );
    await new Promise((resolve) => setImmediate(resolve)); // the snapshot write is not awaited
    const replayed = await createTestEngine({ store });
    const restored = await createTestEngine({ store, snapshots: { store: snapshots } });
    for (const { engine: fresh } of [replayed, restored]) {
      expect(valueOf(await fresh.queries.get(workflow, 'term-3'))).toMatchObject({
        state: 'refunding',
        status: 'terminated',
        acceptedEvents: [],
        inFlightCommands: [],
        pendingTimers: [],
      });
      expect(
        rejectionOf(
          await fresh.terminate.handle({ workflow, id: 'term-3', reason: 'x', operator: 'y' }),
        ),
      ).toMatchObject({ code: ErrorCode.InstanceNotRunning, instanceStatus: 'terminated' });
      expect(
        valueOf(await fresh.commands.complete({ workflow, id: 'term-3', commandId, attempts: 1 })),
      ).toMatchObject({ outcome: 'notInFlight' });
    }
    expect(restored.engine.snapshotStats().restored).toBe(1);
  });

  it('refuses a finished instance, a bad reason or operator, a stale If-Match, and writes nothing', async () => {
    const { engine, store } = await createTestEngine();
    valueOf(await engine.startWorkflow.handle({ workflow, input: anOrder('term-4') }));
    valueOf(await engine.startWorkflow.handle({ workflow, input: anOrder('term-5') }));
    await send(engine, 'term-5', 'OrderCancelled', { reason: 'changed mind' });
    const head = async () => (await store.readAll({ direction: 'backwards', maxCount: 1 }))[0];
    const before = await head();
    const terminate = (fields: Partial<Parameters<WorkflowEngine['terminate']['handle']>[0]>) =>
      engine.terminate.handle({
        workflow,
        id: 'term-4',
        reason: 'a reason',
        operator: 'dave',
        ...fields,
      });

    expect(rejectionOf(await terminate({ id: 'term-5' }))).toMatchObject({
      code: ErrorCode.InstanceNotRunning,
      instanceStatus: 'cancelled',
      state: 'cancelled',
    });
    for (const reason of ['', '   ', 'r'.repeat(2001)])
      expect(rejectionOf(await terminate({ reason }))).toMatchObject({
        code: ErrorCode.MalformedRequest,
        errors: [{ path: 'reason' }],
      });
    expect(rejectionOf(await terminate({ operator: '' }))).toMatchObject({
      code: ErrorCode.MalformedRequest,
      errors: [{ path: 'operator' }],
    });
    expect(rejectionOf(await terminate({ expectedRevision: 0 }))).toMatchObject({
      code: ErrorCode.RevisionConflict,
      expectedRevision: 0,
      actualRevision: 1,
    });
    expect(rejectionOf(await terminate({ id: 'nobody' }))).toMatchObject({
      code: ErrorCode.InstanceNotFound,
    });
    expect(rejectionOf(await terminate({ workflow: 'noSuchFlow' }))).toMatchObject({
      code: ErrorCode.WorkflowNotFound,
    });
    expect((await head())?.position).toEqual(before?.position);

    // Terminated once, a second termination is refused the same way.
    valueOf(await terminate({}));
    expect(rejectionOf(await terminate({}))).toMatchObject({
      code: ErrorCode.InstanceNotRunning,
      instanceStatus: 'terminated',
    });
  });

  it('terminates an instance grown to its size limit, which takes no event any more', async () => {
    const { engine } = await createTestEngine({ limits: { maxInstanceBytes: 1024 } });
    const input = { ...anOrder('term-7'), customerId: 'c'.repeat(720) };
    valueOf(await engine.startWorkflow.handle({ workflow, input }));
    expect(
      rejectionOf(await engine.sendEvent.handle({ workflow, id: 'term-7', ...pay })),
    ).toMatchObject({ code: ErrorCode.InstanceTooLarge });
    const terminated = valueOf(
      await engine.terminate.handle({
        workflow,
        id: 'term-7',
        reason: 'stuck at its size limit',
        operator: 'frank',
      }),
    );
    expect(terminated.instance).toMatchObject({ status: 'terminated', pendingTimers: [] });
  });

  it('makes the instance no target of a message any more', async () => {
    const { engine } = await createTestEngine();
    valueOf(await engine.startWorkflow.handle({ workflow, input: anOrder('term-6') }));
    valueOf(
      await engine.terminate.handle({ workflow, id: 'term-6', reason: 'test', operator: 'eve' }),
    );
    const target = await engine.messageTargets.inspect(workflow, 'term-6', {
      messageId: 'm-1',
      eventType: pay.type,
      payload: pay.payload,
    });
    expect(target).toMatchObject({ status: 'terminated', acceptsNow: false });
    expect(target!.mayAcceptLater()).toBe(false);
  });
});
