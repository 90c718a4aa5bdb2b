import { mkdtempSync, rmSync } from 'node:fs';
import * as vitest from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedSchemaRegistry } from '@esflow/sqlite';
import { describeSchemaRegistryContract } from '@esflow/testing';

describeSchemaRegistryContract(
  'embedded (SQLite)',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-registry-contract-'));
    const registry = createEmbeddedSchemaRegistry({ filename: join(dir, 'registry.sqlite') });
    return {
      registry,
      dispose: async () => {
        await registry.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  vitest,
);
