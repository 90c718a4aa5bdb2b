import {
  createPostgresCommandQueue,
  createPostgresMessageIndex,
  createPostgresReadModelStore,
  createPostgresTimerIndex,
} from '@esflow/postgres';
import * as vitest from 'vitest';
import { describeMessageIndexContract, indexedMessage } from '@esflow/testing';
import type { MessageIndexChange } from '@esflow/core';
import { dropSchema, TEST_POSTGRES_URL, uniqueSchema } from '../support/postgres';

const { describe, expect, it } = vitest;

// A real PostgreSQL server (see test/support/postgres.ts for which one), a schema per test.
describeMessageIndexContract(
  'postgresql',
  async () => {
    const schema = uniqueSchema();
    const open = () => createPostgresMessageIndex({ connectionString: TEST_POSTGRES_URL, schema });
    const index = open();
    return {
      index,
      reopen: async () => {
        const second = open();
        return { index: second, close: () => second.close() };
      },
      dispose: async () => {
        await index.close();
        await dropSchema(schema);
      },
    };
  },
  vitest,
);

const recorded = (messageId: string, detail: string | null = null): MessageIndexChange => ({
  kind: 'recorded',
  message: indexedMessage({ messageId, detail }),
});

describe('postgresql message index in the read-model schema', () => {
  it('shares the schema with the read-model store, the timer index and the command queue, whose tables it leaves alone', async () => {
    const schema = uniqueSchema();
    const connection = { connectionString: TEST_POSTGRES_URL, schema };
    const readModel = createPostgresReadModelStore(connection);
    const timers = createPostgresTimerIndex(connection);
    const commands = createPostgresCommandQueue(connection);
    const messages = createPostgresMessageIndex(connection);
    try {
      // All create their tables at once, as the api, the projector and a worker may on a first start.
      await Promise.all([
        readModel.migrate(),
        timers.counts(),
        commands.counts(),
        messages.counts(),
      ]);
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
    } finally {
      await messages.close();
      await commands.close();
      await timers.close();
      await readModel.close();
      await dropSchema(schema);
    }
  });

  it('two indexes applying at once over one schema: one batch at a time, the first record wins, arrival order is commit order', async () => {
    const schema = uniqueSchema();
    const connection = { connectionString: TEST_POSTGRES_URL, schema };
    const first = createPostgresMessageIndex(connection);
    const second = createPostgresMessageIndex(connection);
    try {
      await first.counts(); // the tables, created once
      await Promise.all([first.checkpoint(), second.checkpoint()]); // both pools connected
      const batch = (who: string) => Array.from({ length: 20 }, (_, i) => recorded(`m-${i}`, who));
      await Promise.all([
        first.apply(batch('first'), { commit: 1n, prepare: 1n }),
        second.apply(batch('second'), { commit: 2n, prepare: 2n }),
      ]);
      const { messages } = await first.list({ limit: 100 });
      expect(messages.map((m) => m.messageId)).toEqual(
        Array.from({ length: 20 }, (_, i) => `m-${i}`),
      );
      // The batch that committed first recorded every message; the other, committed last (its
      // checkpoint is the one kept), changed none of them.
      const last = (await first.checkpoint())?.commit === 1n ? 'first' : 'second';
      expect(new Set(messages.map((m) => m.detail))).toEqual(
        new Set([last === 'first' ? 'second' : 'first']),
      );
      expect(await second.counts()).toMatchObject({ buffered: 20 });
    } finally {
      await first.close();
      await second.close();
      await dropSchema(schema);
    }
  });
});
