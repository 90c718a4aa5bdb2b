/**
 * `npm run bench`: esflow's benchmark harness (not a test). Each scenario is reported beside a
 * baseline measured in the same run, as a ratio, because these machines are shared and noisy.
 * Prints a table and writes bench/results/latest.json (and a timestamped copy).
 *
 * BENCH_SECONDS (default 10) sets each scenario's duration.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import Table from 'cli-table3';
import { measureRestTransitions, RestTransitionsResult } from './scenarios/rest-transitions';
import { measureStoreAppends } from './scenarios/store-append';
import { measureKafkaBridge } from './scenarios/kafka-bridge';
import { measureProjectionRebuild } from './scenarios/projection-rebuild';
import { measureProjectorMemory } from './scenarios/projector-memory';

const REPO = resolve(__dirname, '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);

async function startApi(port: number, dataDir: string) {
  const child = spawn(process.execPath, [join(REPO, 'apps/api/dist/main.js')], {
    cwd: REPO,
    env: { ...process.env, PORT: String(port), ESFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`${baseUrl}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { baseUrl, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the api did not start');
}

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`esflow bench: ${SECONDS}s per scenario on ${cpus().length} cores`);

  log('baseline: raw SQLite store appends…');
  const raw1 = await measureStoreAppends(1, SECONDS);
  const raw32 = await measureStoreAppends(32, SECONDS);

  const dataDir = mkdtempSync(join(tmpdir(), 'esflow-bench-api-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const api = await startApi(port, dataDir);
  try {
    log('REST transitions, 1 client…');
    const rest1 = await measureRestTransitions(api.baseUrl, 1, SECONDS);
    log('REST transitions, 32 clients…');
    const rest32 = await measureRestTransitions(api.baseUrl, 32, SECONDS);
    log('projection rebuild into SQLite and PostgreSQL read models…');
    const rebuild = await measureProjectionRebuild(
      Number(process.env['BENCH_REBUILD_INSTANCES'] ?? 10_000),
      process.env['ESFLOW_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    );
    if (rebuild.postgresSkipped) log(`PostgreSQL rebuild: skipped (${rebuild.postgresSkipped})`);
    log('Kafka bridge, store → topic: exactly-once vs a plain producer (own broker)…');
    const kafkaBridge = await measureKafkaBridge(
      Number(process.env['BENCH_KAFKA_EVENTS'] ?? 20_000),
    );
    if ('skipped' in kafkaBridge) log(`Kafka bridge: skipped (${kafkaBridge.skipped})`);
    log('projector memory across rebuilds…');
    const projectorMemory = await measureProjectorMemory(
      Number(process.env['BENCH_PROJECTOR_INSTANCES'] ?? 4_000),
      Number(process.env['BENCH_PROJECTOR_REBUILDS'] ?? 5),
    );
    if ('skipped' in projectorMemory) log(`projector memory: skipped (${projectorMemory.skipped})`);

    const table = new Table({
      head: [
        'scenario',
        'ops/s',
        'vs raw store (same concurrency)',
        'p50 ms',
        'p99 ms',
        'appends per fsync',
        'errors',
      ],
    });
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
    const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
    const restRow = (name: string, rest: RestTransitionsResult, baseline: number) => [
      name,
      fixed(rest.transitionsPerSecond),
      ratio(rest.transitionsPerSecond, baseline),
      fixed(rest.latency.p50Ms, 2),
      fixed(rest.latency.p99Ms, 2),
      fixed(rest.appendsPerFsync, 2),
      String(rest.errors),
    ];
    table.push(
      [
        'raw store append, 1 writer (baseline)',
        fixed(raw1.appendsPerSecond),
        '1.00×',
        '—',
        '—',
        fixed(raw1.appendsPerCommit, 2),
        '0',
      ],
      [
        'raw store append, 32 writers (baseline)',
        fixed(raw32.appendsPerSecond),
        '1.00×',
        '—',
        '—',
        fixed(raw32.appendsPerCommit, 2),
        '0',
      ],
      restRow('REST transitions, 1 client', rest1, raw1.appendsPerSecond),
      restRow('REST transitions, 32 clients', rest32, raw32.appendsPerSecond),
    );
    const rebuildRow = (name: string, eventsPerSecond: number | undefined) => [
      name,
      fixed(eventsPerSecond ?? NaN),
      eventsPerSecond === undefined
        ? 'skipped'
        : `${ratio(eventsPerSecond, rebuild.storeScanEventsPerSecond)} store scan`,
      '—',
      '—',
      '—',
      '0',
    ];
    table.push(
      rebuildRow(
        `store scan of ${rebuild.events} events, events/s (baseline)`,
        rebuild.storeScanEventsPerSecond,
      ),
      rebuildRow(
        'rebuild instances → SQLite read model, events/s',
        rebuild.sqliteRebuildEventsPerSecond,
      ),
      rebuildRow(
        'rebuild instances → PostgreSQL read model, events/s',
        rebuild.postgresRebuildEventsPerSecond,
      ),
    );
    if (!('skipped' in kafkaBridge)) {
      const kafkaRow = (name: string, eventsPerSecond: number) => [
        name,
        fixed(eventsPerSecond),
        `${ratio(eventsPerSecond, kafkaBridge.plainProducer.eventsPerSecond)} plain producer`,
        '—',
        '—',
        '—',
        '0',
      ];
      table.push(
        kafkaRow(
          'plain kafkajs producer → topic, events/s (baseline)',
          kafkaBridge.plainProducer.eventsPerSecond,
        ),
        kafkaRow(
          'Kafka bridge → topic, exactly-once, events/s',
          kafkaBridge.exactlyOnce.eventsPerSecond,
        ),
      );
    }
    process.stdout.write(`${table.toString()}\n`);
    if (!('skipped' in projectorMemory))
      process.stdout.write(
        `projector resident memory over ${projectorMemory.events} events: ${projectorMemory.residentMiBCaughtUp.toFixed(0)} MiB caught up (baseline); after ${projectorMemory.rebuilds} rebuilds ${projectorMemory.residentMiBAfterRebuild.map((m) => m.toFixed(0)).join(', ')} MiB: last ${ratio(projectorMemory.lastVsCaughtUp, 1)} baseline, ${ratio(projectorMemory.lastVsFirstRebuild, 1)} the first rebuild\n`,
      );
    process.stdout.write(
      `32 vs 1 client: ${ratio(rest32.transitionsPerSecond, rest1.transitionsPerSecond)} throughput; raw store 32 vs 1 writer: ${ratio(raw32.appendsPerSecond, raw1.appendsPerSecond)}\n`,
    );

    const result = {
      recordedAt: new Date().toISOString(),
      machine: {
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      secondsPerScenario: SECONDS,
      baseline: { storeAppend1Writer: raw1, storeAppend32Writers: raw32 },
      scenarios: { restTransitions1Client: rest1, restTransitions32Clients: rest32 },
      projectionRebuild: rebuild,
      kafkaBridge,
      projectorMemory,
      ratios: {
        rest1VsRawStore1: rest1.transitionsPerSecond / raw1.appendsPerSecond,
        rest32VsRawStore32: rest32.transitionsPerSecond / raw32.appendsPerSecond,
        rest32VsRest1: rest32.transitionsPerSecond / rest1.transitionsPerSecond,
      },
    };
    const dir = join(REPO, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const json = `${JSON.stringify(result, null, 2)}\n`;
    writeFileSync(join(dir, 'latest.json'), json);
    writeFileSync(join(dir, `${result.recordedAt.replaceAll(':', '-')}.json`), json);
    log(`written to bench/results/latest.json`);
  } finally {
    api.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
