import {
  createPostgresCommandQueue,
  createPostgresReadModelStore,
  createPostgresTimerIndex,
} from '@esflow/postgres';
import { Client } from 'pg';
import * as vitest from 'vitest';
import { describeCommandQueueContract, queuedCommand, waitFor } from '@esflow/testing';
import type { CommandChange } from '@esflow/core';
import { dropSchema, TEST_POSTGRES_URL, uniqueSchema } from '../support/postgres';

const { describe, expect, it } = vitest;

// A real PostgreSQL server (see test/support/postgres.ts for which one), a schema per test.
describeCommandQueueContract(
  'postgresql',
  async () => {
    const schema = uniqueSchema();
    const open = () => createPostgresCommandQueue({ connectionString: TEST_POSTGRES_URL, schema });
    const queue = open();
    return {
      queue,
      reopen: async () => {
        const second = open();
        return { queue: second, close: () => second.close() };
      },
      dispose: async () => {
        await queue.close();
        await dropSchema(schema);
      },
    };
  },
  vitest,
);

describe('postgresql command queue in the read-model schema', () => {
  it('shares the schema with the read-model store and the timer index, whose tables it leaves alone', async () => {
    const schema = uniqueSchema();
    const connection = { connectionString: TEST_POSTGRES_URL, schema };
    const readModel = createPostgresReadModelStore(connection);
    const timers = createPostgresTimerIndex(connection);
    const commands = createPostgresCommandQueue(connection);
    try {
      // All create their tables at once, as the api, the projector and a worker may on a first start.
      await Promise.all([readModel.migrate(), timers.counts(), commands.counts()]);
      const checkpoint = { position: { commit: 3n, prepare: 3n }, eventsApplied: 3 };
      await readModel.transact((tx) => tx.saveCheckpoint('instances', 1, checkpoint));
      await timers.apply([], { commit: 5n, prepare: 5n });
      await commands.apply([], { commit: 9n, prepare: 9n });
      await commands.clear();
      expect(await readModel.checkpoint('instances', 1)).toEqual(checkpoint);
      expect(await timers.checkpoint()).toEqual({ commit: 5n, prepare: 5n });
      expect(await commands.checkpoint()).toBeUndefined();
    } finally {
      await commands.close();
      await timers.close();
      await readModel.close();
      await dropSchema(schema);
    }
  });
});

describe('postgresql command queue beside other transactions', () => {
  const dispatched = (commandId: string): CommandChange => ({
    kind: 'dispatched',
    command: queuedCommand(commandId),
  });
  const lease = { commandTypes: ['chargePayment'], owner: 'w-1', leaseMs: 30_000, max: 10 };
  const now = new Date('2030-01-01T10:00:00.000Z');

  /** Another session's open transaction that has run `sql` (and holds the locks it took). */
  async function openTransaction(sql: string) {
    const client = new Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
    await client.query('BEGIN');
    await client.query(sql);
    const end = async (how: 'COMMIT' | 'ROLLBACK') => {
      await client.query(how);
      await client.end();
    };
    return { commit: () => end('COMMIT'), rollback: () => end('ROLLBACK') };
  }

  /** Whether a statement on `schema`'s tables waits for a lock now. */
  async function someoneWaits(schema: string): Promise<boolean> {
    const client = new Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ waiting: number }>(
        `SELECT count(*)::integer AS waiting FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`,
        [schema],
      );
      return rows[0]!.waiting > 0;
    } finally {
      await client.end();
    }
  }

  it('lease skips the commands another transaction holds, without waiting for it', async () => {
    const schema = uniqueSchema();
    const queue = createPostgresCommandQueue({ connectionString: TEST_POSTGRES_URL, schema });
    try {
      await queue.apply(['c-0', 'c-1', 'c-2'].map(dispatched), { commit: 1n, prepare: 1n });
      const other = await openTransaction(
        `SELECT * FROM "${schema}".esflow_commands WHERE command_id = 'c-0' FOR UPDATE`,
      );
      try {
        let leased: string[] | undefined;
        const leasing = queue.lease({ ...lease, now }).then((commands) => {
          leased = commands.map((command) => command.commandId);
        });
        const outcome = await waitFor(
          async () => (leased ? 'leased' : (await someoneWaits(schema)) && 'waited'),
          { what: 'the lease to end, or to wait for the lock' },
        );
        expect(outcome).toBe('leased');
        expect(leased).toEqual(['c-1', 'c-2']);
        await leasing;
      } finally {
        await other.rollback();
      }
      expect((await queue.lease({ ...lease, now })).map((c) => c.commandId)).toEqual(['c-0']);
    } finally {
      await queue.close();
      await dropSchema(schema);
    }
  });

  it('apply waits for a transaction that holds its commands, then changes them as it left them', async () => {
    const schema = uniqueSchema();
    const queue = createPostgresCommandQueue({ connectionString: TEST_POSTGRES_URL, schema });
    try {
      await queue.apply([dispatched('c-0')], { commit: 1n, prepare: 1n });
      // As a lease in progress would: it counts an attempt, and commits after apply has begun.
      const other = await openTransaction(
        `UPDATE "${schema}".esflow_commands SET attempts = 7 WHERE command_id = 'c-0'`,
      );
      const applying = queue.apply([{ kind: 'completed', commandId: 'c-0' }], {
        commit: 2n,
        prepare: 2n,
      });
      await waitFor(() => someoneWaits(schema), { what: 'apply to wait for the lock' });
      await other.commit();
      await applying;
      expect(await queue.get('c-0')).toMatchObject({ status: 'completed', attempts: 7 });
    } finally {
      await queue.close();
      await dropSchema(schema);
    }
  });
});
