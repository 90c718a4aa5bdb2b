import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import {
  buildWorkflowEngine,
  configuredProjectionRunner,
  EsflowConfig,
  leaseOwner,
  loadConfig,
  openEventStore,
  openReadModelStore,
  openSchemaRegistry,
} from '@esflow/app-core';
import {
  formatPosition,
  ProjectionRecord,
  ProjectionRunner,
  ReadModelStore,
  realSleep,
  WorkflowCatalog,
} from '@esflow/domain';
import { builtInProjections } from '@esflow/projections';
import { builtInWorkflows } from '@esflow/workflows';
import { Output } from './schemas-command';

const catalog = new WorkflowCatalog(builtInWorkflows);
const definitions = () => builtInProjections(catalog.names());

/** Whether some projector process has reported on this projection recently. */
function projectorAlive(record: ProjectionRecord | undefined, config: EsflowConfig): boolean {
  if (!record?.heartbeatAt) return false;
  return Date.now() - Date.parse(record.heartbeatAt) < 3 * config.projectionLeaseMs;
}

/** `esflow projections list`: status, position and lag of every projection. */
export async function projectionsList(io: Output): Promise<number> {
  const config = loadConfig();
  const readModel = await openReadModelStore(config);
  try {
    const table = new Table({
      head: ['projection', 'status', 'generation', 'position', 'events applied', 'lag', 'error'],
    });
    for (const definition of definitions()) {
      const record = await readModel.record(definition.name);
      const checkpoint = record
        ? await readModel.checkpoint(record.name, record.activeGeneration)
        : undefined;
      const status = !record
        ? 'not started'
        : projectorAlive(record, config)
          ? record.status
          : 'stopped (no projector running)';
      table.push([
        definition.name,
        status,
        record?.activeGeneration ?? '—',
        checkpoint ? formatPosition(checkpoint.position) : '—',
        checkpoint?.eventsApplied ?? 0,
        record?.lag ? `${record.lag.events} events, ${record.lag.seconds.toFixed(1)} s` : '—',
        record?.failure
          ? `${record.failure.streamName}@${record.failure.revision} ${record.failure.type}: ${record.failure.message}`
          : '',
      ]);
    }
    io.out(`${table.toString()}\n`);
    return 0;
  } finally {
    await readModel.close();
  }
}

/**
 * `esflow projections rebuild <name>`: asks for a rebuild and follows it with a progress bar
 * (events/s, ETA). This process also competes for the projection's lease: if no projector holds
 * it, this process carries the rebuild out itself; killed, the next run (or a projector) resumes
 * where it stopped.
 */
export async function projectionsRebuild(
  name: string,
  options: { wait: boolean },
  io: Output,
): Promise<number> {
  const definition = definitions().find((d) => d.name === name);
  if (!definition) {
    io.err(
      `no projection named ${name}; known: ${definitions()
        .map((d) => d.name)
        .join(', ')}\n`,
    );
    return 1;
  }
  const config = loadConfig();
  const readModel = await openReadModelStore(config);
  let local: Awaited<ReturnType<typeof startLocalRunner>> | undefined;
  try {
    const before = await readModel.record(name);
    const pending = await readModel.pendingRequests(name);
    if (before?.rebuild || pending.some((r) => r.kind === 'rebuild')) {
      io.out(`projection ${name} is already being rebuilt; following it\n`);
    } else {
      await readModel.request(name, 'rebuild');
      io.out(`rebuild of ${name} requested\n`);
    }
    if (!options.wait) return 0;
    local = await startLocalRunner(config, readModel, name);
    await follow(readModel, name, before?.activeGeneration ?? 0, io);
    io.out(
      local.runner.current()
        ? 'rebuilt by this process (no projector held the projection)\n'
        : 'rebuilt by a running projector\n',
    );
    return 0;
  } finally {
    await local?.close();
    await readModel.close();
  }
}

/** A runner for one projection in this process; `close` stops it and its connections. */
async function startLocalRunner(
  config: EsflowConfig,
  readModel: ReadModelStore,
  name: string,
): Promise<{ runner: ProjectionRunner; close(): Promise<void> }> {
  const store = await openEventStore(config);
  const registry = await openSchemaRegistry(config);
  const { codec, catalog } = await buildWorkflowEngine({
    store,
    registry,
    schemaDir: config.schemaDir,
  });
  const runner = configuredProjectionRunner({
    definition: definitions().find((d) => d.name === name)!,
    store,
    readModel,
    codec,
    catalog,
    config,
    owner: leaseOwner('cli'),
  });
  runner.start();
  return {
    runner,
    close: async () => {
      await runner.stop();
      await store.close();
      await registry.close();
    },
  };
}

/** Shows the rebuild's progress until the rebuilt generation is the active one. */
async function follow(
  readModel: ReadModelStore,
  name: string,
  generationBefore: number,
  io: Output,
): Promise<void> {
  const bar = new SingleBar({
    format: `${name} |{bar}| {percentage}% | {value}/{total} events | {speed} events/s | ETA {eta_formatted}`,
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 500,
    stream: process.stderr,
  });
  const requestedAt = Date.now();
  let started = false;
  const samples: { at: number; applied: number }[] = [];
  const speedOf = (applied: number) => {
    const first = samples[0] ?? { at: requestedAt, applied: 0 };
    const seconds = (Date.now() - first.at) / 1000;
    return seconds > 0 ? Math.round((applied - first.applied) / seconds) : 0;
  };
  for (;;) {
    const record = await readModel.record(name);
    if (record && !record.rebuild && record.activeGeneration > generationBefore) break;
    if (record?.failure)
      throw new Error(
        `rebuild stopped on ${record.failure.streamName}@${record.failure.revision} (${record.failure.type}): ${record.failure.message}`,
      );
    if (record?.rebuild) {
      const applied =
        (await readModel.checkpoint(name, record.rebuild.generation))?.eventsApplied ?? 0;
      samples.push({ at: Date.now(), applied });
      while (samples.length > 2 && samples[0]!.at < Date.now() - 5000) samples.shift();
      const total = Math.max(record.rebuild.totalEvents, applied, 1);
      if (!started) bar.start(total, applied, { speed: 0 });
      started = true;
      bar.setTotal(total);
      bar.update(applied, { speed: speedOf(applied) });
    }
    await realSleep(200);
  }
  // The last frame, from the generation that was swapped in (a fast rebuild may never be seen running).
  const done = await readModel.record(name);
  const replayed = done
    ? ((await readModel.checkpoint(name, done.activeGeneration))?.eventsApplied ?? 0)
    : 0;
  const seconds = Math.max((Date.now() - requestedAt) / 1000, 0.001);
  const speed = Math.round(replayed / seconds);
  if (!started) bar.start(Math.max(replayed, 1), 0, { speed });
  bar.setTotal(Math.max(replayed, 1));
  bar.update(Math.max(replayed, 1), { speed });
  bar.stop();
  io.out(`replayed ${replayed} events in ${seconds.toFixed(1)} s (${speed} events/s)\n`);
  io.out(`projection ${name} rebuilt: generation ${done?.activeGeneration} is live\n`);
}
