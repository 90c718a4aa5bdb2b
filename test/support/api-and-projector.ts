import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { EsdbWireDouble, startEsdbWireDouble } from '../doubles/esdb/esdb-wire-double';
import { AppProcess, startApp } from './app-process';
import { httpClient } from './http-client';

/** Where the instances' streams are: the embedded SQLite store, or EventStoreDB's wire double. */
export type SuiteStore = 'sqlite' | 'esdb-wire-double';

/** The built api and projector of a suite, and a client of the api; set once `beforeAll` ran. */
export interface ApiAndProjector {
  api: AppProcess;
  projector: AppProcess;
  http: ReturnType<typeof httpClient>;
}

/**
 * Registers the suite's `beforeAll` / `afterAll`: the built api and projector on one new data
 * directory (projection lease 1.5 s, so a restarted projector takes over soon), on `store` — the
 * esdb-wire-double is a TEST DOUBLE of EventStoreDB's gRPC protocol run in this process
 * (test/doubles/esdb/README.md). Stops both, and the double, and removes the directory after.
 */
export function apiAndProjector(store: SuiteStore, dirPrefix: string): ApiAndProjector {
  const apps = {} as ApiAndProjector;
  const dataDir = mkdtempSync(join(tmpdir(), dirPrefix));
  let double: EsdbWireDouble | undefined;

  beforeAll(async () => {
    if (store === 'esdb-wire-double') double = await startEsdbWireDouble();
    const env = {
      ESFLOW_PROJECTION_LEASE_MS: '1500',
      ...(double ? { ESDB_CONNECTION_STRING: double.connectionString } : {}),
    };
    [apps.api, apps.projector] = await Promise.all([
      startApp('api', { dataDir, env }),
      startApp('projector', { dataDir, env }),
    ]);
    apps.http = httpClient(apps.api.baseUrl);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([apps.projector?.dispose(), apps.api?.dispose()]);
    await double?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  return apps;
}
