import { createMemorySnapshotStore } from '@esflow/core';
import * as vitest from 'vitest';
import { describeSnapshotStoreContract } from '@esflow/testing';

describeSnapshotStoreContract(
  'memory',
  async () => ({ store: createMemorySnapshotStore(), dispose: async () => undefined }),
  vitest,
);
