import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMemoryEventStore,
  EventStore,
  ExpectedRevision,
  SnapshotStore,
  WorkflowEngine,
} from '@esflow/core';
import { createEsflowRuntime } from '@esflow/nest';
import {
  createEmbeddedSchemaRegistry,
  createSqliteEventStore,
  createSqliteSnapshotStore,
} from '@esflow/sqlite';
import { tallyFeature } from '../workloads/tally.workflow';

/** What one stream length costs: a cold load (replayed, and from a snapshot) and a hot send. */
export interface StreamLengthRow {
  /** Events in the instance's stream. */
  readonly events: number;
  /** A cold load (nothing cached) replaying the whole stream from SQLite, in ms (median). */
  readonly coldReplayMs: number;
  /** A cold load from the latest snapshot and the events after it, in ms (median). */
  readonly coldSnapshotMs: number;
  /** A send to the cached instance on the in-memory store (no fsync: the CPU cost), in µs. */
  readonly hotSendMemoryUs: number;
  /** A send to the cached instance on SQLite (synchronous=FULL: one fsync each), in ms. */
  readonly hotSendSqliteMs: number;
}

export interface StreamLengthResult {
  readonly rows: readonly StreamLengthRow[];
  /** The snapshot interval the snapshot column used. */
  readonly snapshotEvery: number;
}

const median = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

async function engineOn(
  store: EventStore,
  database: string,
  options: { cache: boolean; snapshots?: SnapshotStore; every?: number },
): Promise<WorkflowEngine> {
  const { engine } = await createEsflowRuntime({
    store,
    registry: createEmbeddedSchemaRegistry({ filename: database }),
    features: [{ feature: tallyFeature, registeredBy: 'bench' }],
    instanceCacheSize: options.cache ? 10_000 : 0,
    ...(options.snapshots
      ? { snapshots: { store: options.snapshots, policy: { every: options.every ?? 500 } } }
      : {}),
  });
  return engine;
}

const counted = (id: string, i: number) => ({
  workflow: 'tally',
  id,
  type: 'Counted',
  payload: { amount: i % 7 },
});

/**
 * A tally of `events` events (also used by the UI pages scenario), made on the in-memory store (fast: no fsync) and copied into
 * `sqlite` as it was recorded, one append per 500 events.
 */
export async function longTally(
  maker: WorkflowEngine,
  source: EventStore,
  sqlite: EventStore,
  id: string,
  events: number,
): Promise<void> {
  const started = await maker.startWorkflow.handle({ workflow: 'tally', input: { tallyId: id } });
  if (!started.ok) throw new Error(`tally ${id}: ${JSON.stringify(started.rejection)}`);
  for (let i = 1; i < events; i++) {
    const sent = await maker.sendEvent.handle(counted(id, i));
    if (!sent.ok) throw new Error(`tally ${id}: ${JSON.stringify(sent.rejection)}`);
  }
  const recorded = await source.readStream(`tally-${id}`);
  for (let from = 0; from < recorded.length; from += 500) {
    const chunk = recorded.slice(from, from + 500);
    await sqlite.append(
      `tally-${id}`,
      chunk.map(({ eventId, type, data, metadata }) => ({ eventId, type, data, metadata })),
      { expectedRevision: from === 0 ? ExpectedRevision.NoStream : from - 1 },
    );
  }
}

async function timed(times: number, run: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return samples;
}

/**
 * What an instance costs as its stream grows, at each of `lengths` events: a cold load that
 * replays the stream, a cold load from a snapshot (taken every `snapshotEvery` events), and a
 * send to the cached instance, on the in-memory store (the engine's own CPU cost) and on
 * SQLite (what a client sees, one fsync per send). Flat means the 10 000-event figures stay
 * near the 10-event ones.
 */
export async function measureStreamLength(
  lengths: readonly number[] = [10, 1_000, 10_000],
  snapshotEvery = 500,
): Promise<StreamLengthResult> {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-bench-streams-'));
  const database = join(dir, 'streams.sqlite');
  const sqlite = createSqliteEventStore({ filename: database });
  const snapshots = createSqliteSnapshotStore({ filename: join(dir, 'snapshots.sqlite') });
  const memory = createMemoryEventStore();
  const rows: StreamLengthRow[] = [];
  try {
    const maker = await engineOn(memory, database, { cache: true });
    for (const events of lengths) await longTally(maker, memory, sqlite, `t-${events}`, events);

    const replaying = await engineOn(sqlite, database, { cache: false });
    const snapshotting = await engineOn(sqlite, database, {
      cache: false,
      snapshots,
      every: snapshotEvery,
    });
    const hotMemory = await engineOn(memory, database, { cache: true });
    const hotSqlite = await engineOn(sqlite, database, { cache: true });
    for (const events of lengths) {
      const id = `t-${events}`;
      const load = (engine: WorkflowEngine) => () => engine.queries.get('tally', id);
      const repeats = events >= 10_000 ? 5 : 20;
      await load(replaying)(); // warm the codec and the JIT for this shape
      const coldReplayMs = median(await timed(repeats, load(replaying)));
      await load(snapshotting)(); // its first load writes the snapshot the others start from
      await new Promise((resolve) => setTimeout(resolve, 50));
      const coldSnapshotMs = median(await timed(repeats, load(snapshotting)));
      await load(hotMemory)();
      let i = 0;
      const memorySends = await timed(500, () => hotMemory.sendEvent.handle(counted(id, i++)));
      await load(hotSqlite)();
      const sqliteSends = await timed(100, () => hotSqlite.sendEvent.handle(counted(id, i++)));
      rows.push({
        events,
        coldReplayMs,
        coldSnapshotMs,
        hotSendMemoryUs: median(memorySends) * 1000,
        hotSendSqliteMs: median(sqliteSends),
      });
    }
    return { rows, snapshotEvery };
  } finally {
    await sqlite.close();
    await snapshots.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
