import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realSleep } from '@esflow/core';
import { driveSampleOrders, orderFulfillmentFeature } from '@esflow/example-order-fulfillment';
import { createEsflowRuntime } from '@esflow/nest';
import {
  createEmbeddedSchemaRegistry,
  createSqliteEventStore,
  createSqliteReadModelStore,
} from '@esflow/sqlite';
import { canReadResidentMemory, randomPort, residentMiB, spawnApp, stopApp } from '../api-process';

export interface ProjectorMemoryResult {
  readonly events: number;
  readonly rebuilds: number;
  /** Baseline: the projector's resident memory once it has caught up, before any rebuild. */
  readonly residentMiBCaughtUp: number;
  /** After each rebuild has swapped. */
  readonly residentMiBAfterRebuild: readonly number[];
  /** The last rebuild's figure against the baseline: about 1 when rebuilds retain nothing. */
  readonly lastVsCaughtUp: number;
  /** The last rebuild's figure against the first's: growth from rebuild to rebuild. */
  readonly lastVsFirstRebuild: number;
}

/**
 * The projector process over a log of `instances` orders, rebuilt `rebuilds` times in a row:
 * its resident memory caught up and after each swap. A rebuild that kept something alive (the
 * old generation's documents, a subscription, a buffer) shows as growth from one to the next.
 */
export async function measureProjectorMemory(
  instances: number,
  rebuilds: number,
): Promise<ProjectorMemoryResult | { skipped: string }> {
  if (!canReadResidentMemory())
    return { skipped: 'no /proc on this machine to read resident memory from' };
  const dir = mkdtempSync(join(tmpdir(), 'esflow-bench-projector-'));
  const database = join(dir, 'esflow.sqlite');
  const store = createSqliteEventStore({ filename: database, synchronous: 'NORMAL' });
  const { engine } = await createEsflowRuntime({
    store,
    registry: createEmbeddedSchemaRegistry({ filename: database }),
    features: [{ feature: orderFulfillmentFeature, registeredBy: 'bench' }],
  });
  await driveSampleOrders(engine, instances, { prefix: 'bench' });
  const events = (await store.readAll({ filter: { streamNamePrefixes: ['orderFulfillment-'] } }))
    .length;
  await store.close();

  const projector = spawnApp('projector', randomPort(), dir);
  const readModel = createSqliteReadModelStore({ filename: join(dir, 'readmodel.sqlite') });
  const settled = async (generation: number) => {
    for (;;) {
      const record = await readModel.record('instances').catch(() => undefined);
      const checkpoint = record
        ? await readModel.checkpoint('instances', record.activeGeneration)
        : undefined;
      if (
        record?.activeGeneration === generation &&
        !record.rebuild &&
        checkpoint?.eventsApplied === events
      )
        return;
      if (projector.exitCode !== null) throw new Error('the projector exited');
      await realSleep(50);
    }
  };
  try {
    await settled(1);
    // Let the start-up's garbage go before the baseline.
    await realSleep(2_000);
    const residentMiBCaughtUp = residentMiB(projector.pid!);
    const after: number[] = [];
    for (let round = 1; round <= rebuilds; round++) {
      await readModel.request('instances', 'rebuild');
      await settled(round + 1);
      await realSleep(1_000);
      after.push(residentMiB(projector.pid!));
    }
    return {
      events,
      rebuilds,
      residentMiBCaughtUp,
      residentMiBAfterRebuild: after,
      lastVsCaughtUp: after.at(-1)! / residentMiBCaughtUp,
      lastVsFirstRebuild: after.at(-1)! / after[0]!,
    };
  } finally {
    await stopApp(projector);
    await readModel.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
