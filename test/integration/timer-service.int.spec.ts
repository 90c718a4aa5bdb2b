import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TimerService } from '@esflow/core';
import {
  createSqliteEventStore,
  createSqliteReadModelStore,
  createSqliteTimerIndex,
} from '@esflow/sqlite';
import { ManualClock, waitFor } from '@esflow/testing';
import { anOrder, createTestEngine } from '../support/engine-fixture';

// 10,000 timers falling due at the same instant, on real SQLite files (event store, read model
// and timer index), fired by the timer service on a controlled clock: each exactly once.

const COUNT = 10_000;

describe('the timer service on SQLite, 10,000 timers due at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-timers-int-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fires each exactly once, none early', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00.000Z');
    const store = createSqliteEventStore({ filename: join(dir, 'esflow.sqlite') });
    const readModel = createSqliteReadModelStore({ filename: join(dir, 'readmodel.sqlite') });
    await readModel.migrate();
    const index = createSqliteTimerIndex({ filename: join(dir, 'readmodel.sqlite') });
    const { engine, codec } = await createTestEngine({ store, clock });
    const ids = Array.from({ length: COUNT }, (_, i) => `due-${i}`);
    for (let i = 0; i < ids.length; i += 200)
      await Promise.all(
        ids.slice(i, i + 200).map((id) =>
          engine.startWorkflow.handle({
            workflow: 'orderFulfillment',
            input: { ...anOrder(id), paymentWindowSeconds: 60 },
          }),
        ),
      );
    const firedTimers: string[] = [];
    const service = new TimerService({
      store,
      codec,
      index,
      engine,
      leases: readModel,
      owner: 'int-test',
      clock,
      sleep: clock.sleep,
      observer: {
        fired: (timer, outcome) => outcome === 'fired' && firedTimers.push(timer.timerId),
      },
    });
    service.start();
    try {
      await waitFor(async () => (await index.counts()).pending === COUNT, {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: `${COUNT} timers indexed`,
      });
      clock.advance(59_999);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(firedTimers, 'fired before the due time').toEqual([]);
      clock.advance(1);
      await waitFor(async () => (await index.counts()).fired === COUNT, {
        timeoutMs: 120_000,
        intervalMs: 200,
        what: `${COUNT} timers fired`,
      });
      expect(new Set(firedTimers).size).toBe(COUNT);
      expect(firedTimers).toHaveLength(COUNT);
      const timerFired = await store.readAll({ filter: { eventTypes: ['TimerFired'] } });
      expect(timerFired).toHaveLength(COUNT);
      expect(new Set(timerFired.map((e) => e.streamName)).size).toBe(COUNT);
    } finally {
      await service.stop();
      await index.close();
      await readModel.close();
      await store.close();
    }
  }, 240_000);
});
