import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExpectedRevision } from '@esflow/core';
import { createSqliteEventStore } from '@esflow/sqlite';

export interface StoreAppendResult {
  readonly writers: number;
  readonly appendsPerSecond: number;
  readonly appendsPerCommit: number;
}

/**
 * The baseline: the raw SQLite store (synchronous=FULL), appending one ~200-byte event per
 * call to fresh streams, with `writers` appends in flight at once, for `seconds`.
 */
export async function measureStoreAppends(
  writers: number,
  seconds: number,
): Promise<StoreAppendResult> {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-bench-store-'));
  const store = createSqliteEventStore({ filename: join(dir, 'bench.sqlite') });
  const data = new Uint8Array(200).fill(7);
  const deadline = Date.now() + seconds * 1000;
  let appends = 0;
  const writer = async () => {
    while (Date.now() < deadline) {
      await store.append(
        `bench-${randomUUID()}`,
        [{ eventId: randomUUID(), type: 'Benchmarked', data, metadata: { bench: true } }],
        {
          expectedRevision: ExpectedRevision.NoStream,
        },
      );
      appends++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, writer));
  const elapsed = (performance.now() - started) / 1000;
  const stats = store.stats();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    writers,
    appendsPerSecond: appends / elapsed,
    appendsPerCommit: stats.appends / stats.commits,
  };
}
