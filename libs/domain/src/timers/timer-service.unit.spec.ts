import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, waitFor } from '@esflow/testing';
import { Result } from '../errors/rejection';
import { anOrder, createTestEngine, soleLeases } from '../../../../test/support/engine-fixture';
import { createMemoryTimerIndex } from './memory-timer-index';
import { TimerIndex } from './timer-index.port';
import { TimerService } from './timer-service';

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

const running: TimerService[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.stop()));
});

async function aTimerService(clock: ManualClock) {
  const { engine, store, codec } = await createTestEngine({ clock });
  const index = createMemoryTimerIndex();
  const fired: { timerId: string; outcome: string; latenessMs: number | null }[] = [];
  const errors: string[] = [];
  const startService = () => {
    const service = new TimerService({
      store,
      codec,
      index,
      engine,
      leases: soleLeases(),
      owner: 'test',
      clock,
      sleep: clock.sleep,
      observer: {
        fired: (timer, outcome, latenessMs) =>
          fired.push({ timerId: timer.timerId, outcome, latenessMs }),
      },
      onError: (message, error) => errors.push(`${message}: ${String(error)}`),
    });
    running.push(service);
    service.start();
    return service;
  };
  return { engine, store, index, fired, errors, startService };
}

const start = async (
  engine: Awaited<ReturnType<typeof createTestEngine>>['engine'],
  id: string,
  paymentWindowSeconds = 60,
) =>
  valueOf(
    await engine.startWorkflow.handle({
      workflow: 'orderFulfillment',
      input: { ...anOrder(id), paymentWindowSeconds },
    }),
  ).instance.pendingTimers[0]!.timerId;

const indexed = (index: TimerIndex, timerId: string, status: string) =>
  waitFor(async () => (await index.get(timerId))?.status === status, {
    timeoutMs: 5_000,
    intervalMs: 5,
    what: `timer ${timerId} ${status} in the index`,
  });

describe('the timer service', () => {
  it('indexes a timer, fires it at its due time and not before, once', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00.000Z');
    const { engine, index, fired, startService } = await aTimerService(clock);
    startService();
    const timerId = await start(engine, 'o-1');
    await indexed(index, timerId, 'pending');
    expect(await index.get(timerId)).toMatchObject({
      workflow: 'orderFulfillment',
      instanceId: 'o-1',
      dueAt: '2026-03-01T10:01:00.000Z',
      scheduledRevision: 1,
    });

    clock.advance(59_999);
    // Give the scheduler every chance to fire early; it must not.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fired).toEqual([]);
    clock.advance(1);
    await indexed(index, timerId, 'fired');
    expect(fired).toEqual([{ timerId, outcome: 'fired', latenessMs: 0 }]);
    expect(await index.get(timerId)).toMatchObject({ latenessMs: 0, settledRevision: 2 });
    const instance = valueOf(await engine.queries.get('orderFulfillment', 'o-1'));
    expect(instance).toMatchObject({ state: 'cancelled', revision: 3 });
  });

  it('fires on start a timer that fell due while nothing ran, recording its lateness', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00.000Z');
    const { engine, index, startService } = await aTimerService(clock);
    const timerId = await start(engine, 'o-2');
    clock.advance(3_600_000);
    startService();
    await indexed(index, timerId, 'fired');
    expect((await index.get(timerId))?.latenessMs).toBe(3_540_000);
  });

  it('marks a timer that lost to an event superseded, by which event at which revision', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00.000Z');
    const { engine, index, fired, startService } = await aTimerService(clock);
    const timerId = await start(engine, 'o-3');
    clock.advance(61_000);
    // The event is recorded after the due time, before any timer service ran: it wins.
    valueOf(
      await engine.sendEvent.handle({
        workflow: 'orderFulfillment',
        id: 'o-3',
        type: 'PaymentReceived',
        payload: { paymentId: 'p', amountCents: 4999 },
      }),
    );
    startService();
    await indexed(index, timerId, 'superseded');
    expect(await index.get(timerId)).toMatchObject({
      settledBy: { eventType: 'PaymentReceived', revision: 2 },
      settledRevision: 3,
    });
    expect(fired).toEqual([]);
  });

  it('marks a timer cancelled when its state is left before it falls due', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00.000Z');
    const { engine, index, startService } = await aTimerService(clock);
    startService();
    const timerId = await start(engine, 'o-4');
    valueOf(
      await engine.sendEvent.handle({
        workflow: 'orderFulfillment',
        id: 'o-4',
        type: 'OrderCancelled',
        payload: { reason: 'changed my mind' },
      }),
    );
    await indexed(index, timerId, 'cancelled');
    expect((await index.get(timerId))?.settledBy?.eventType).toBe('OrderCancelled');
  });

  it('fires many timers due at once, each exactly once', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00.000Z');
    const { engine, index, fired, startService } = await aTimerService(clock);
    const ids = await Promise.all(
      Array.from({ length: 200 }, (_, i) => start(engine, `many-${i}`)),
    );
    startService();
    await waitFor(async () => (await index.counts()).pending === ids.length, {
      timeoutMs: 10_000,
      what: 'all timers indexed',
    });
    clock.advance(60_000);
    await waitFor(async () => (await index.counts()).fired === ids.length, {
      timeoutMs: 20_000,
      what: 'all timers fired',
    });
    expect(fired.filter((f) => f.outcome === 'fired')).toHaveLength(ids.length);
    expect(new Set(fired.map((f) => f.timerId)).size).toBe(ids.length);
  });
});
