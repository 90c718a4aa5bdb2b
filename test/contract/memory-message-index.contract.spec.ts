import { createMemoryMessageIndex } from '@esflow/core';
import * as vitest from 'vitest';
import { describeMessageIndexContract } from '@esflow/testing';

describeMessageIndexContract(
  'memory',
  async () => ({ index: createMemoryMessageIndex(), dispose: async () => undefined }),
  vitest,
  { durable: false },
);
