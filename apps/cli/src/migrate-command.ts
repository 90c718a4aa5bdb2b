import { userInfo } from 'node:os';
import { basename } from 'node:path';
import {
  describeState,
  ErrorCode,
  EsflowError,
  EventStore,
  MAX_OPERATOR_ID_LENGTH,
  MigrateOutcome,
  readEsflowMetadata,
  RecordedEvent,
  streamNameOf,
  UnmappablePolicy,
  WorkflowCatalog,
} from '@esflow/core';
import {
  createEsflowRuntime,
  MigrationCandidate,
  MigrationFilter,
  migrationFilterMatches,
  migrateInstance,
  migrationStateProblem,
  migrationVerdict,
  MigrationVerdict,
} from '@esflow/nest';
import { LoadedConfig, loadEsflowConfig } from './esflow-config';
import { catalogOf, closeConnection, selectedWorkflows } from './export-command';
import { connect } from './projections-command';
import { Output } from './schemas-command';

/** The options of `esflow migrate`. */
export interface MigrateCommandOptions {
  readonly config?: string;
  readonly workflow: string;
  readonly toVersion: number;
  /** One instance... */
  readonly id?: string;
  /** ...or every running instance on this version (and in `state`, and with `idPrefix`). */
  readonly fromVersion?: number;
  readonly state?: string;
  readonly idPrefix?: string;
  /** `from=to` state mappings (dotted paths, or a state value as JSON on the right). */
  readonly map?: readonly string[];
  /** A JSON merge patch of the context, as JSON text. */
  readonly contextPatch?: string;
  readonly unmappable?: string;
  readonly dryRun?: boolean;
  readonly reason?: string;
}

const PAGE = 1_000;

function invalid(message: string): EsflowError {
  return new EsflowError(ErrorCode.InvalidConfiguration, message);
}

/**
 * Who `esflow migrate` records as the operator: `cli:` and the name of the operating-system user
 * running it (`cli:unknown` when the system has none for this process).
 */
export function cliOperator(): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = process.env['USER'] ?? process.env['USERNAME'];
  }
  return `cli:${name && name.trim() !== '' ? name : 'unknown'}`.slice(0, MAX_OPERATOR_ID_LENGTH);
}

/** `--map awaitingPayment=awaitingFunds ...` as a state mapping. */
function stateMappingOf(pairs: readonly string[]): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const from = pair.slice(0, at).trim();
    const to = pair.slice(at + 1).trim();
    if (at < 0 || from === '' || to === '')
      throw invalid(`--map ${pair}: write it from=to, e.g. --map awaitingPayment=awaitingFunds`);
    if (from in mapping) throw invalid(`--map maps ${from} twice`);
    mapping[from] = to;
  }
  return mapping;
}

function contextPatchOf(text: string): Record<string, unknown> {
  let patch: unknown;
  try {
    patch = JSON.parse(text);
  } catch {
    throw invalid(`--context-patch is not JSON: ${text.slice(0, 100)}`);
  }
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
    throw invalid('--context-patch must be a JSON object (a JSON merge patch of the context)');
  return patch as Record<string, unknown>;
}

function unmappableOf(value: string | undefined): UnmappablePolicy | undefined {
  if (value === undefined || value === 'refuse' || value === 'cancel') return value;
  throw invalid(`--unmappable must be refuse or cancel, got ${value}`);
}

/** Which instances the options name: one by id, or a filter. */
function selectionOf(options: MigrateCommandOptions): { id: string } | MigrationFilter {
  const { id, fromVersion, state, idPrefix } = options;
  if ((id === undefined) === (fromVersion === undefined))
    throw invalid(
      'name the instances: --id <id> for one, or --from-version <n> (with --state, --id-prefix) for every running one that matches',
    );
  if (id !== undefined) {
    if (state !== undefined || idPrefix !== undefined)
      throw invalid('--state and --id-prefix filter by --from-version; with --id, leave them out');
    return { id };
  }
  if (state !== undefined) {
    const problem = migrationStateProblem(state);
    if (problem) throw invalid(`--state ${problem}`);
  }
  return {
    fromVersion: fromVersion!,
    ...(state === undefined ? {} : { state }),
    ...(idPrefix === undefined ? {} : { idPrefix }),
  };
}

/**
 * The running instances of `workflow` in the store, as their latest events record them (version,
 * state, status): the log read once in its global order, metadata only, nothing decoded.
 */
async function* storedCandidates(
  store: EventStore,
  workflow: string,
): AsyncGenerator<MigrationCandidate> {
  const latest = new Map<string, MigrationCandidate & { running: boolean }>();
  let after: RecordedEvent['position'] | undefined;
  for (;;) {
    const page = await store.readAll({
      maxCount: PAGE,
      filter: { streamNamePrefixes: [`${workflow}-`] },
      ...(after ? { after } : {}),
    });
    for (const event of page) {
      const metadata = readEsflowMetadata(event.metadata);
      if (
        metadata.workflow !== workflow ||
        typeof metadata.instanceId !== 'string' ||
        typeof metadata.definitionVersion !== 'number' ||
        event.streamName !== streamNameOf(workflow, metadata.instanceId)
      )
        continue;
      latest.set(event.streamName, {
        id: metadata.instanceId,
        version: metadata.definitionVersion,
        state: metadata.stateAfter,
        running: metadata.statusAfter === 'running',
      });
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.position;
  }
  const sorted = [...latest.values()].sort((a, b) => a.id.localeCompare(b.id));
  for (const { running, ...candidate } of sorted) if (running) yield candidate;
}

function checkTarget(
  catalog: WorkflowCatalog,
  config: LoadedConfig,
  workflow: string,
  toVersion: number,
  fromVersion: number | undefined,
): void {
  if (!catalog.version(workflow, toVersion))
    throw invalid(
      `${basename(config.file)} does not register ${workflow} v${toVersion} (it registers ${catalog
        .all()
        .filter((definition) => definition.name === workflow)
        .map((definition) => `v${definition.version}`)
        .join(', ')})`,
    );
  if (fromVersion === toVersion)
    throw invalid(`--from-version and --to-version are both ${toVersion}: nothing to migrate`);
}

/** A migrated (or, in a dry run, migratable) instance in words. */
function describeOutcome(outcome: MigrateOutcome): string {
  const { plan } = outcome;
  const timers = plan.timers;
  const changes = [
    `${describeState(plan.fromState)} → ${describeState(plan.toState)}`,
    `timers ${timers.kept.length} kept, ${timers.moved.length} moved, ${timers.cancelled.length} cancelled`,
    `commands ${plan.commands.kept.length} kept, ${plan.commands.withdrawn.length} withdrawn`,
    `messages ${plan.messages.follow.length} follow, ${plan.messages.undeliverable.length} undeliverable`,
  ];
  const head = outcome.dryRun ? 'would migrate' : 'migrated';
  const revision = outcome.dryRun ? '' : `, revision ${outcome.instance.revision}`;
  return `${head} v${plan.fromVersion} → v${plan.toVersion}: ${changes.join('; ')}${revision}`;
}

function describeVerdict(id: string, verdict: MigrationVerdict): string {
  switch (verdict.kind) {
    case 'migrated':
      return `${outcomeMark(verdict.outcome)} ${id}: ${describeOutcome(verdict.outcome)}`;
    case 'skipped':
      return `- ${id}: skipped: ${verdict.message} [${verdict.code}]`;
    default:
      return `✗ ${id}: ${verdict.kind}: ${verdict.message} [${verdict.code}]`;
  }
}

const outcomeMark = (outcome: MigrateOutcome) => (outcome.dryRun ? '~' : '✓');

/**
 * `esflow migrate --workflow w --to-version n (--id id | --from-version m [--state s]
 * [--id-prefix p]) [--map from=to ...] [--context-patch json] [--unmappable cancel] [--dry-run]
 * [--reason text]`: migrates one instance, or every running instance of the workflow on
 * `--from-version` that the filter takes, to version `n` of the config's definitions, one
 * recorded step each (`InstanceMigrated`, as `POST /workflows/{workflow}/{id}/migrate`), over the
 * configured store (the config's `connect`, else the api's environment). The instances are read
 * from the store itself (the log's latest event of each), not the read model. The operator
 * recorded is {@link cliOperator}. Prints a line per instance (migrated, would migrate, skipped,
 * refused or failed, and why) and a summary; exit code 1 when one was refused or failed.
 */
export async function migrate(options: MigrateCommandOptions, io: Output): Promise<number> {
  const config = await loadEsflowConfig(options.config);
  const catalog = catalogOf(config);
  const [workflow] = selectedWorkflows(catalog, options.workflow);
  const selection = selectionOf(options);
  const fromVersion = 'fromVersion' in selection ? selection.fromVersion : undefined;
  checkTarget(catalog, config, workflow!, options.toVersion, fromVersion);
  const stateMapping = stateMappingOf(options.map ?? []);
  const contextPatch =
    options.contextPatch === undefined ? undefined : contextPatchOf(options.contextPatch);
  const unmappable = unmappableOf(options.unmappable);
  const operator = cliOperator();
  const adapters = await connect(config);
  const counts: Record<MigrationVerdict['kind'], number> = {
    migrated: 0,
    skipped: 0,
    refused: 0,
    failed: 0,
  };
  let matched = 0;
  try {
    const runtime = await createEsflowRuntime({
      store: adapters.store,
      registry: adapters.registry,
      features: config.features.map((feature, index) => ({
        feature,
        registeredBy: `${config.file} features[${index}]`,
      })),
      limits: adapters.limits,
      messageIndex: adapters.messageIndex,
    });
    const ports = { engine: runtime.engine, messageIndex: adapters.messageIndex };
    const ids = async function* () {
      if ('id' in selection) yield selection.id;
      else
        for await (const candidate of storedCandidates(adapters.store, workflow!))
          if (migrationFilterMatches(selection, candidate)) yield candidate.id;
    };
    for await (const id of ids()) {
      matched++;
      const result = await migrateInstance(ports, {
        workflow: workflow!,
        id,
        toVersion: options.toVersion,
        operator,
        dryRun: options.dryRun ?? false,
        ...(Object.keys(stateMapping).length > 0 ? { stateMapping } : {}),
        ...(contextPatch ? { contextPatch } : {}),
        ...(unmappable ? { unmappable } : {}),
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      }).catch((thrown: unknown) => ({ thrown }));
      const verdict = migrationVerdict(result, options.toVersion);
      counts[verdict.kind]++;
      io.out(`${describeVerdict(id, verdict)}\n`);
    }
  } finally {
    await Promise.all([
      closeConnection(adapters),
      Promise.resolve(adapters.messageIndex.close?.()).catch(() => undefined),
    ]);
  }
  const which =
    'id' in selection
      ? `instance ${selection.id}`
      : `${matched} running instance${matched === 1 ? '' : 's'} on v${fromVersion}${
          selection.state === undefined ? '' : ` in ${selection.state}`
        }${selection.idPrefix === undefined ? '' : ` with ids ${selection.idPrefix}*`}`;
  const done = options.dryRun ? 'would migrate' : 'migrated';
  io.out(
    `migrate${options.dryRun ? ' (dry run)' : ''}: ${workflow} → v${options.toVersion}, ${which} from the configured store, operator ${operator}: ${counts.migrated} ${done}, ${counts.skipped} skipped, ${counts.refused} refused, ${counts.failed} failed\n`,
  );
  return counts.refused + counts.failed > 0 ? 1 : 0;
}
