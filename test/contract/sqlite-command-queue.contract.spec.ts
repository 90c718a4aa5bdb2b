import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vitest from 'vitest';
import { CommandChange, ErrorCode, hasErrorCode, isEsflowError } from '@esflow/core';
import {
  createSqliteCommandQueue,
  createSqliteReadModelStore,
  createSqliteTimerIndex,
} from '@esflow/sqlite';
import { describeCommandQueueContract, queuedCommand } from '@esflow/testing';

const { describe, expect, it } = vitest;

describeCommandQueueContract(
  'sqlite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-commands-'));
    const filename = join(dir, 'readmodel.sqlite');
    const queue = createSqliteCommandQueue({ filename });
    return {
      queue,
      reopen: async () => {
        const second = createSqliteCommandQueue({ filename });
        return { queue: second, close: () => second.close() };
      },
      dispose: async () => {
        await queue.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  vitest,
);

const dispatched = (commandId: string): CommandChange => ({
  kind: 'dispatched',
  command: queuedCommand(commandId),
});

describe('sqlite command queue in the read-model file', () => {
  it('shares readmodel.sqlite with the read-model store and the timer index, whose tables it leaves alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-commands-'));
    const filename = join(dir, 'readmodel.sqlite');
    const readModel = createSqliteReadModelStore({ filename });
    const timers = createSqliteTimerIndex({ filename });
    const commands = createSqliteCommandQueue({ filename });
    try {
      await readModel.migrate();
      const checkpoint = { position: { commit: 3n, prepare: 3n }, eventsApplied: 3 };
      await readModel.transact((tx) => tx.saveCheckpoint('instances', 1, checkpoint));
      await timers.apply([], { commit: 5n, prepare: 5n });
      await commands.apply([dispatched('c-1')], { commit: 9n, prepare: 9n });
      await commands.clear();
      expect(await readModel.checkpoint('instances', 1)).toEqual(checkpoint);
      expect(await timers.checkpoint()).toEqual({ commit: 5n, prepare: 5n });
      expect(await commands.checkpoint()).toBeUndefined();
      // Opening again on a file that has the tables already is fine.
      const reopened = createSqliteCommandQueue({ filename });
      expect(await reopened.counts()).toEqual({
        pending: 0,
        leased: 0,
        completed: 0,
        incident: 0,
        resolved: 0,
        failed: 0,
        withdrawn: 0,
      });
      await reopened.close();
    } finally {
      await commands.close();
      await timers.close();
      await readModel.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leases only with the write lock: waits busyTimeoutMs for another process, then fails as STORE_UNAVAILABLE (retriable)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-commands-'));
    const filename = join(dir, 'readmodel.sqlite');
    const queue = createSqliteCommandQueue({ filename, busyTimeoutMs: 50 });
    const request = {
      commandTypes: ['chargePayment'],
      owner: 'w-1',
      leaseMs: 30_000,
      max: 10,
      now: new Date('2030-01-01T10:00:00.000Z'),
    };
    try {
      await queue.apply([dispatched('c-1')], { commit: 1n, prepare: 1n });
      const otherProcess = new Database(filename);
      try {
        otherProcess.exec('BEGIN IMMEDIATE');
        const error = await queue.lease(request).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(hasErrorCode(error, ErrorCode.StoreUnavailable), String(error)).toBe(true);
        expect(isEsflowError(error) && error.retriable).toBe(true);
        // Reads go on beside the writer (WAL); nothing was leased.
        expect((await queue.get('c-1'))?.status).toBe('pending');
        otherProcess.exec('ROLLBACK');
      } finally {
        otherProcess.close();
      }
      expect((await queue.lease(request)).map((command) => command.commandId)).toEqual(['c-1']);
    } finally {
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
