import { randomUUID } from 'node:crypto';
import {
  DocumentReader,
  LeaseStore,
  ProjectionCheckpoints,
  ProjectionGenerations,
  ProjectionRecord,
  PROCESSOR_REPORT_RETENTION_MS,
  ProcessorReports,
  ProcessorStatus,
  ProjectionRequests,
  ProjectionStatus,
  ReadModelStore,
} from '@esflow/core';
import { ContractTestApi } from './test-api';

/**
 * What a factory gives a contract suite: the store to test and how to dispose of it. The suite
 * creates one before its tests and disposes of it after them; the tests use fresh names, so the
 * store need not be empty. `migrate()` is called first when the store has it.
 */
export interface StoreUnderTest<TStore> {
  readonly store: TStore;
  dispose(): Promise<void>;
}

/** A whole read-model store under {@link describeReadModelStoreContract}. */
export type ReadModelStoreUnderTest = StoreUnderTest<ReadModelStore>;

/** The documents side of a read-model store: generations, transactions, queries, digests. */
export type DocumentStore = DocumentReader & ProjectionGenerations & ProjectionCheckpoints;

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
const fresh = () => `p${randomUUID().replaceAll('-', '').slice(0, 12)}`;

/** Registers a suite around one store made by `create` (migrated first, when it can be). */
function suite<TStore>(
  title: string,
  create: () => Promise<StoreUnderTest<TStore>>,
  api: ContractTestApi,
  tests: (store: () => TStore) => void,
): void {
  const { afterAll, beforeAll, describe } = api;
  describe(title, () => {
    let subject: StoreUnderTest<TStore>;
    beforeAll(async () => {
      subject = await create();
      const migrate = (subject.store as { migrate?: () => Promise<void> }).migrate;
      if (migrate) {
        await migrate.call(subject.store);
        await migrate.call(subject.store); // idempotent
      }
    });
    afterAll(async () => subject.dispose());
    tests(() => subject.store);
  });
}

/**
 * Documents of projection generations: written and checkpointed together or not at all, read
 * from the active generation only, filtered and paged by id in byte order, generations kept
 * apart and dropped, digests over content only.
 */
export function describeDocumentStoreContract(
  adapter: string,
  create: () => Promise<StoreUnderTest<DocumentStore & ProjectionCheckpoints>>,
  api: ContractTestApi,
): void {
  const { expect, it } = api;
  suite(`document store contract: ${adapter}`, create, api, (current) => {
    it('commits documents and the checkpoint together', async () => {
      const name = fresh();
      await current().createGeneration(name, 1, collections);
      await current().transact(async (tx) => {
        await tx
          .documents(name, 1)
          .put('items', 'a', { kind: 'x', rank: 1, nested: { b: 2, a: 1 } });
        await tx.saveCheckpoint(name, 1, { position: position(7), eventsApplied: 3 });
        await tx.saveRecord(recordOf(name));
      });
      expect(await current().checkpoint(name, 1)).toEqual({
        position: position(7),
        eventsApplied: 3,
      });
      expect(await current().find(name, 'items', { limit: 10 })).toEqual([
        { kind: 'x', rank: 1, nested: { a: 1, b: 2 } },
      ]);
      expect(await current().record(name)).toEqual(recordOf(name));
    });

    it('rolls back documents and checkpoint together when the work fails', async () => {
      const name = fresh();
      await current().createGeneration(name, 1, collections);
      await current().transact(async (tx) => {
        await tx.saveRecord(recordOf(name));
        await tx.saveCheckpoint(name, 1, { position: position(1), eventsApplied: 1 });
      });
      const failed = current().transact(async (tx) => {
        await tx.documents(name, 1).put('items', 'a', { kind: 'x' });
        await tx.saveCheckpoint(name, 1, { position: position(2), eventsApplied: 2 });
        throw new Error('handler failed');
      });
      await expect(failed).rejects.toThrow('handler failed');
      expect(await current().checkpoint(name, 1)).toEqual({
        position: position(1),
        eventsApplied: 1,
      });
      expect(await current().find(name, 'items', { limit: 10 })).toEqual([]);
    });

    it('gets, replaces and deletes documents inside a transaction', async () => {
      const name = fresh();
      await current().createGeneration(name, 1, collections);
      await current().transact(async (tx) => {
        const docs = tx.documents(name, 1);
        expect(await docs.get('items', 'a')).toBeUndefined();
        await docs.put('items', 'a', { kind: 'x', rank: 1 });
        expect(await docs.get('items', 'a')).toEqual({ kind: 'x', rank: 1 });
        await docs.put('items', 'a', { kind: 'y', rank: 2 });
        await docs.put('items', 'b', { kind: 'y', rank: 3 });
        await docs.delete('items', 'b');
        await tx.saveRecord(recordOf(name));
      });
      expect(await current().find(name, 'items', { limit: 10 })).toEqual([{ kind: 'y', rank: 2 }]);
    });

    it('sees its own deletes of stored documents, and stores a document as it was put', async () => {
      const name = fresh();
      await current().createGeneration(name, 1, collections);
      await current().transact(async (tx) => {
        await tx.documents(name, 1).put('items', 'a', { kind: 'x', rank: 1 });
        await tx.documents(name, 1).put('items', 'b', { kind: 'x', rank: 2 });
        await tx.saveRecord(recordOf(name));
      });
      await current().transact(async (tx) => {
        const docs = tx.documents(name, 1);
        await docs.delete('items', 'a');
        expect(await docs.get('items', 'a')).toBeUndefined();
        await docs.delete('items', 'b');
        const again = { kind: 'z', rank: 3 };
        await docs.put('items', 'b', again);
        // Changing the object after the put changes nothing stored.
        again.rank = 99;
        expect(await docs.get('items', 'b')).toEqual({ kind: 'z', rank: 3 });
      });
      expect(await current().find(name, 'items', { limit: 10 })).toEqual([{ kind: 'z', rank: 3 }]);
    });

    it('filters by fields and pages by id in byte order', async () => {
      const name = fresh();
      await current().createGeneration(name, 1, collections);
      const ids = ['b', 'B', 'a-1', 'a/2', 'Z', 'a.3', 'c'];
      await current().transact(async (tx) => {
        for (const [i, id] of ids.entries())
          await tx
            .documents(name, 1)
            .put('items', id, { id, kind: i % 2 ? 'odd' : 'even', rank: i, flag: i === 0 });
        await tx.saveRecord(recordOf(name));
      });
      const all = await current().find(name, 'items', { limit: 100 });
      expect(all.map((d) => d['id'])).toEqual(
        [...ids].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1)),
      );
      const even = await current().find(name, 'items', { where: { kind: 'even' }, limit: 100 });
      expect(even.map((d) => d['rank']).sort()).toEqual([0, 2, 4, 6]);
      expect(await current().find(name, 'items', { where: { rank: 3 }, limit: 10 })).toHaveLength(
        1,
      );
      expect(
        await current().find(name, 'items', { where: { flag: true }, limit: 10 }),
      ).toHaveLength(1);
      const page1 = await current().find(name, 'items', { limit: 3 });
      const page2 = await current().find(name, 'items', {
        limit: 3,
        after: page1[2]!['id'] as string,
      });
      expect([...page1, ...page2].map((d) => d['id'])).toEqual(all.slice(0, 6).map((d) => d['id']));
    });

    it('keeps generations apart, reads the active one, and drops old ones', async () => {
      const name = fresh();
      await current().createGeneration(name, 1, collections);
      await current().createGeneration(name, 2, collections);
      await current().transact(async (tx) => {
        await tx.documents(name, 1).put('items', 'a', { g: 1 });
        await tx.documents(name, 2).put('items', 'a', { g: 2 });
        await tx.saveCheckpoint(name, 2, { position: position(5), eventsApplied: 5 });
        await tx.saveRecord(recordOf(name, 1));
      });
      expect(await current().find(name, 'items', { limit: 5 })).toEqual([{ g: 1 }]);
      await current().transact((tx) => tx.saveRecord(recordOf(name, 2)));
      expect(await current().find(name, 'items', { limit: 5 })).toEqual([{ g: 2 }]);
      await current().dropGeneration(name, 1, collections);
      expect(await current().checkpoint(name, 2)).toEqual({
        position: position(5),
        eventsApplied: 5,
      });
      expect(await current().checkpoint(name, 1)).toBeUndefined();
    });

    it('digests content, not write order or key order', async () => {
      const [a, b] = [fresh(), fresh()];
      for (const name of [a, b]) await current().createGeneration(name, 1, collections);
      await current().transact(async (tx) => {
        await tx.documents(a, 1).put('items', '1', { x: 1, y: [1, 2] });
        await tx.documents(a, 1).put('items', '2', { z: null });
        await tx.documents(b, 1).put('items', '2', { z: null });
        await tx.documents(b, 1).put('items', '1', { y: [1, 2], x: 1 });
      });
      const digestA = await current().digest(a, 1, collections);
      expect(digestA).toMatch(/^[0-9a-f]{64}$/);
      expect(await current().digest(b, 1, collections)).toBe(digestA);
      await current().transact((tx) => tx.documents(b, 1).put('items', '1', { y: [2, 1], x: 1 }));
      expect(await current().digest(b, 1, collections)).not.toBe(digestA);
    });
  });
}

/**
 * Checkpoints and records of projections: stored in the transaction of the documents they
 * describe, one per generation, read back exactly (a rebuild's unknown total included), listed.
 */
export function describeCheckpointStoreContract(
  adapter: string,
  create: () => Promise<StoreUnderTest<ProjectionGenerations & ProjectionCheckpoints>>,
  api: ContractTestApi,
): void {
  const { expect, it } = api;
  suite(`checkpoint store contract: ${adapter}`, create, api, (current) => {
    it('keeps one checkpoint per generation, and nothing for a generation never written', async () => {
      const name = fresh();
      await current().createGeneration(name, 1, collections);
      await current().createGeneration(name, 2, collections);
      expect(await current().checkpoint(name, 1)).toBeUndefined();
      await current().transact(async (tx) => {
        await tx.saveCheckpoint(name, 1, { position: position(3), eventsApplied: 3 });
        await tx.saveCheckpoint(name, 2, { position: position(9), eventsApplied: 1 });
      });
      await current().transact((tx) =>
        tx.saveCheckpoint(name, 1, { position: position(4), eventsApplied: 4 }),
      );
      expect(await current().checkpoint(name, 1)).toEqual({
        position: position(4),
        eventsApplied: 4,
      });
      expect(await current().checkpoint(name, 2)).toEqual({
        position: position(9),
        eventsApplied: 1,
      });
    });

    it('reads a record back exactly, a failure and a rebuild with an unknown total included', async () => {
      const name = fresh();
      const record: ProjectionRecord = {
        ...recordOf(name, 3),
        status: ProjectionStatus.Stopped,
        failure: {
          message: 'boom',
          streamName: 'orderFulfillment-o-1',
          revision: 2,
          type: 'PaymentReceived',
          position: '7/7',
        },
        rebuild: {
          generation: 4,
          reason: 'requested',
          startedAt: new Date(0).toISOString(),
          totalEvents: null,
        },
        lag: { events: 12, seconds: 1.5 },
      };
      expect(await current().record(name)).toBeUndefined();
      await current().transact((tx) => tx.saveRecord(record));
      expect(await current().record(name)).toEqual(record);
      expect((await current().records()).map((r) => r.name)).toContain(name);
    });
  });
}

/**
 * Leases: one owner at a time; the holder renews; another owner takes over only once the lease
 * expired or was released by its holder (a release by anyone else changes nothing).
 */
export function describeLeaseStoreContract(
  adapter: string,
  create: () => Promise<StoreUnderTest<LeaseStore>>,
  api: ContractTestApi,
): void {
  const { expect, it } = api;
  suite(`lease store contract: ${adapter}`, create, api, (current) => {
    it('grants a lease to one owner at a time until it expires or is released', async () => {
      const name = fresh();
      expect(await current().acquireLease(name, 'one', 60_000)).toBe(true);
      expect(await current().acquireLease(name, 'two', 60_000)).toBe(false);
      expect(await current().acquireLease(name, 'one', 60_000)).toBe(true); // renewal
      await current().releaseLease(name, 'one');
      expect(await current().acquireLease(name, 'two', 1)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await current().acquireLease(name, 'three', 60_000)).toBe(true); // two's lease expired
    });

    it('hands over at once on release, and only the holder can release', async () => {
      const name = fresh();
      expect(await current().acquireLease(name, 'holder', 60_000)).toBe(true);
      await current().releaseLease(name, 'intruder');
      expect(await current().acquireLease(name, 'intruder', 60_000)).toBe(false);
      await current().releaseLease(name, 'holder');
      expect(await current().acquireLease(name, 'next', 60_000)).toBe(true);
      expect(await current().acquireLease(name, 'holder', 60_000)).toBe(false);
    });

    it('keeps leases of different names apart', async () => {
      const [a, b] = [fresh(), fresh()];
      expect(await current().acquireLease(a, 'one', 60_000)).toBe(true);
      expect(await current().acquireLease(b, 'two', 60_000)).toBe(true);
    });
  });
}

/** Operator requests: queued per projection, handed out once each, in the order asked. */
export function describeProjectionRequestsContract(
  adapter: string,
  create: () => Promise<StoreUnderTest<ProjectionRequests>>,
  api: ContractTestApi,
): void {
  const { expect, it } = api;
  suite(`projection requests contract: ${adapter}`, create, api, (current) => {
    it('queues operator requests and hands each out once, in order', async () => {
      const [name, other] = [fresh(), fresh()];
      await current().request(name, 'rebuild');
      await current().request(other, 'retry');
      await current().request(name, 'skip');
      expect((await current().pendingRequests(name)).map((r) => r.kind)).toEqual([
        'rebuild',
        'skip',
      ]);
      const taken = await current().takeRequests([name]);
      expect(taken.map((r) => [r.projection, r.kind])).toEqual([
        [name, 'rebuild'],
        [name, 'skip'],
      ]);
      expect(await current().takeRequests([name])).toEqual([]);
      expect(await current().pendingRequests(other)).toHaveLength(1);
    });
  });
}

/** Processor reports: one per owner, replaced by its next, stale ones forgotten. */
export function describeProcessorReportsContract(
  adapter: string,
  create: () => Promise<StoreUnderTest<ProcessorReports>>,
  api: ContractTestApi,
): void {
  const { expect, it } = api;
  const bridge = (state: string, lag: number): ProcessorStatus => ({
    name: 'kafka-bridge',
    kind: 'kafkaBridge',
    state,
    position: '12/12',
    lag: { events: lag, seconds: 0.5 },
    failing: false,
  });
  suite(`processor reports contract: ${adapter}`, create, api, (current) => {
    it("keeps each owner's latest report, exactly, and forgets one nobody renewed", async () => {
      const [one, two, gone] = [fresh(), fresh(), fresh()];
      const now = Date.now();
      const at = (ms: number) => new Date(ms).toISOString();
      const stale = now - PROCESSOR_REPORT_RETENTION_MS - 60_000;
      await current().reportProcessors({ owner: gone, reportedAt: at(stale), processors: [] });
      await current().reportProcessors({
        owner: one,
        reportedAt: at(now - 1000),
        processors: [bridge('catchingUp', 40)],
      });
      const failing: ProcessorStatus = {
        ...bridge('stopped', 3),
        failing: true,
        lastError: { code: 'KAFKA_UNAVAILABLE', message: 'no broker answered' },
      };
      await current().reportProcessors({ owner: one, reportedAt: at(now), processors: [failing] });
      await current().reportProcessors({ owner: two, reportedAt: at(now), processors: [] });
      const reports = (await current().processorReports()).filter((report) =>
        [one, two, gone].includes(report.owner),
      );
      expect(reports).toEqual(
        [
          { owner: one, reportedAt: at(now), processors: [failing] },
          { owner: two, reportedAt: at(now), processors: [] },
        ].sort((a, b) => (a.owner < b.owner ? -1 : 1)),
      );
    });
  });
}

/**
 * Everything a read-model store does for the projection runtime, as the five suites above:
 * documents, checkpoints, leases, operator requests and processor reports. Runs against SQLite
 * and PostgreSQL.
 */
export function describeReadModelStoreContract(
  adapter: string,
  create: () => Promise<ReadModelStoreUnderTest>,
  api: ContractTestApi,
): void {
  api.describe(`read-model store contract: ${adapter}`, () => {
    describeDocumentStoreContract(adapter, create, api);
    describeCheckpointStoreContract(adapter, create, api);
    describeLeaseStoreContract(adapter, create, api);
    describeProjectionRequestsContract(adapter, create, api);
    describeProcessorReportsContract(adapter, create, api);
  });
}
