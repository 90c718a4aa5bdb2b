import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vitest from 'vitest';
import { ErrorCode, hasErrorCode, isEsflowError, MessageIndexChange } from '@esflow/core';
import {
  createSqliteCommandQueue,
  createSqliteMessageIndex,
  createSqliteReadModelStore,
  createSqliteTimerIndex,
} from '@esflow/sqlite';
import { describeMessageIndexContract, indexedMessage } from '@esflow/testing';

const { describe, expect, it } = vitest;

describeMessageIndexContract(
  'sqlite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-messages-'));
    const filename = join(dir, 'readmodel.sqlite');
    const index = createSqliteMessageIndex({ filename });
    return {
      index,
      reopen: async () => {
        const second = createSqliteMessageIndex({ filename });
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

const recorded = (messageId: string, correlationKey = 'o-1'): MessageIndexChange => ({
  kind: 'recorded',
  message: indexedMessage({ messageId, correlationKey }),
});

describe('sqlite message index in the read-model file', () => {
  it('keeps messages, instance keys, arrival order and the checkpoint across a close and a reopen of the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-messages-'));
    const filename = join(dir, 'readmodel.sqlite');
    try {
      const first = createSqliteMessageIndex({ filename });
      await first.apply(
        [
          recorded('m-b'),
          recorded('m-a'),
          {
            kind: 'instanceKeys',
            workflow: 'orderFulfillment',
            instanceId: 'o-1',
            keys: { orderId: 'o-1' },
          },
        ],
        { commit: 2n ** 60n, prepare: 7n },
      );
      const before = await first.list({ limit: 10 });
      await first.close();

      const reopened = createSqliteMessageIndex({ filename });
      try {
        expect(await reopened.list({ limit: 10 })).toStrictEqual(before);
        expect(await reopened.get('m-a')).toStrictEqual(indexedMessage({ messageId: 'm-a' }));
        expect(await reopened.checkpoint()).toStrictEqual({ commit: 2n ** 60n, prepare: 7n });
        expect(await reopened.instancesByKey('orderFulfillment', 'orderId', 'o-1', 10)).toEqual([
          'o-1',
        ]);
        // Arrival order goes on after the reopen.
        await reopened.apply([recorded('m-0')], { commit: 2n ** 60n + 1n, prepare: 0n });
        expect(
          (await reopened.bufferedFor('orderFulfillment', 'o-1', 10)).map((m) => m.messageId),
        ).toEqual(['m-b', 'm-a', 'm-0']);
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shares readmodel.sqlite with the read-model store, the timer index and the command queue, whose tables it leaves alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-messages-'));
    const filename = join(dir, 'readmodel.sqlite');
    const readModel = createSqliteReadModelStore({ filename });
    const timers = createSqliteTimerIndex({ filename });
    const commands = createSqliteCommandQueue({ filename });
    const messages = createSqliteMessageIndex({ filename });
    try {
      await readModel.migrate();
      const checkpoint = { position: { commit: 3n, prepare: 3n }, eventsApplied: 3 };
      await readModel.transact((tx) => tx.saveCheckpoint('instances', 1, checkpoint));
      await timers.apply([], { commit: 5n, prepare: 5n });
      await commands.apply([], { commit: 7n, prepare: 7n });
      await messages.apply([recorded('m-1')], { commit: 9n, prepare: 9n });
      await messages.clear();
      expect(await readModel.checkpoint('instances', 1)).toEqual(checkpoint);
      expect(await timers.checkpoint()).toEqual({ commit: 5n, prepare: 5n });
      expect(await commands.checkpoint()).toEqual({ commit: 7n, prepare: 7n });
      expect(await messages.checkpoint()).toBeUndefined();
      // Opening again on a file that has the tables already is fine.
      const reopened = createSqliteMessageIndex({ filename });
      expect(await reopened.counts()).toEqual({
        buffered: 0,
        delivered: 0,
        started: 0,
        duplicate: 0,
        late: 0,
        quarantined: 0,
        discarded: 0,
      });
      await reopened.close();
    } finally {
      await messages.close();
      await commands.close();
      await timers.close();
      await readModel.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies only with the write lock: waits busyTimeoutMs for another process, then fails as STORE_UNAVAILABLE (retriable), changing nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-messages-'));
    const filename = join(dir, 'readmodel.sqlite');
    const index = createSqliteMessageIndex({ filename, busyTimeoutMs: 50 });
    try {
      await index.apply([recorded('m-1')], { commit: 1n, prepare: 1n });
      const otherProcess = new Database(filename);
      try {
        otherProcess.exec('BEGIN IMMEDIATE');
        const error = await index.apply([recorded('m-2')], { commit: 2n, prepare: 2n }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(hasErrorCode(error, ErrorCode.StoreUnavailable), String(error)).toBe(true);
        expect(isEsflowError(error) && error.retriable).toBe(true);
        // Reads go on beside the writer (WAL); nothing was applied.
        expect(await index.get('m-2')).toBeUndefined();
        expect(await index.checkpoint()).toEqual({ commit: 1n, prepare: 1n });
        otherProcess.exec('ROLLBACK');
      } finally {
        otherProcess.close();
      }
      await index.apply([recorded('m-2')], { commit: 2n, prepare: 2n });
      expect((await index.get('m-2'))?.messageId).toBe('m-2');
    } finally {
      await index.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
