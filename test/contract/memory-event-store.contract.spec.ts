import { createMemoryEventStore } from '@esflow/core';
import * as vitest from 'vitest';
import { describeEventStoreContract } from '@esflow/testing';

describeEventStoreContract(
  'memory',
  async () => {
    const store = createMemoryEventStore();
    return { store, dispose: () => store.close() };
  },
  vitest,
);
