import { SnapshotStore } from '@esflow/core';
import { itOnAFresh } from './contract-support';
import { ContractTestApi } from './test-api';

/**
 * What a factory gives {@link describeSnapshotStoreContract}: an empty snapshot store, how to
 * dispose of it, and, for a durable adapter, how to open a second store on the same storage.
 */
export interface SnapshotStoreUnderTest {
  readonly store: SnapshotStore;
  dispose(): Promise<void>;
  reopen?(): Promise<SnapshotStore>;
}

/**
 * The contract every {@link SnapshotStore} adapter passes: a read gives the latest snapshot
 * written for that stream and no other's; a write never replaces a snapshot with an older or
 * equal revision; discard forgets all snapshots, or those of one stream-name prefix, and says how
 * many; a durable adapter keeps them across a reopen.
 */
export function describeSnapshotStoreContract(
  name: string,
  create: () => Promise<SnapshotStoreUnderTest>,
  test: ContractTestApi,
): void {
  const { describe, expect } = test;
  const itOnAFreshStore = itOnAFresh(test.it, create, (subject) => subject.store);
  const snapshot = (streamName: string, revision: number, data = `{"r":${revision}}`) => ({
    streamName,
    revision,
    data,
  });

  describe(`SnapshotStore contract: ${name}`, () => {
    itOnAFreshStore('reads nothing for a stream without a snapshot', async (store) => {
      expect(await store.read('orderFulfillment-o-1')).toBeUndefined();
    });

    itOnAFreshStore(
      'reads back the latest snapshot of each stream, and only its own',
      async (store) => {
        await store.write(snapshot('orderFulfillment-o-1', 500));
        await store.write(snapshot('orderFulfillment-o-2', 1000));
        await store.write(snapshot('orderFulfillment-o-1', 1000, '{"later":true}'));
        expect(await store.read('orderFulfillment-o-1')).toEqual(
          snapshot('orderFulfillment-o-1', 1000, '{"later":true}'),
        );
        expect(await store.read('orderFulfillment-o-2')).toEqual(
          snapshot('orderFulfillment-o-2', 1000),
        );
        expect(await store.read('orderFulfillment-o-3')).toBeUndefined();
      },
    );

    itOnAFreshStore(
      'never replaces a snapshot with one of an older or the same revision',
      async (store) => {
        await store.write(snapshot('s-1', 1000, '{"first":true}'));
        await store.write(snapshot('s-1', 500));
        await store.write(snapshot('s-1', 1000, '{"second":true}'));
        expect(await store.read('s-1')).toEqual(snapshot('s-1', 1000, '{"first":true}'));
      },
    );

    itOnAFreshStore(
      'discards the snapshots of one prefix, or all, and counts them',
      async (store) => {
        await store.write(snapshot('orderFulfillment-o-1', 10));
        await store.write(snapshot('orderFulfillment-o-2', 10));
        await store.write(snapshot('kycOnboarding-k-1', 10));
        expect(await store.discard('orderFulfillment-')).toBe(2);
        expect(await store.read('orderFulfillment-o-1')).toBeUndefined();
        expect(await store.read('kycOnboarding-k-1')).toEqual(snapshot('kycOnboarding-k-1', 10));
        expect(await store.discard()).toBe(1);
        expect(await store.read('kycOnboarding-k-1')).toBeUndefined();
        // After a discard any revision may be written again.
        await store.write(snapshot('kycOnboarding-k-1', 5));
        expect((await store.read('kycOnboarding-k-1'))?.revision).toBe(5);
      },
    );

    itOnAFreshStore('keeps a large snapshot byte for byte', async (store) => {
      const data = JSON.stringify({ text: 'ü€'.repeat(50_000), n: [1, 2, 3] });
      await store.write(snapshot('s-big', 3, data));
      expect((await store.read('s-big'))?.data).toBe(data);
    });

    test.it('keeps snapshots across a reopen of its storage, when durable', async () => {
      const subject = await create();
      try {
        if (!subject.reopen) {
          // Not durable: nothing to check beyond the object's own life.
          expect(subject.reopen).toBeUndefined();
          return;
        }
        await subject.store.write(snapshot('s-1', 42));
        const reopened = await subject.reopen();
        try {
          expect(await reopened.read('s-1')).toEqual(snapshot('s-1', 42));
        } finally {
          await reopened.close();
        }
      } finally {
        await subject.dispose();
      }
    });
  });
}
