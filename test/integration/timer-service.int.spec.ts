import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore, TimerService } from '@esflow/core';
import { createEsdbEventStore } from '@esflow/eventstoredb';
import { EsdbWireDouble, startEsdbWireDouble } from '../doubles/esdb/esdb-wire-double';
import {
  createSqliteEventStore,
  createSqliteReadModelStore,
  createSqliteTimerIndex,
} from '@esflow/sqlite';
import { ManualClock, waitFor } from '@esflow/testing';
import { anOrder, createTestEngine } from '../support/engine-fixture';

// 10,000 timers (2,000 on the wire double) falling due at the same instant, fired by the timer service on a controlled
// clock: each exactly once. The read model and the timer index are real SQLite files; the
// instances' streams are once in the embedded SQLite store, once in the EventStoreDB adapter
// against the esdb-wire-double, a TEST DOUBLE of EventStoreDB's gRPC protocol run in this process
// (test/doubles/esdb/README.md).

// The wire double serves gRPC from this very process, at a fraction of a real server's speed:
// 10,000 instances there took ~100 s of the CI run's budget. The exactly-once check is the same
// at 2,000; the 10,000 stand on SQLite.
const COUNTS = { sqlite: 10_000, 'esdb-wire-double': 2_000 } as const;

describe.each(['sqlite', 'esdb-wire-double'] as const)(
  'the timer service on %s, its timers all due at once',
  (kind) => {
    const COUNT = COUNTS[kind];
    if (kind === 'esdb-wire-double')
      process.stdout.write(
        `timer service int: ${COUNT} timers on the esdb-wire-double (10,000 on SQLite): the in-process double is slow\n`,
      );
    const dir = mkdtempSync(join(tmpdir(), 'esflow-timers-int-'));
    let double: EsdbWireDouble | undefined;
    afterAll(async () => {
      await double?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('fires each exactly once, none early', async () => {
      const clock = new ManualClock('2026-03-01T10:00:00.000Z');
      if (kind === 'esdb-wire-double') double = await startEsdbWireDouble();
      const store: EventStore = double
        ? createEsdbEventStore({ connectionString: double.connectionString })
        : createSqliteEventStore({ filename: join(dir, 'esflow.sqlite') });
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
  },
);
