import { mkdtempSync, rmSync } from 'node:fs';
import * as vitest from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore } from '@esflow/sqlite';
import { describeEventStoreContract } from '@esflow/testing';

describeEventStoreContract(
  'sqlite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-sqlite-contract-'));
    const store = createSqliteEventStore({
      filename: join(dir, 'events.sqlite'),
      pollIntervalMs: 20,
    });
    return {
      store,
      dispose: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  vitest,
);
