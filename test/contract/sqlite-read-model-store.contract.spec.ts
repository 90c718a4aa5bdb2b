import { mkdtempSync, rmSync } from 'node:fs';
import * as vitest from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteReadModelStore } from '@esflow/sqlite';
import { describeReadModelStoreContract } from '@esflow/testing';

describeReadModelStoreContract(
  'sqlite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-readmodel-'));
    const store = createSqliteReadModelStore({ filename: join(dir, 'readmodel.sqlite') });
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
