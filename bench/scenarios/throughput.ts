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
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
