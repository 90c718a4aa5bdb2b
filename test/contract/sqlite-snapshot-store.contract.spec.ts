import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vitest from 'vitest';
import { createSqliteSnapshotStore } from '@esflow/sqlite';
import { describeSnapshotStoreContract } from '@esflow/testing';

describeSnapshotStoreContract(
  'sqlite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-snapshots-'));
    const filename = join(dir, 'snapshots.sqlite');
    const store = createSqliteSnapshotStore({ filename });
    return {
      store,
      reopen: async () => createSqliteSnapshotStore({ filename }),
      dispose: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  vitest,
);
