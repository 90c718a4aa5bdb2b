import { join } from 'node:path';
import { createMemoryEventStore } from '@esflow/core';
import { createEsflowRuntime } from '@esflow/nest';
import { createEmbeddedSchemaRegistry, createSqliteEventStore } from '@esflow/sqlite';
import { startTestApp } from '@esflow/testing';
import { EsflowUiModule } from '@esflow/ui';
import { tallyFeature } from '../workloads/tally.workflow';
import { longTally } from './stream-length';

/** What opening one instance's page in the debugger UI costs at one stream length. */
export interface UiPageRow {
  readonly events: number;
  /** The first open (the instance not cached, the page rendered), ms. */
  readonly firstOpenMs: number;
  /** Later opens of the newest timeline page, median, ms. */
  readonly openMs: number;
  /** An older timeline page (`?from=`), median, ms. */
  readonly olderPageMs: number;
  /** The page's size, bytes. */
  readonly pageBytes: number;
}

const median = (samples: number[]) =>
  [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

async function get(url: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const response = await fetch(url);
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${body.slice(0, 200)}`);
  return { ms: performance.now() - t0, bytes: Buffer.byteLength(body) };
}

/**
 * The debugger UI's instance page over HTTP for instances of 10, 1 000 and 10 000 events (an app
 * on SQLite serving the tally workflow, as a user's service would): the first open, later
 * opens, and an older timeline page. The 10-event figures are the baseline; the target is a
 * 10 000-event instance opening in under a second.
 */
export async function measureUiPages(
  lengths: readonly number[] = [10, 1_000, 10_000],
): Promise<UiPageRow[]> {
  const app = await startTestApp({
    features: [tallyFeature],
    imports: [EsflowUiModule],
    projector: false,
  });
  try {
    const database = join(app.dataDir, 'esflow.sqlite');
    const memory = createMemoryEventStore();
    const { engine: maker } = await createEsflowRuntime({
      store: memory,
      registry: createEmbeddedSchemaRegistry({ filename: database }),
      features: [{ feature: tallyFeature, registeredBy: 'bench' }],
    });
    const sqlite = createSqliteEventStore({ filename: database });
    for (const events of lengths) await longTally(maker, memory, sqlite, `ui-${events}`, events);
    await sqlite.close();
    const rows: UiPageRow[] = [];
    for (const events of lengths) {
      const url = `${app.baseUrl}/ui/workflows/tally/ui-${events}`;
      const first = await get(url);
      const opens: number[] = [];
      for (let i = 0; i < 15; i++) opens.push((await get(url)).ms);
      const older: number[] = [];
      for (let i = 0; i < 15; i++)
        older.push((await get(`${url}?from=${Math.floor(events / 2)}`)).ms);
      rows.push({
        events,
        firstOpenMs: first.ms,
        openMs: median(opens),
        olderPageMs: median(older),
        pageBytes: first.bytes,
      });
    }
    return rows;
  } finally {
    await app.close();
  }
}
