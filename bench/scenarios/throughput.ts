import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomPort, startApi, stopApp } from '../api-process';
import { Camunda7Outcome, measureCamunda7 } from './camunda7';
import { measureOpenLoop, OpenLoopResult } from './open-loop';
import { measureRestTransitions, RestTransitionsResult } from './rest-transitions';
import { measureStorage, StorageResult } from './storage';
import { measureStoreAppends, StoreAppendResult } from './store-append';

/** The concurrencies the throughput sweep measures each system at. */
export const CONCURRENCY = [1, 8, 32, 64] as const;

/** One concurrency's figures: the raw store, esflow over REST, and the Camunda 7 peer. */
export interface ThroughputPoint {
  readonly concurrency: number;
  readonly raw: StoreAppendResult;
  readonly rest: RestTransitionsResult;
  readonly camunda: Camunda7Outcome;
}

export interface ThroughputResult {
  readonly points: readonly ThroughputPoint[];
  /** The highest REST rate of the sweep: "the maximum load" the open-loop runs are a share of. */
  readonly maxRestPerSecond: number;
  /** Open-loop arrivals at half and a quarter of the maximum, latency from the scheduled time. */
  readonly openLoopHalf: OpenLoopResult;
  readonly openLoopQuarter: OpenLoopResult;
  /** What the REST runs left in the api's store, per event. */
  readonly storage: StorageResult;
  /**
   * {@link TWO_API_CLIENTS} clients over two api processes on the one store, half on each, and
   * the one-process rate at that concurrency measured in the same sweep (the baseline).
   */
  readonly twoApis?: TwoApisResult;
}

/** The clients of the two-api run: the 32, split evenly. */
export const TWO_API_CLIENTS = 32;

/** Two api processes on one store under {@link TWO_API_CLIENTS} clients. */
export interface TwoApisResult {
  readonly transitionsPerSecond: number;
  /** The one-api rate at the same concurrency, from the sweep. */
  readonly oneApiPerSecond: number;
  /** The higher of the two processes' p50 and p99. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

/**
 * The throughput sweep, one system after the other on the same cores: at each of
 * {@link CONCURRENCY}, the raw SQLite store's appends (the limit on this machine), esflow's
 * REST transitions (one api process, durable: synchronous=FULL) and the Camunda 7 peer (32
 * threads is the yardstick); then open-loop arrivals at half and a quarter of the
 * highest REST rate measured, and the bytes per event the REST runs stored.
 */
export async function measureThroughput(
  seconds: number,
  log: (line: string) => void,
  concurrencies: readonly number[] = CONCURRENCY,
): Promise<ThroughputResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'esflow-bench-throughput-'));
  try {
    const raws: StoreAppendResult[] = [];
    for (const concurrency of concurrencies) {
      log(`raw SQLite store appends, ${concurrency} writers…`);
      raws.push(await measureStoreAppends(concurrency, seconds));
    }
    const api = await startApi(randomPort(), dataDir);
    const rests: RestTransitionsResult[] = [];
    let openLoopHalf: OpenLoopResult;
    let openLoopQuarter: OpenLoopResult;
    let twoApis: TwoApisResult | undefined;
    try {
      for (const concurrency of concurrencies) {
        log(`REST transitions, ${concurrency} clients…`);
        rests.push(await measureRestTransitions(api.baseUrl, concurrency, seconds));
      }
      const max = Math.max(...rests.map((run) => run.transitionsPerSecond));
      log(`open loop at half the maximum (${Math.round(max / 2)}/s)…`);
      openLoopHalf = await measureOpenLoop(api.baseUrl, max / 2, seconds);
      log(`open loop at a quarter of the maximum (${Math.round(max / 4)}/s)…`);
      openLoopQuarter = await measureOpenLoop(api.baseUrl, max / 4, seconds);
      const oneApi = rests[concurrencies.indexOf(TWO_API_CLIENTS)];
      if (oneApi) {
        log(`REST transitions, ${TWO_API_CLIENTS} clients over two api processes on one store…`);
        twoApis = await measureTwoApis(api.baseUrl, dataDir, seconds, oneApi);
      }
    } finally {
      await stopApp(api.child);
    }
    const storage = await measureStorage(join(dataDir, 'esflow.sqlite'));
    const camundas: Camunda7Outcome[] = [];
    for (const concurrency of concurrencies) {
      log(`Camunda 7 peer, ${concurrency} threads…`);
      camundas.push(await measureCamunda7(concurrency, seconds));
      const last = camundas[camundas.length - 1]!;
      if ('skipped' in last) {
        log(`Camunda 7 peer: skipped (${last.skipped})`);
        break;
      }
    }
    const points = concurrencies.map((concurrency, i) => ({
      concurrency,
      raw: raws[i]!,
      rest: rests[i]!,
      camunda: camundas[i] ?? camundas[camundas.length - 1]!,
    }));
    return {
      points,
      maxRestPerSecond: Math.max(...rests.map((run) => run.transitionsPerSecond)),
      openLoopHalf,
      openLoopQuarter,
      storage,
      ...(twoApis ? { twoApis } : {}),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A second api on the running one's store; each gets half the clients, at the same time. */
async function measureTwoApis(
  firstBaseUrl: string,
  dataDir: string,
  seconds: number,
  oneApi: RestTransitionsResult,
): Promise<TwoApisResult> {
  const second = await startApi(randomPort(), dataDir);
  try {
    const halves = await Promise.all(
      [firstBaseUrl, second.baseUrl].map((baseUrl) =>
        measureRestTransitions(baseUrl, TWO_API_CLIENTS / 2, seconds),
      ),
    );
    return {
      transitionsPerSecond: halves.reduce((sum, run) => sum + run.transitionsPerSecond, 0),
      oneApiPerSecond: oneApi.transitionsPerSecond,
      p50Ms: Math.max(...halves.map((run) => run.latency.p50Ms)),
      p99Ms: Math.max(...halves.map((run) => run.latency.p99Ms)),
      errors: halves.reduce((sum, run) => sum + run.errors, 0),
    };
  } finally {
    await stopApp(second.child);
  }
}
