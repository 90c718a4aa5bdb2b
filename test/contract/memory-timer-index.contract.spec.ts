import { createMemoryTimerIndex } from '@esflow/core';
import * as vitest from 'vitest';
import { describeTimerIndexContract } from '@esflow/testing';

describeTimerIndexContract(
  'memory',
  async () => ({ index: createMemoryTimerIndex(), dispose: async () => undefined }),
  vitest,
  { durable: false },
);
