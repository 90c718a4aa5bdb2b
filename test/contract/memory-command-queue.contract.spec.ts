import { createMemoryCommandQueue } from '@esflow/core';
import * as vitest from 'vitest';
import { describeCommandQueueContract } from '@esflow/testing';

describeCommandQueueContract(
  'memory',
  async () => ({ queue: createMemoryCommandQueue(), dispose: async () => undefined }),
  vitest,
  { durable: false },
);
