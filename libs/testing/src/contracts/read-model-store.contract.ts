import { randomUUID } from 'node:crypto';
import { ProjectionRecord, ProjectionStatus, ReadModelStore } from '@esflow/core';
import { ContractTestApi } from './test-api';

/**
 * What a factory gives {@link describeReadModelStoreContract}: the store to test and how to dispose
 * of it. The suite creates one before its tests and disposes of it after them; the tests use fresh
 * names, so the store need not be empty.
 */
export interface ReadModelStoreUnderTest {
  readonly store: ReadModelStore;
  dispose(): Promise<void>;
}

const collections = { items: { indexes: ['kind', 'rank'] } };
const position = (n: number) => ({ commit: BigInt(n), prepare: BigInt(n) });
const recordOf = (name: string, activeGeneration = 1): ProjectionRecord => ({
  name,
  version: 1,
  activeGeneration,
  status: ProjectionStatus.Live,
  failure: null,
  rebuild: null,
  lag: { events: 0, seconds: 0 },
  heartbeatAt: new Date(0).toISOString(),
});

/**
 * What every read-model store must do for the projection runtime: documents and checkpoints
 * committed together or not at all, separate generations, ordered paging, digests, leases and
 * operator requests. Runs against SQLite and PostgreSQL.
 */
export function describeReadModelStoreContract(
  adapter: string,
  create: () => Promise<ReadModelStoreUnderTest>,
  api: ContractTestApi,
): void {
  const { afterAll, beforeAll, describe, expect, it } = api;
  describe(`read-model store contract: ${adapter}`, () => {
    let subject: ReadModelStoreUnderTest;
    let store: ReadModelStore;
    beforeAll(async () => {
      subject = await create();
      store = subject.store;
      await store.migrate();
      await store.migrate(); // idempotent
    });
    afterAll(async () => subject.dispose());
    const fresh = () => `p${randomUUID().replaceAll('-', '').slice(0, 12)}`;

    it('commits documents and the checkpoint together', async () => {
      const name = fresh();
      await store.createGeneration(name, 1, collections);
      await store.transact(async (tx) => {
        await tx
          .documents(name, 1)
          .put('items', 'a', { kind: 'x', rank: 1, nested: { b: 2, a: 1 } });
        await tx.saveCheckpoint(name, 1, { position: position(7), eventsApplied: 3 });
        await tx.saveRecord(recordOf(name));
      });
      expect(await store.checkpoint(name, 1)).toEqual({ position: position(7), eventsApplied: 3 });
      expect(await store.find(name, 'items', { limit: 10 })).toEqual([
        { kind: 'x', rank: 1, nested: { a: 1, b: 2 } },
      ]);
      expect(await store.record(name)).toEqual(recordOf(name));
    });

    it('rolls back documents and checkpoint together when the work fails', async () => {
      const name = fresh();
      await store.createGeneration(name, 1, collections);
      await store.transact(async (tx) => {
        await tx.saveRecord(recordOf(name));
        await tx.saveCheckpoint(name, 1, { position: position(1), eventsApplied: 1 });
      });
      const failed = store.transact(async (tx) => {
        await tx.documents(name, 1).put('items', 'a', { kind: 'x' });
        await tx.saveCheckpoint(name, 1, { position: position(2), eventsApplied: 2 });
        throw new Error('handler failed');
      });
      await expect(failed).rejects.toThrow('handler failed');
      expect(await store.checkpoint(name, 1)).toEqual({ position: position(1), eventsApplied: 1 });
      expect(await store.find(name, 'items', { limit: 10 })).toEqual([]);
    });

    it('gets, replaces and deletes documents inside a transaction', async () => {
      const name = fresh();
      await store.createGeneration(name, 1, collections);
      await store.transact(async (tx) => {
        const docs = tx.documents(name, 1);
        expect(await docs.get('items', 'a')).toBeUndefined();
        await docs.put('items', 'a', { kind: 'x', rank: 1 });
        expect(await docs.get('items', 'a')).toEqual({ kind: 'x', rank: 1 });
        await docs.put('items', 'a', { kind: 'y', rank: 2 });
        await docs.put('items', 'b', { kind: 'y', rank: 3 });
        await docs.delete('items', 'b');
        await tx.saveRecord(recordOf(name));
      });
      expect(await store.find(name, 'items', { limit: 10 })).toEqual([{ kind: 'y', rank: 2 }]);
    });

    it('filters by fields and pages by id in byte order', async () => {
      const name = fresh();
      await store.createGeneration(name, 1, collections);
      const ids = ['b', 'B', 'a-1', 'a/2', 'Z', 'a.3', 'c'];
      await store.transact(async (tx) => {
        for (const [i, id] of ids.entries())
          await tx
            .documents(name, 1)
            .put('items', id, { id, kind: i % 2 ? 'odd' : 'even', rank: i, flag: i === 0 });
        await tx.saveRecord(recordOf(name));
      });
      const all = await store.find(name, 'items', { limit: 100 });
      expect(all.map((d) => d['id'])).toEqual(
        [...ids].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1)),
      );
      const even = await store.find(name, 'items', { where: { kind: 'even' }, limit: 100 });
      expect(even.map((d) => d['rank']).sort()).toEqual([0, 2, 4, 6]);
      expect(await store.find(name, 'items', { where: { rank: 3 }, limit: 10 })).toHaveLength(1);
      expect(await store.find(name, 'items', { where: { flag: true }, limit: 10 })).toHaveLength(1);
      const page1 = await store.find(name, 'items', { limit: 3 });
      const page2 = await store.find(name, 'items', { limit: 3, after: page1[2]!['id'] as string });
      expect([...page1, ...page2].map((d) => d['id'])).toEqual(all.slice(0, 6).map((d) => d['id']));
    });

    it('keeps generations apart, reads the active one, and drops old ones', async () => {
      const name = fresh();
      await store.createGeneration(name, 1, collections);
      await store.createGeneration(name, 2, collections);
      await store.transact(async (tx) => {
        await tx.documents(name, 1).put('items', 'a', { g: 1 });
        await tx.documents(name, 2).put('items', 'a', { g: 2 });
        await tx.saveCheckpoint(name, 2, { position: position(5), eventsApplied: 5 });
        await tx.saveRecord(recordOf(name, 1));
      });
      expect(await store.find(name, 'items', { limit: 5 })).toEqual([{ g: 1 }]);
      await store.transact((tx) => tx.saveRecord(recordOf(name, 2)));
      expect(await store.find(name, 'items', { limit: 5 })).toEqual([{ g: 2 }]);
      await store.dropGeneration(name, 1, collections);
      expect(await store.checkpoint(name, 2)).toEqual({ position: position(5), eventsApplied: 5 });
      expect(await store.checkpoint(name, 1)).toBeUndefined();
    });

    it('digests content, not write order or key order', async () => {
      const [a, b] = [fresh(), fresh()];
      for (const name of [a, b]) await store.createGeneration(name, 1, collections);
      await store.transact(async (tx) => {
        await tx.documents(a, 1).put('items', '1', { x: 1, y: [1, 2] });
        await tx.documents(a, 1).put('items', '2', { z: null });
        await tx.documents(b, 1).put('items', '2', { z: null });
        await tx.documents(b, 1).put('items', '1', { y: [1, 2], x: 1 });
      });
      const digestA = await store.digest(a, 1, collections);
      expect(digestA).toMatch(/^[0-9a-f]{64}$/);
      expect(await store.digest(b, 1, collections)).toBe(digestA);
      await store.transact((tx) => tx.documents(b, 1).put('items', '1', { y: [2, 1], x: 1 }));
      expect(await store.digest(b, 1, collections)).not.toBe(digestA);
    });

    it('grants a lease to one owner at a time until it expires or is released', async () => {
      const name = fresh();
      expect(await store.acquireLease(name, 'one', 60_000)).toBe(true);
      expect(await store.acquireLease(name, 'two', 60_000)).toBe(false);
      expect(await store.acquireLease(name, 'one', 60_000)).toBe(true); // renewal
      await store.releaseLease(name, 'one');
      expect(await store.acquireLease(name, 'two', 1)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.acquireLease(name, 'three', 60_000)).toBe(true); // two's lease expired
    });

    it('queues operator requests and hands each out once, in order', async () => {
      const [name, other] = [fresh(), fresh()];
      await store.request(name, 'rebuild');
      await store.request(other, 'retry');
      await store.request(name, 'skip');
      expect((await store.pendingRequests(name)).map((r) => r.kind)).toEqual(['rebuild', 'skip']);
      const taken = await store.takeRequests([name]);
      expect(taken.map((r) => [r.projection, r.kind])).toEqual([
        [name, 'rebuild'],
        [name, 'skip'],
      ]);
      expect(await store.takeRequests([name])).toEqual([]);
      expect(await store.pendingRequests(other)).toHaveLength(1);
    });
  });
}
