import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vitest from 'vitest';
import { createSqliteReadModelStore, createSqliteTimerIndex } from '@esflow/sqlite';
import { describeTimerIndexContract } from '@esflow/testing';

const { describe, expect, it } = vitest;

describeTimerIndexContract(
  'sqlite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-timers-'));
    const filename = join(dir, 'readmodel.sqlite');
    const index = createSqliteTimerIndex({ filename });
    return {
      index,
      reopen: async () => {
        const second = createSqliteTimerIndex({ filename });
        return { index: second, close: () => second.close() };
      },
      dispose: async () => {
        await index.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  vitest,
);

describe('sqlite timer index in the read-model file', () => {
  it('shares readmodel.sqlite with the read-model store, whose tables it leaves alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-timers-'));
    const filename = join(dir, 'readmodel.sqlite');
    const readModel = createSqliteReadModelStore({ filename });
    const timers = createSqliteTimerIndex({ filename });
    try {
      await readModel.migrate();
      const checkpoint = { position: { commit: 3n, prepare: 3n }, eventsApplied: 3 };
      await readModel.transact((tx) => tx.saveCheckpoint('instances', 1, checkpoint));
      await timers.apply(
        [
          {
            kind: 'scheduled',
            timer: {
              timerId: 't-1',
              workflow: 'orderFulfillment',
              instanceId: 'o-1',
              eventType: 'xstate.after.1000.orderFulfillment.awaitingPayment',
              dueAt: '2030-01-01T10:00:00.000Z',
              scheduledAt: '2030-01-01T09:59:59.000Z',
              scheduledRevision: 1,
              status: 'pending',
              settledAt: null,
              settledRevision: null,
              latenessMs: null,
              settledBy: null,
            },
          },
        ],
        { commit: 9n, prepare: 9n },
      );
      await timers.clear();
      expect(await readModel.checkpoint('instances', 1)).toEqual(checkpoint);
      expect(await timers.checkpoint()).toBeUndefined();
      // Opening again on a file that has the tables already is fine.
      const reopened = createSqliteTimerIndex({ filename });
      expect(await reopened.counts()).toEqual({
        pending: 0,
        fired: 0,
        cancelled: 0,
        superseded: 0,
      });
      await reopened.close();
    } finally {
      await timers.close();
      await readModel.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
