import { describe, expect, it } from 'vitest';
import { ManualClock } from '@esflow/testing';
import { ErrorCode } from '../errors/esflow-error';
import { Result } from '../errors/rejection';
import { readEsflowMetadata } from '../workflow/event-metadata';
import { FrameworkEvent } from '../workflow/framework-events';
import {
  anOrder,
  createTestEngine,
  LOOPING_SCHEMAS,
} from '../../../../test/support/engine-fixture';
import { loopingWorkflow } from '../../../../test/support/looping-workflow';
import type { WorkflowEngine } from './workflow-engine';

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

const WINDOW = 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment';
const pay = { type: 'PaymentReceived', payload: { paymentId: 'p-1', amountCents: 4999 } };

async function anEngineAt(start = '2026-03-01T10:00:00.000Z') {
  const clock = new ManualClock(start);
  return { clock, ...(await createTestEngine({ clock })) };
}

describe('timers', () => {
  it('records TimerScheduled with the due time of a named delay computed from context', async () => {
    const { engine, store } = await anEngineAt();
    const started = valueOf(
      await engine.startWorkflow.handle({
        workflow: 'orderFulfillment',
        input: { ...anOrder('t-1'), paymentWindowSeconds: 60 },
      }),
    );
    const [, scheduled] = await store.readStream('orderFulfillment-t-1');
    expect(scheduled?.type).toBe(FrameworkEvent.TimerScheduled);
    expect(readEsflowMetadata(scheduled!.metadata).category).toBe('framework');
    expect(started.instance.pendingTimers).toEqual([
      { timerId: expect.any(String), eventType: WINDOW, dueAt: '2026-03-01T10:01:00.000Z' },
    ]);
  });

  it('defaults the payment window to 1800 s', async () => {
    const { engine } = await anEngineAt();
    const started = valueOf(
      await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder('t-2') }),
    );
    expect(started.instance.pendingTimers[0]?.dueAt).toBe('2026-03-01T10:30:00.000Z');
  });

  it('never fires before the due time, then fires once, moving the instance on', async () => {
    const { engine, store, clock } = await anEngineAt();
    const started = valueOf(
      await engine.startWorkflow.handle({
        workflow: 'orderFulfillment',
        input: { ...anOrder('t-3'), paymentWindowSeconds: 60 },
      }),
    );
    const { timerId } = started.instance.pendingTimers[0]!;
    const fire = () =>
      engine.fireTimer.handle({ workflow: 'orderFulfillment', id: 't-3', timerId });

    clock.advance(59_999);
    expect(valueOf(await fire())).toMatchObject({ outcome: 'notDue' });
    expect(await store.readStream('orderFulfillment-t-3')).toHaveLength(2);

    clock.advance(1_501);
    const fired = valueOf(await fire());
    expect(fired).toMatchObject({ outcome: 'fired', latenessMs: 1_500 });
    expect(fired.outcome === 'fired' && fired.instance).toMatchObject({
      state: 'cancelled',
      status: 'cancelled',
      context: { cancellationReason: 'payment window expired' },
      pendingTimers: [],
    });
    expect(valueOf(await fire())).toMatchObject({ outcome: 'alreadyFired' });
    const events = await store.readStream('orderFulfillment-t-3');
    expect(events.map((e) => e.type)).toEqual([
      'OrderPlaced',
      FrameworkEvent.TimerScheduled,
      FrameworkEvent.TimerFired,
      FrameworkEvent.WorkflowCompleted,
    ]);
    // The fired timer is caused by its TimerScheduled; its transition's facts by it.
    const [, scheduled, firedEvent, completed] = events;
    expect(readEsflowMetadata(firedEvent!.metadata).causationId).toBe(scheduled!.eventId);
    expect(readEsflowMetadata(completed!.metadata).causationId).toBe(firedEvent!.eventId);
  });

  it('cancels the timer when an event moves the instance on first, and never fires it', async () => {
    const { engine, store, clock } = await anEngineAt();
    const started = valueOf(
      await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder('t-4') }),
    );
    const { timerId } = started.instance.pendingTimers[0]!;
    const paid = valueOf(
      await engine.sendEvent.handle({ workflow: 'orderFulfillment', id: 't-4', ...pay }),
    );
    expect(paid.instance.pendingTimers).toEqual([]);
    const [, , , cancelled] = await store.readStream('orderFulfillment-t-4');
    expect(cancelled?.type).toBe(FrameworkEvent.TimerCancelled);
    clock.advance(3_600_000);
    expect(
      valueOf(await engine.fireTimer.handle({ workflow: 'orderFulfillment', id: 't-4', timerId })),
    ).toMatchObject({ outcome: 'notPending' });
    expect(await store.readStream('orderFulfillment-t-4')).toHaveLength(4);
  });

  it('refuses an event after a timer moved the instance on, naming the timer', async () => {
    const { engine, clock } = await anEngineAt();
    const started = valueOf(
      await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder('t-5') }),
    );
    const { timerId } = started.instance.pendingTimers[0]!;
    clock.advance(1_800_000);
    valueOf(await engine.fireTimer.handle({ workflow: 'orderFulfillment', id: 't-5', timerId }));
    const refused = await engine.sendEvent.handle({
      workflow: 'orderFulfillment',
      id: 't-5',
      ...pay,
    });
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.rejection).toMatchObject({
      code: ErrorCode.EventNotAccepted,
      message: expect.stringContaining(`timer ${timerId}`),
      movedByTimer: { timerId, eventType: WINDOW, revision: 2 },
    });
  });

  it('names the timer after a reload from the stream too', async () => {
    const { engine, store, clock } = await anEngineAt();
    const started = valueOf(
      await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder('t-6') }),
    );
    const { timerId } = started.instance.pendingTimers[0]!;
    clock.advance(1_800_000);
    valueOf(await engine.fireTimer.handle({ workflow: 'orderFulfillment', id: 't-6', timerId }));
    // A second engine on the same store: the instance is folded from its events.
    const { engine: other } = await createTestEngine({ store, clock });
    const refused = await other.sendEvent.handle({
      workflow: 'orderFulfillment',
      id: 't-6',
      ...pay,
    });
    expect(!refused.ok && refused.rejection).toMatchObject({ movedByTimer: { timerId } });
    const view = valueOf(await other.queries.get('orderFulfillment', 't-6'));
    expect(view).toMatchObject({ state: 'cancelled', pendingTimers: [] });
  });

  describe('a state entered twice', () => {
    const looping = loopingWorkflow({ waitMs: 1_000, pingAfterMs: 500 });
    const engineWithLoop = async () => {
      const clock = new ManualClock('2026-03-01T10:00:00.000Z');
      const built = await createTestEngine({
        clock,
        definitions: [looping],
        schemas: LOOPING_SCHEMAS,
      });
      return { clock, ...built };
    };
    const fire = (engine: WorkflowEngine, timerId: string) =>
      engine.fireTimer.handle({ workflow: 'looping', id: 'l-1', timerId });
    const retry = (engine: WorkflowEngine) =>
      engine.sendEvent.handle({ workflow: 'looping', id: 'l-1', type: 'Retry', payload: {} });

    it('gets a timer of its own each visit: the earlier one never fires into the later', async () => {
      const { engine, clock, store } = await engineWithLoop();
      const first = valueOf(
        await engine.startWorkflow.handle({ workflow: 'looping', id: 'l-1', input: {} }),
      );
      const earlier = first.instance.pendingTimers[0]!;
      clock.advance(600);
      const again = valueOf(await retry(engine));
      const later = again.instance.pendingTimers[0]!;
      expect(again.instance.pendingTimers).toHaveLength(1);
      expect(later.timerId).not.toBe(earlier.timerId);
      expect(later.eventType).toBe(earlier.eventType);
      expect(later.dueAt).toBe('2026-03-01T10:00:01.600Z');

      // The earlier visit's timer falls due while the later visit waits: it never fires.
      clock.advance(400);
      expect(valueOf(await fire(engine, earlier.timerId))).toMatchObject({ outcome: 'notPending' });
      expect(valueOf(await fire(engine, later.timerId))).toMatchObject({ outcome: 'notDue' });
      const types = (await store.readStream('looping-l-1')).map((e) => e.type);
      expect(types).toEqual([
        'LoopStarted',
        'TimerScheduled',
        'Retry',
        'TimerCancelled',
        'TimerScheduled',
      ]);
    });

    it('fires on the stream as it is when another engine moved the instance on', async () => {
      const { engine, clock, store } = await engineWithLoop();
      const first = valueOf(
        await engine.startWorkflow.handle({ workflow: 'looping', id: 'l-1', input: {} }),
      );
      const earlier = first.instance.pendingTimers[0]!;
      // Another engine re-enters `waiting`: this one's cached instance still has the earlier timer.
      const { engine: other } = await createTestEngine({
        store,
        clock,
        definitions: [looping],
        schemas: LOOPING_SCHEMAS,
      });
      const again = valueOf(await retry(other));
      const later = again.instance.pendingTimers[0]!;
      clock.advance(1_000);
      expect(valueOf(await fire(engine, later.timerId))).toMatchObject({
        outcome: 'fired',
        instance: { state: 'expired' },
      });
      expect(valueOf(await fire(engine, earlier.timerId))).toMatchObject({ outcome: 'notPending' });
      const fired = (await store.readStream('looping-l-1')).filter(
        (e) => e.type === FrameworkEvent.TimerFired,
      );
      expect(fired).toHaveLength(1);
    });

    it('schedules a delayed raise to self as a timer, and delivers its event', async () => {
      const { engine, clock } = await engineWithLoop();
      const first = valueOf(
        await engine.startWorkflow.handle({ workflow: 'looping', id: 'l-1', input: {} }),
      );
      clock.advance(1_000);
      const expired = valueOf(await fire(engine, first.instance.pendingTimers[0]!.timerId));
      expect(expired.instance).toMatchObject({
        state: 'expired',
        pendingTimers: [{ eventType: 'Ping', dueAt: '2026-03-01T10:00:01.500Z' }],
      });
      clock.advance(500);
      const ping = expired.instance.pendingTimers[0]!;
      expect(valueOf(await fire(engine, ping.timerId))).toMatchObject({
        outcome: 'fired',
        instance: { state: 'done', status: 'completed', pendingTimers: [] },
      });
    });
  });
});
