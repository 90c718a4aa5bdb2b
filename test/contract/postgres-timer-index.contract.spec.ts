import { createPostgresReadModelStore, createPostgresTimerIndex } from '@esflow/postgres';
import * as vitest from 'vitest';
import { describeTimerIndexContract } from '@esflow/testing';
import { dropSchema, TEST_POSTGRES_URL, uniqueSchema } from '../support/postgres';

const { describe, expect, it } = vitest;

// A real PostgreSQL server (see test/support/postgres.ts for which one), a schema per test.
describeTimerIndexContract(
  'postgresql',
  async () => {
    const schema = uniqueSchema();
    const open = () => createPostgresTimerIndex({ connectionString: TEST_POSTGRES_URL, schema });
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

describe('postgresql timer index in the read-model schema', () => {
  it('shares the schema with the read-model store, whose tables it leaves alone', async () => {
    const schema = uniqueSchema();
    const readModel = createPostgresReadModelStore({ connectionString: TEST_POSTGRES_URL, schema });
    const timers = createPostgresTimerIndex({ connectionString: TEST_POSTGRES_URL, schema });
    try {
      // Both create their tables at once, as the api and the timer service may on a first start.
      await Promise.all([readModel.migrate(), timers.counts()]);
      const checkpoint = { position: { commit: 3n, prepare: 3n }, eventsApplied: 3 };
      await readModel.transact((tx) => tx.saveCheckpoint('instances', 1, checkpoint));
      await timers.apply([], { commit: 9n, prepare: 9n });
      await timers.clear();
      expect(await readModel.checkpoint('instances', 1)).toEqual(checkpoint);
      expect(await timers.checkpoint()).toBeUndefined();
    } finally {
      await timers.close();
      await readModel.close();
      await dropSchema(schema);
    }
  });
});
