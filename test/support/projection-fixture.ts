import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EventStore,
  ProjectionDefinition,
  ProjectionRunner,
  ReadModelStore,
  realSleep,
  systemClockForTests,
} from './projection-fixture-deps';
import { createSqliteReadModelStore } from '@esflow/sqlite';

export { systemClockForTests };

/** A read model in a temporary SQLite file. */
export async function tempSqliteReadModel(): Promise<{
  readModel: ReadModelStore;
  dispose(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-projection-'));
  const readModel = createSqliteReadModelStore({ filename: join(dir, 'readmodel.sqlite') });
  await readModel.migrate();
  return {
    readModel,
    dispose: async () => {
      await readModel.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function runnerFor(
  definition: ProjectionDefinition,
  store: EventStore,
  readModel: ReadModelStore,
  owner = 'test-owner',
  onError?: (message: string) => void,
): ProjectionRunner {
  return new ProjectionRunner({
    definition,
    store,
    readModel,
    decode: async () => ({}),
    clock: systemClockForTests,
    sleep: realSleep,
    owner,
    batchSize: 50,
    heartbeatMs: 50,
    leaseTtlMs: 1_000,
    ...(onError ? { onError: (message: string) => onError(message) } : {}),
  });
}
