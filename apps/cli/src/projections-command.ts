import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import {
  BUILT_IN_PROJECTION_NAMES,
  builtInProjections,
  composeFeatures,
  formatPosition,
  ProjectionDefinition,
  ProjectionRecord,
  ProjectionRunner,
  ReadModelStore,
  realSleep,
} from '@esflow/core';
import { esflowOptionsFromEnvironment, loadEsflowEnvironment } from '@esflow/env-config';
import {
  configuredProjectionRunner,
  createEsflowRuntime,
  leaseOwner,
  resolveEsflowOptions,
  ResolvedEsflowOptions,
} from '@esflow/nest';
import { EsflowConnection, LoadedConfig, loadEsflowConfig } from './esflow-config';
import { Output } from './schemas-command';

/** Options every `esflow projections` command takes. */
export interface ProjectionsCommandOptions {
  readonly config?: string;
}

function featureSources(config: LoadedConfig) {
  return config.features.map((feature, index) => ({
    feature,
    registeredBy: `${config.file} features[${index}]`,
  }));
}

/** The projections the configured application runs, without opening anything. */
function projectionsOf(config: LoadedConfig): ProjectionDefinition[] {
  const composed = composeFeatures(featureSources(config), BUILT_IN_PROJECTION_NAMES);
  const workflows = [...new Set(composed.workflows.map((workflow) => workflow.name))].sort();
  return [...builtInProjections(workflows), ...composed.projections];
}

/** The adapters of the config's `connect`, or those the environment selects. */
export async function connect(config: LoadedConfig): Promise<ResolvedEsflowOptions> {
  const connection: EsflowConnection = config.connect
    ? await config.connect()
    : await esflowOptionsFromEnvironment(loadEsflowEnvironment());
  return resolveEsflowOptions(connection);
}

/** Whether some projector process has reported on this projection recently. */
function projectorAlive(record: ProjectionRecord | undefined, leaseMs: number): boolean {
  if (!record?.heartbeatAt) return false;
  return Date.now() - Date.parse(record.heartbeatAt) < 3 * leaseMs;
}

/** `esflow projections list`: status, position and lag of every projection. */
export async function projectionsList(
  options: ProjectionsCommandOptions,
  io: Output,
): Promise<number> {
  const config = await loadEsflowConfig(options.config);
  const definitions = projectionsOf(config);
  const adapters = await connect(config);
  const { readModel } = adapters;
  try {
    await readModel.migrate();
    const table = new Table({
      head: ['projection', 'status', 'generation', 'position', 'events applied', 'lag', 'error'],
    });
    for (const definition of definitions) {
      const record = await readModel.record(definition.name);
      const checkpoint = record
        ? await readModel.checkpoint(record.name, record.activeGeneration)
        : undefined;
      const status = !record
        ? 'not started'
        : projectorAlive(record, adapters.projections.leaseMs)
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
    await closeAll(adapters);
  }
}

/** Closes the adapters of {@link connect}, whatever fails. */
export async function closeAll(adapters: ResolvedEsflowOptions): Promise<void> {
  await Promise.all(
    [adapters.store, adapters.registry, adapters.readModel].map((adapter) =>
      adapter.close().catch(() => undefined),
    ),
  );
}

/**
 * `esflow projections rebuild <name>`: asks for a rebuild and follows it with a progress bar
 * (events/s, ETA). This process also competes for the projection's lease: if no projector holds
 * it, this process carries the rebuild out itself; killed, the next run (or a projector) resumes
 * where it stopped.
 */
export async function projectionsRebuild(
  name: string,
  options: ProjectionsCommandOptions & { wait: boolean },
  io: Output,
): Promise<number> {
  const config = await loadEsflowConfig(options.config);
  const definitions = projectionsOf(config);
  if (!definitions.some((d) => d.name === name)) {
    io.err(`no projection named ${name}; known: ${definitions.map((d) => d.name).join(', ')}\n`);
    return 1;
  }
  const adapters = await connect(config);
  const { readModel } = adapters;
  let local: { runner: ProjectionRunner; stop(): Promise<void> } | undefined;
  try {
    await readModel.migrate();
    const before = await readModel.record(name);
    const pending = await readModel.pendingRequests(name);
    if (before?.rebuild || pending.some((r) => r.kind === 'rebuild')) {
      io.out(`projection ${name} is already being rebuilt; following it\n`);
    } else {
      await readModel.request(name, 'rebuild');
      io.out(`rebuild of ${name} requested\n`);
    }
    if (!options.wait) return 0;
    local = await startLocalRunner(config, adapters, name);
    await follow(readModel, name, before?.activeGeneration ?? 0, io);
    io.out(
      local.runner.current()
        ? 'rebuilt by this process (no projector held the projection)\n'
        : 'rebuilt by a running projector\n',
    );
    return 0;
  } finally {
    await local?.stop();
    await closeAll(adapters);
  }
}

/** A runner for one projection in this process, competing for its lease like a projector. */
async function startLocalRunner(
  config: LoadedConfig,
  adapters: ResolvedEsflowOptions,
  name: string,
): Promise<{ runner: ProjectionRunner; stop(): Promise<void> }> {
  const runtime = await createEsflowRuntime({
    store: adapters.store,
    registry: adapters.registry,
    features: featureSources(config),
  });
  const runner = configuredProjectionRunner({
    definition: runtime.projections.find((d) => d.name === name)!,
    store: adapters.store,
    readModel: adapters.readModel,
    codec: runtime.codec,
    catalog: runtime.catalog,
    projections: adapters.projections,
    owner: leaseOwner('cli'),
  });
  runner.start();
  return { runner, stop: () => runner.stop() };
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
      // Without a count from the store (EventStoreDB) the bar grows with what was replayed.
      const total = Math.max(record.rebuild.totalEvents ?? applied, applied, 1);
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
