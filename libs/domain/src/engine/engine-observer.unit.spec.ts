import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../event-store/memory-event-store';
import { anOrder, createTestEngine } from '../../../../test/support/engine-fixture';
import { EngineObserver, ObservedTransition, UNKNOWN_LABEL } from './engine-observer';

/** An observer that keeps everything it is told, in order. */
function recordingObserver() {
  const transitions: ObservedTransition[] = [];
  const conflicts: [string, string][] = [];
  const appends: { workflow: string; events: number; durationMs: number }[] = [];
  const observer: EngineObserver = {
    transition: (transition) => transitions.push(transition),
    revisionConflict: (workflow, resolution) => conflicts.push([workflow, resolution]),
    appended: (workflow, events, durationMs) => appends.push({ workflow, events, durationMs }),
  };
  return { observer, transitions, conflicts, appends };
}

const paid = { type: 'PaymentReceived', payload: { paymentId: 'p', amountCents: 4999 } };

describe('the engine observer', () => {
  it('is told of each start and send: recorded, replayed and rejected with its code', async () => {
    const seen = recordingObserver();
    const { engine } = await createTestEngine({ observer: seen.observer });
    const workflow = 'orderFulfillment';
    await engine.startWorkflow.handle({ workflow, input: anOrder('o-1') });
    await engine.sendEvent.handle({ workflow, id: 'o-1', ...paid, idempotencyKey: 'k' });
    await engine.sendEvent.handle({ workflow, id: 'o-1', ...paid, idempotencyKey: 'k' });
    // Accepted no more: the instance left awaitingPayment.
    await engine.sendEvent.handle({ workflow, id: 'o-1', ...paid });
    await engine.sendEvent.handle({ workflow, id: 'o-1', type: 'PaymentReceived', payload: {} });

    expect(seen.transitions).toEqual([
      { workflow, eventType: 'OrderPlaced', outcome: 'recorded' },
      { workflow, eventType: 'PaymentReceived', outcome: 'recorded' },
      { workflow, eventType: 'PaymentReceived', outcome: 'replayed' },
      {
        workflow,
        eventType: 'PaymentReceived',
        outcome: 'rejected',
        code: 'EVENT_NOT_ACCEPTED',
      },
      {
        workflow,
        eventType: 'PaymentReceived',
        outcome: 'rejected',
        code: 'SCHEMA_VALIDATION_FAILED',
      },
    ]);
    // Two appends, each timed, with the events it carried: the start and its timer, the payment
    // and the timer it cancelled.
    expect(seen.appends.map(({ workflow: w, events }) => [w, events])).toEqual([
      [workflow, 2],
      [workflow, 2],
    ]);
    expect(seen.appends.every(({ durationMs }) => durationMs >= 0)).toBe(true);
  });

  it("never labels with what a caller made up: an unknown workflow or event type is '(unknown)'", async () => {
    const seen = recordingObserver();
    const { engine } = await createTestEngine({ observer: seen.observer });
    await engine.startWorkflow.handle({ workflow: 'order-9f3a', input: anOrder('o-2') });
    await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder('o-2') });
    await engine.sendEvent.handle({
      workflow: 'orderFulfillment',
      id: 'o-2',
      type: 'Payment-for-o-2',
      payload: {},
    });
    expect(seen.transitions.map((t) => [t.workflow, t.eventType, t.outcome, t.code])).toEqual([
      [UNKNOWN_LABEL, UNKNOWN_LABEL, 'rejected', 'WORKFLOW_NOT_FOUND'],
      ['orderFulfillment', 'OrderPlaced', 'recorded', undefined],
      ['orderFulfillment', UNKNOWN_LABEL, 'rejected', 'UNKNOWN_EVENT_TYPE'],
    ]);
  });

  it('counts a lost race that is retried, and a stale If-Match whose conflict is the answer', async () => {
    const store = createMemoryEventStore();
    const seen = recordingObserver();
    const mine = await createTestEngine({ store, observer: seen.observer });
    const theirs = await createTestEngine({ store });
    const workflow = 'orderFulfillment';
    await mine.engine.startWorkflow.handle({ workflow, input: anOrder('o-3') });
    // Another process moves the instance on: this engine's cached copy is now behind.
    await theirs.engine.sendEvent.handle({
      workflow,
      id: 'o-3',
      type: 'OrderCancelled',
      payload: { reason: 'r' },
    });
    const sent = await mine.engine.sendEvent.handle({ workflow, id: 'o-3', ...paid });
    expect(sent.ok).toBe(false);
    const stale = await mine.engine.sendEvent.handle({
      workflow,
      id: 'o-3',
      ...paid,
      expectedRevision: 0,
    });
    expect(stale.ok).toBe(false);
    expect(seen.conflicts).toEqual([
      // The cached decision's append lost; reloaded, the cancelled order refuses the payment.
      [workflow, 'retried'],
      [workflow, 'returned'],
    ]);
    expect(seen.transitions.at(-1)).toMatchObject({
      outcome: 'rejected',
      code: 'REVISION_CONFLICT',
    });
  });

  it('reports timer fires as TimerFired transitions, a repeated fire as replayed', async () => {
    let now = new Date('2026-03-01T10:00:00.000Z');
    const seen = recordingObserver();
    const { engine } = await createTestEngine({
      observer: seen.observer,
      clock: { now: () => now },
    });
    const workflow = 'orderFulfillment';
    const started = await engine.startWorkflow.handle({ workflow, input: anOrder('o-4') });
    if (!started.ok) throw new Error('not started');
    const { timerId } = started.value.instance.pendingTimers[0]!;
    now = new Date('2026-03-01T12:00:00.000Z');
    await engine.fireTimer.handle({ workflow, id: 'o-4', timerId });
    await engine.fireTimer.handle({ workflow, id: 'o-4', timerId });
    expect(seen.transitions.slice(1)).toEqual([
      { workflow, eventType: 'TimerFired', outcome: 'recorded' },
      { workflow, eventType: 'TimerFired', outcome: 'replayed' },
    ]);
  });

  it('leaves the cache figures to the engine: hits for cached looks, misses for stream reads', async () => {
    const store = createMemoryEventStore();
    const writer = await createTestEngine({ store });
    await writer.engine.startWorkflow.handle({
      workflow: 'orderFulfillment',
      input: anOrder('o-5'),
    });
    const { engine } = await createTestEngine({ store });
    await engine.sendEvent.handle({ workflow: 'orderFulfillment', id: 'o-5', ...paid });
    expect(engine.cacheStats()).toMatchObject({ hits: 0, misses: 1 });
    await engine.sendEvent.handle({
      workflow: 'orderFulfillment',
      id: 'o-5',
      type: 'GoodsFetched',
      payload: { warehouseId: 'w' },
    });
    expect(engine.cacheStats()).toMatchObject({ hits: 1, misses: 1 });
  });
});
