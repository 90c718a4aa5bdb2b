import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { stateKeyOf } from '../projections/built-in/built-in-projections';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { WorkflowDefinition } from '../workflow/workflow-definition';
import { describeState, parseStateText, resolveStateValue, stateNodesAccept } from './state-paths';
import { ReceivableEvent, ReceiveReason, WaitingGroup } from './waiting-instances';

/**
 * A migration declared for the deploy gate: the instances of `workflow` running on
 * `fromVersion` in a state named in `stateMapping` are to move to `toVersion`, into the state
 * it maps them to. Keys and values are states as dotted paths (`awaitingPayment`,
 * `shipping.awaitingCarrier`) or, for a parallel state, the state value as JSON.
 */
export interface DeclaredMigration {
  readonly workflow: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly stateMapping: Readonly<Record<string, string>>;
}

/**
 * Checks a parsed migrations file (`[{ workflow, fromVersion, toVersion, stateMapping }]`) and
 * returns its declarations; throws INVALID_CONFIGURATION naming `source`, the entry and the field
 * otherwise, and for two declarations from the same workflow version.
 */
export function parseDeclaredMigrations(value: unknown, source: string): DeclaredMigration[] {
  const bad = (why: string) => new EsflowError(ErrorCode.InvalidConfiguration, `${source}: ${why}`);
  if (!Array.isArray(value))
    throw bad(
      'must be a JSON array of { "workflow", "fromVersion", "toVersion", "stateMapping" } objects',
    );
  const seen = new Set<string>();
  return value.map((entry: unknown, index): DeclaredMigration => {
    const at = `[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw bad(`${at} must be an object`);
    const { workflow, fromVersion, toVersion, stateMapping } = entry as Record<string, unknown>;
    if (typeof workflow !== 'string' || workflow === '')
      throw bad(`${at}.workflow must be a workflow name`);
    for (const [name, version] of [
      ['fromVersion', fromVersion],
      ['toVersion', toVersion],
    ] as const)
      if (!(typeof version === 'number' && Number.isInteger(version) && version >= 1))
        throw bad(`${at}.${name} must be a positive whole number, got ${JSON.stringify(version)}`);
    if (typeof stateMapping !== 'object' || stateMapping === null || Array.isArray(stateMapping))
      throw bad(`${at}.stateMapping must be an object of state → state`);
    for (const [from, to] of Object.entries(stateMapping as Record<string, unknown>)) {
      if (typeof to !== 'string' || to.trim() === '')
        throw bad(`${at}.stateMapping.${from} must name a state of v${String(toVersion)}`);
      try {
        parseStateText(to);
      } catch {
        throw bad(`${at}.stateMapping.${from}: ${to} is not valid JSON`);
      }
    }
    const key = `${workflow}/${String(fromVersion)}`;
    if (seen.has(key))
      throw bad(`${at} declares a second migration from ${workflow} v${String(fromVersion)}`);
    seen.add(key);
    return {
      workflow,
      fromVersion: fromVersion as number,
      toVersion: toVersion as number,
      stateMapping: { ...(stateMapping as Record<string, string>) },
    };
  });
}

/** The rules of the deploy gate (`esflow versions check`); each failure names one. */
export const VersionsGateRule = {
  /** The config registers no version of a workflow that has running instances. */
  WorkflowRemoved: 'WORKFLOW_REMOVED',
  /** The version running instances are pinned to is not registered: they need a migration. */
  VersionRemoved: 'VERSION_REMOVED',
  /** The definition that would run the waiting instances lacks the state they wait in. */
  StateRemoved: 'STATE_REMOVED',
  /** That definition's state no longer takes an event the waiting instances may still receive. */
  EventNoLongerAccepted: 'EVENT_NO_LONGER_ACCEPTED',
  /** A declared migration maps the instances to a version or state that does not exist. */
  MigrationTargetMissing: 'MIGRATION_TARGET_MISSING',
} as const;
export type VersionsGateRule = (typeof VersionsGateRule)[keyof typeof VersionsGateRule];

/** One failure of the deploy gate: the rule, what it is about, how many instances it affects. */
export interface VersionsGateFailure {
  readonly rule: VersionsGateRule;
  readonly workflow: string;
  /** The version the instances run on. */
  readonly version: number;
  /** The state they wait in, in words (see {@link describeState}). */
  readonly state: string;
  /** The event type, for {@link VersionsGateRule.EventNoLongerAccepted}. */
  readonly event?: string;
  /** The version compared against, when there is one (the same, the latest, a migration's). */
  readonly against?: number;
  readonly instances: number;
  readonly message: string;
}

/** How the gate decided on one group of waiting instances. */
export const WaitingVerdict = {
  /** The version they run on is registered and still serves them. */
  Ok: 'ok',
  /** A declared migration maps them to an existing state of a registered version. */
  Migrated: 'migrated',
  Fails: 'fails',
} as const;
export type WaitingVerdict = (typeof WaitingVerdict)[keyof typeof WaitingVerdict];

/** One group of waiting instances in the gate's report. */
export interface WaitingGroupReport {
  readonly workflow: string;
  readonly version: number;
  readonly state: string;
  readonly instances: number;
  /** What they were compared with: `v1`, `v2 (latest: needs a migration)`, `v2 awaitingFunds (migration)`, `-`. */
  readonly checkedAgainst: string;
  readonly verdict: WaitingVerdict;
  /** How many failures are about them. */
  readonly failures: number;
}

/** What {@link checkVersionsInUse} found. */
export interface VersionsGateReport {
  readonly groups: readonly WaitingGroupReport[];
  readonly failures: readonly VersionsGateFailure[];
}

const plural = (count: number, one: string, many = `${one}s`) =>
  `${count} ${count === 1 ? one : many}`;

const REASON_TEXT: Record<ReceiveReason, string> = {
  acceptedBefore: 'taken in this state before',
  pendingTimer: 'a pending timer',
  invokedCommand: 'an invoked command in flight',
};

const reasonsText = (event: ReceivableEvent) =>
  event.reasons.map((reason) => REASON_TEXT[reason]).join(', ');

/** The state-mapping entry of `migration` for a recorded state value, by its path or its JSON. */
function mappedState(migration: DeclaredMigration, state: unknown): string | undefined {
  const { stateMapping } = migration;
  for (const key of [describeState(state), stateKeyOf(state)])
    if (Object.prototype.hasOwnProperty.call(stateMapping, key)) return stateMapping[key];
  return undefined;
}

/**
 * The deploy gate: whether the definitions in `catalog` (the config about to be deployed) can
 * still serve the running instances in `groups` (see {@link WaitingInstancesCollector}). For each
 * group of instances of workflow W running on version v and waiting in state S:
 *
 * 1. A declared migration from W v that maps S covers them if its `toVersion` is registered and
 *    has the mapped state (any nested state of it); otherwise it fails `MIGRATION_TARGET_MISSING`.
 *    Covered instances are not checked further.
 * 2. Otherwise the definition that would run them is W v as registered now; if v is not
 *    registered, the latest registered version of W (what a migration would target), and the
 *    group fails `VERSION_REMOVED` (they need a migration); if no version of W is registered, it
 *    fails `WORKFLOW_REMOVED`.
 * 3. Against that definition: `STATE_REMOVED` when it lacks S (any state on S's path);
 *    otherwise `EVENT_NO_LONGER_ACCEPTED` for each event type they may still receive (see
 *    {@link WaitingGroup.mayReceive}) that S and its ancestors have no transition for, guards not
 *    evaluated; the failure counts the instances that may receive it.
 *
 * The gate passes when there is no failure.
 */
export function checkVersionsInUse(
  catalog: WorkflowCatalog,
  groups: readonly WaitingGroup[],
  migrations: readonly DeclaredMigration[] = [],
): VersionsGateReport {
  const migrationFrom = new Map(migrations.map((m) => [`${m.workflow}/${m.fromVersion}`, m]));
  const failures: VersionsGateFailure[] = [];
  const reports: WaitingGroupReport[] = [];
  for (const group of groups) {
    const { workflow, version, instances } = group;
    const state = describeState(group.state);
    const subject = `${workflow} v${version} ${state}`;
    const found: VersionsGateFailure[] = [];
    const fail = (failure: Omit<VersionsGateFailure, 'workflow' | 'version' | 'state'>) =>
      found.push({ workflow, version, state, ...failure });
    const report = (checkedAgainst: string, verdict?: WaitingVerdict) => {
      failures.push(...found);
      reports.push({
        workflow,
        version,
        state,
        instances,
        checkedAgainst,
        verdict: verdict ?? (found.length > 0 ? WaitingVerdict.Fails : WaitingVerdict.Ok),
        failures: found.length,
      });
    };
    const waiting = `${plural(instances, 'instance')} ${instances === 1 ? 'waits' : 'wait'} in it`;

    const migration = migrationFrom.get(`${workflow}/${version}`);
    const target = migration ? mappedState(migration, group.state) : undefined;
    if (migration && target !== undefined) {
      const to = migration.toVersion;
      const definition = catalog.version(workflow, to);
      if (!definition)
        fail({
          rule: VersionsGateRule.MigrationTargetMissing,
          against: to,
          instances,
          message: `${subject}: the declared migration moves ${plural(instances, 'instance')} to ${workflow} v${to}, which the config does not register`,
        });
      else {
        const missing = resolveStateValue(definition.machine, parseStateText(target)).missing;
        if (missing.length > 0)
          fail({
            rule: VersionsGateRule.MigrationTargetMissing,
            against: to,
            instances,
            message: `${subject}: the declared migration maps ${plural(instances, 'instance')} to ${target}, but ${workflow} v${to} has no state ${missing.join(', ')}`,
          });
      }
      report(
        `v${to} ${target} (migration)`,
        found.length > 0 ? undefined : WaitingVerdict.Migrated,
      );
      continue;
    }

    let definition: WorkflowDefinition | undefined = catalog.version(workflow, version);
    let against = `v${version}`;
    let registered = `the ${workflow} v${version} registered now`;
    if (!definition) {
      definition = catalog.latest(workflow);
      if (!definition) {
        fail({
          rule: VersionsGateRule.WorkflowRemoved,
          instances,
          message: `${subject}: the config registers no version of ${workflow}, and ${waiting}: register ${workflow} v${version} again`,
        });
        report('-');
        continue;
      }
      const latest = definition.version;
      against = `v${latest} (latest: needs a migration)`;
      registered = `v${latest} (what a migration would target)`;
      const unmapped = migration
        ? `; the migration declared from v${version} does not map ${state}`
        : `: register v${version} again, or declare a migration (--migrations)`;
      fail({
        rule: VersionsGateRule.VersionRemoved,
        against: latest,
        instances,
        message: `${subject}: ${workflow} v${version} is no longer registered, and ${waiting}${unmapped}`,
      });
    }
    const resolved = resolveStateValue(definition.machine, group.state);
    if (resolved.missing.length > 0)
      fail({
        rule: VersionsGateRule.StateRemoved,
        against: definition.version,
        instances,
        message: `${subject}: ${registered} has no state ${resolved.missing.join(', ')}, and ${waiting}`,
      });
    else
      for (const event of group.mayReceive)
        if (!stateNodesAccept(resolved.nodes, event.type))
          fail({
            rule: VersionsGateRule.EventNoLongerAccepted,
            event: event.type,
            against: definition.version,
            instances: event.instances,
            message: `${subject}: ${plural(event.instances, 'instance')} may still receive ${event.type} (${reasonsText(event)}), which ${state} in ${registered} does not accept`,
          });
    report(against);
  }
  return { groups: reports, failures };
}
