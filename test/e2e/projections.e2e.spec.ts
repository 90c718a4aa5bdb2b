import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInProjections, ReadModelStore } from '@esflow/core';
import {
  driveSampleOrders as loadOrders,
  orderFulfillmentFeature,
} from '@esflow/example-order-fulfillment';
import { createEsflowRuntime } from '@esflow/nest';
import {
  createEmbeddedSchemaRegistry,
  createSqliteEventStore,
  createSqliteReadModelStore,
  SqliteEventStore,
} from '@esflow/sqlite';
import { AppProcess, startApp } from '../support/app-process';
import { httpClient } from '../support/http-client';
import { waitFor } from '../support/wait-for';

const INSTANCES = 10_000;
// The built-in projections, over the orders this suite writes (the apps run the examples'
// own projections too; they see none of these events and are left out of the checks).
const projections = builtInProjections(['orderFulfillment']);
const checked = new Set(projections.map((projection) => projection.name));
/** What the projections read: the workflow's streams (not esflow's kept writer schemas). */
const WORKFLOW_STREAMS = { streamNamePrefixes: ['orderFulfillment-'] };
// Small batches make the projector's work long enough for the kill points to land inside it.
// No rebuild cooldown: the rounds below rebuild again right after the last one swapped.
const env = {
  ESFLOW_PROJECTION_LEASE_MS: '1500',
  ESFLOW_PROJECTION_BATCH_SIZE: '50',
  ESFLOW_REBUILD_COOLDOWN_MS: '0',
};

type ProjectionStatus = {
  name: string;
  status: string;
  generation: number;
  eventsApplied: number;
  rebuild?: { applied: number; totalEvents: number };
};

describe('projections at scale, with crashes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'esflow-projections-e2e-'));
  let store: SqliteEventStore;
  let readModel: ReadModelStore;
  let api: AppProcess;
  let projector: AppProcess | undefined;
  let total = 0;
  const kills: string[] = [];

  beforeAll(async () => {
    // Write the history in-process (faster than HTTP); the api and projector share the files.
    store = createSqliteEventStore({
      filename: join(dataDir, 'esflow.sqlite'),
      synchronous: 'NORMAL',
    });
    const { engine } = await engineOnDataDir();
    await loadOrders(engine, INSTANCES, { prefix: 'bulk' });
    total = (await store.readAll({ filter: WORKFLOW_STREAMS })).length;
    api = await startApp('api', { dataDir, env });
    readModel = createSqliteReadModelStore({ filename: join(dataDir, 'readmodel.sqlite') });
  }, 300_000);

  afterAll(async () => {
    await projector?.dispose();
    await api?.dispose();
    await readModel?.close();
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const engineOnDataDir = () =>
    createEsflowRuntime({
      store,
      registry: createEmbeddedSchemaRegistry({ filename: join(dataDir, 'esflow.sqlite') }),
      features: [{ feature: orderFulfillmentFeature, registeredBy: 'projections e2e' }],
    });
  const http = () => httpClient(api.baseUrl);
  const statuses = async () =>
    (await http().get<{ projections: ProjectionStatus[] }>('/projections')).body.projections.filter(
      (projection) => checked.has(projection.name),
    );
  const allLiveAt = async (expected: number) =>
    (await statuses()).every(
      (p) => p.eventsApplied === expected && p.status === 'live' && !p.rebuild,
    );
  /** The slowest projection's progress through its current work (live catch-up or rebuild), 0..1. */
  const progressOf = (current: ProjectionStatus[], rebuilding: boolean) =>
    Math.min(
      ...current.map((p) =>
        rebuilding
          ? p.rebuild
            ? p.rebuild.applied / p.rebuild.totalEvents
            : 1
          : p.eventsApplied / total,
      ),
    );

  /**
   * Kills the projector with SIGKILL once the slowest projection has passed a random point
   * between `from` and `to` of its work, then restarts it. Returns whether work was left.
   */
  const crashBetween = async (from: number, to: number, rebuilding: boolean, label: string) => {
    const target = from + Math.random() * (to - from);
    const current = await waitFor(
      async () => {
        const now = await statuses();
        return progressOf(now, rebuilding) >= target && now;
      },
      // Generous: on 2 cores shared with other suites the backlog may take long to reach it.
      { timeoutMs: 120_000, intervalMs: 5, what: `progress ${target.toFixed(2)}` },
    );
    await projector!.kill('SIGKILL');
    const progress = progressOf(current, rebuilding);
    kills.push(
      `${label} at ${(progress * 100).toFixed(1)}% (target ${(target * 100).toFixed(1)}%)`,
    );
    await projector!.restart();
    return progress < 1;
  };

  it('has at least 10,000 instances and 50,000 events', () => {
    expect(total).toBeGreaterThanOrEqual(50_000);
  });

  it('survives SIGKILLs during live processing and ends with every event applied exactly once', async () => {
    projector = await startApp('projector', { dataDir, env });
    // Crash it three times while it works through the backlog (and new orders keep arriving).
    const { engine } = await engineOnDataDir();
    const moreOrders = loadOrders(engine, 300, { prefix: 'live', concurrency: 4 });
    const live = [
      await crashBetween(0.05, 0.3, false, 'live kill 1'),
      await crashBetween(0.35, 0.6, false, 'live kill 2'),
      await crashBetween(0.65, 0.9, false, 'live kill 3'),
    ];
    expect(live.filter(Boolean).length, kills.join('\n')).toBeGreaterThanOrEqual(2);
    await moreOrders;
    total = (await store.readAll({ filter: WORKFLOW_STREAMS })).length;
    await waitFor(() => allLiveAt(total), {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: `every projection live at ${total} events`,
    });
    // The instance list is exact: one row per instance, each at its stream's last revision.
    const counted = await readModel.find('instances', 'instances', { limit: 100_000 });
    expect(counted).toHaveLength(INSTANCES + 300);
    const stats = (
      await http().get<{ workflows: { orderFulfillment: { total: number } } }>('/stats')
    ).body;
    expect(stats.workflows.orderFulfillment.total).toBe(INSTANCES + 300);
  }, 240_000);

  it('rebuilds every projection into a read model identical to the live one, across SIGKILLs mid-rebuild, while queries answer', async () => {
    const digests = (generation: number) =>
      Promise.all(
        projections.map((definition) =>
          readModel.digest(definition.name, generation, definition.collections),
        ),
      );
    const live = await digests(1);
    // Two rebuild rounds (generations 2 and 3), each crashed once part-way.
    for (const [round, generation] of [
      [1, 2],
      [2, 3],
    ] as const) {
      for (const definition of projections)
        expect(
          (await http().request('POST', `/projections/${definition.name}/rebuild`)).status,
        ).toBe(202);
      await waitFor(
        async () => (await statuses()).every((p) => p.rebuild || p.generation === generation),
        {
          what: `rebuild round ${round} to start`,
        },
      );
      // Queries keep answering from the live copy during the rebuild.
      const during = await http().get<{ items: unknown[] }>(
        '/workflows?workflow=orderFulfillment&limit=50',
      );
      expect(during.status).toBe(200);
      expect(during.body.items).toHaveLength(50);
      const crashed = await crashBetween(0.1, 0.6, true, `rebuild round ${round} kill`);
      expect(crashed, kills.join('\n')).toBe(true);
      await waitFor(
        async () =>
          (await statuses()).every(
            (p) => p.generation === generation && !p.rebuild && p.status === 'live',
          ),
        {
          timeoutMs: 180_000,
          intervalMs: 250,
          what: `rebuild round ${round} to finish and swap`,
        },
      );
      expect(await digests(generation)).toEqual(live);
    }
    expect(
      (await http().get<{ items: unknown[] }>('/workflows?workflow=orderFulfillment&limit=50')).body
        .items,
    ).toHaveLength(50);
    expect(kills.length).toBeGreaterThanOrEqual(5);
    console.info(
      `kill points (progress of the slowest projection's work when killed):\n  ${kills.join('\n  ')}`,
    );
  }, 300_000);

  it('rebuilds from the command line with a progress bar when no projector runs', async () => {
    await projector!.dispose();
    projector = undefined;
    const before = await readModel.record('instances');
    const live = await readModel.digest(
      'instances',
      before!.activeGeneration,
      projections[0]!.collections,
    );
    const cli = spawnSync(
      process.execPath,
      [resolve(__dirname, '../../apps/cli/dist/main.js'), 'projections', 'rebuild', 'instances'],
      {
        env: {
          ...process.env,
          ...env,
          ESFLOW_DATA_DIR: dataDir,
          LOG_LEVEL: 'warn',
        },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('rebuilt by this process (no projector held the projection)');
    expect(cli.stderr, cli.stdout + cli.stderr).toMatch(
      /instances \|.*\| \d+% \| \d+\/\d+ events \| \d+ events\/s \| ETA/,
    );
    const after = await readModel.record('instances');
    expect(cli.stdout).toContain(
      `projection instances rebuilt: generation ${after!.activeGeneration} is live`,
    );
    expect(after!.activeGeneration).toBe(before!.activeGeneration + 1);
    expect(
      await readModel.digest('instances', after!.activeGeneration, projections[0]!.collections),
    ).toBe(live);
  }, 180_000);
});
