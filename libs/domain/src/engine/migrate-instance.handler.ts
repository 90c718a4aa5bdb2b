import type { AnyMachineSnapshot, AnyStateNode } from 'xstate';
import { ErrorCode, ValidationIssue } from '../errors/esflow-error';
import { ok, reject, Result } from '../errors/rejection';
import {
  CommandWithdrawnPayload,
  FrameworkEvent,
  InstanceMigratedPayload,
  TimerCancelledPayload,
  TimerScheduledPayload,
} from '../workflow/framework-events';
import { afterAppend, InstanceState, InstanceView, viewOf } from '../workflow/instance-state';
import { PendingTimer } from '../workflow/instance-timers';
import { WorkflowDefinition } from '../workflow/workflow-definition';
import { parseStateText, resolveStateValue, statePaths } from '../versions/state-paths';
import {
  decideOnQueuedInstance,
  EngineContext,
  frameworkFacts,
  observed,
  operatorActionRefusal,
} from './engine-context';
import { MAX_OPERATOR_ID_LENGTH } from './terminate-instance.handler';
import { PlannedEvent } from './transition-planner';

/** The longest reason of a migration, in characters. */
export const MAX_MIGRATION_REASON_LENGTH = 2000;

/**
 * What to do with a timer, command or message of the instance that cannot follow the mapping:
 * `refuse` the migration (the default: nothing is written and each one is named), or `cancel`
 * them (timers cancelled, commands withdrawn, in the migration's append; a waiting message is
 * left to expire into quarantine).
 */
export type UnmappablePolicy = 'refuse' | 'cancel';

/**
 * An operator's request to move running instance `id` of `workflow` to definition version
 * `toVersion`. Each leaf state the instance is in maps through `stateMapping` (dotted source path
 * → dotted target path, or a target state value as JSON); a state the mapping leaves out keeps
 * its path, which the target must then have. The context goes through the target's
 * `migrations.contextFrom[fromVersion]`, then `contextPatch` (a JSON merge patch, RFC 7396), and
 * must pass the target's `migrations.validateContext`.
 */
export interface MigrateInstanceCommand {
  readonly workflow: string;
  readonly id: string;
  readonly toVersion: number;
  readonly stateMapping?: Readonly<Record<string, string>>;
  readonly contextPatch?: Readonly<Record<string, unknown>>;
  readonly unmappable?: UnmappablePolicy;
  /**
   * Messages buffered for the instance (by its correlation keys), which must be ones the target
   * still declares; the caller looks them up in the message index.
   */
  readonly waitingMessages?: readonly { readonly messageId: string; readonly name: string }[];
  /** Plan and check only: the outcome says what would change, and nothing is written. */
  readonly dryRun?: boolean;
  /** The revision the operator last saw (`If-Match`); a mismatch is a conflict, not retried. */
  readonly expectedRevision?: number;
  /** Who: 1–200 characters, recorded as the fact's `operator` and the append's `actor`. */
  readonly operator: string;
  /** Why, in the operator's words: at most 2000 characters. */
  readonly reason?: string;
}

/** What a migration changes (or, in a dry run, would change). */
export interface MigrationPlan {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly fromState: unknown;
  readonly toState: unknown;
  /** The mapping as applied: every leaf state the instance was in, and where it went. */
  readonly stateMapping: Readonly<Record<string, string>>;
  readonly context: unknown;
  readonly timers: {
    /** Timers that go on as they are (the same state and delay in the target). */
    readonly kept: readonly string[];
    /** `after` timers rescheduled, same due time, on the mapped state's delay. */
    readonly moved: readonly { readonly timerId: string; readonly eventType: string }[];
    readonly cancelled: readonly string[];
  };
  readonly commands: { readonly kept: readonly string[]; readonly withdrawn: readonly string[] };
  readonly messages: {
    readonly follow: readonly string[];
    /** With `unmappable: cancel`: messages the target does not declare; they expire unmatched. */
    readonly undeliverable: readonly string[];
  };
}

/** A migration decided: the plan, the instance after it (before it, in a dry run). */
export interface MigrateOutcome {
  readonly dryRun: boolean;
  readonly plan: MigrationPlan;
  readonly instance: InstanceView;
  /** The revision of the append's last event; absent in a dry run. */
  readonly revision?: number;
}

interface Decided {
  readonly plan: MigrationPlan;
  readonly target: WorkflowDefinition;
  readonly snapshot: AnyMachineSnapshot;
  readonly movedTimers: readonly { readonly from: PendingTimer; readonly eventType: string }[];
  readonly cancelledTimers: readonly PendingTimer[];
  readonly withdrawn: readonly { readonly commandId: string; readonly commandType: string }[];
}

const AFTER_PREFIX = 'xstate.after.';

/**
 * Migrates a running instance to another version of its definition, as one recorded step: an
 * `InstanceMigrated { fromVersion, toVersion, stateMapping, ... }` fact, first in its append,
 * followed by the `TimerCancelled`/`TimerScheduled` of the timers it moves or cancels and the
 * `CommandWithdrawn` of the commands it withdraws. Replay honours it: from that fact on the
 * instance folds through `toVersion`, in the recorded state with the recorded context.
 *
 * Checked before anything is written, each failure named in a MIGRATION_REFUSED rejection's
 * `errors`: the target version is registered and is not the instance's; every leaf state maps
 * to a state the target has and that is not final; the context passes the target's check; each
 * pending timer keeps its state and delay in the target (an `after` timer of a mapped state
 * moves to the mapped state's delay of the same name, due when it was); each invoked command
 * in flight has its invoke in the target's new states (an emitted command's reply is an event
 * like any other and always follows); each waiting message is declared by the target. What
 * cannot follow is refused, or, with `unmappable: 'cancel'`, cancelled in the same append.
 */
export class MigrateInstanceHandler {
  constructor(private readonly engine: EngineContext) {}

  async handle(command: MigrateInstanceCommand): Promise<Result<MigrateOutcome>> {
    return observed(
      this.engine,
      { workflow: command.workflow, eventType: FrameworkEvent.InstanceMigrated },
      await this.migrateOn(command),
      (outcome) => (outcome.dryRun ? undefined : 'recorded'),
    );
  }

  private async migrateOn(command: MigrateInstanceCommand): Promise<Result<MigrateOutcome>> {
    const problems = requestProblems(command);
    if (problems.length > 0)
      return reject({
        code: ErrorCode.MalformedRequest,
        message: 'the migration request is not valid',
        errors: problems,
      });
    return decideOnQueuedInstance(
      this.engine,
      command,
      (state, streamName) => this.migrate(command, streamName, state),
      // A migration recorded stands on the cached instance (its append checked the revision);
      // any other answer is given from the stream as it is.
      (decided) => decided.ok && !decided.value.dryRun,
    );
  }

  private async migrate(
    command: MigrateInstanceCommand,
    streamName: string,
    state: InstanceState,
  ): Promise<Result<MigrateOutcome>> {
    const refusal = operatorActionRefusal(state, command, 'migrated');
    if (refusal) return reject(refusal);
    const decided = this.plan(command, state);
    if (!decided.ok) return decided;
    const { plan } = decided.value;
    if (command.dryRun) return ok({ dryRun: true, plan, instance: viewOf(state) });
    return this.record(command, streamName, state, decided.value);
  }

  /** Checks the migration and works out what it changes, without writing anything. */
  private plan(command: MigrateInstanceCommand, state: InstanceState): Result<Decided> {
    const source = state.definition;
    const errors: ValidationIssue[] = [];
    const refused = () =>
      reject<Decided>({
        code: ErrorCode.MigrationRefused,
        message: `${source.name} instance ${state.instanceId} cannot be migrated from v${source.version} to v${command.toVersion}: ${errors
          .map((error) => `${error.path} ${error.message}`)
          .join('; ')}`,
        fromVersion: source.version,
        toVersion: command.toVersion,
        errors,
      });
    const target = this.engine.catalog.version(source.name, command.toVersion);
    if (!target) {
      errors.push({
        path: 'toVersion',
        message: `${source.name} v${command.toVersion} is not registered (registered: ${this.registeredVersions(source.name)})`,
      });
      return refused();
    }
    if (target.version === source.version) {
      errors.push({
        path: 'toVersion',
        message: `the instance runs on v${source.version} already`,
      });
      return refused();
    }

    // The state: each leaf path through the mapping (or kept), checked against the target.
    const mapping = command.stateMapping ?? {};
    const applied: Record<string, string> = {};
    let toState: unknown = undefined;
    for (const path of statePaths(state.snapshot.value)) {
      const mapped = mapping[path] ?? path;
      const where = mapping[path] === undefined ? 'state' : `stateMapping.${path}`;
      let value: unknown;
      try {
        value = parseStateText(mapped);
      } catch {
        errors.push({ path: where, message: `${JSON.stringify(mapped)} is not a state` });
        continue;
      }
      const resolved = resolveStateValue(target.machine, value);
      if (resolved.missing.length > 0) {
        errors.push({
          path: where,
          message:
            mapping[path] === undefined
              ? `the instance is in ${path}, which v${target.version} does not have: map it (stateMapping.${path})`
              : `v${target.version} has no state ${resolved.missing.join(', ')}`,
        });
        continue;
      }
      if (resolved.nodes.some((node) => node.type === 'final')) {
        errors.push({
          path: where,
          message: `${mapped} is a final state of v${target.version}: a migrated instance keeps running`,
        });
        continue;
      }
      applied[path] = mapped;
      toState = mergeStateValues(toState, value);
    }

    // The context: the target's conversion, the operator's patch, the target's check.
    let context: unknown = state.snapshot.context;
    const convert = target.migrations.contextFrom?.[source.version];
    if (convert) {
      try {
        context = convert(structuredClone(context));
      } catch (error) {
        errors.push({
          path: 'context',
          message: `v${target.version}'s migrations.contextFrom[${source.version}] threw: ${(error as Error).message}`,
        });
      }
    }
    if (command.contextPatch) context = mergePatch(context, command.contextPatch);
    if (typeof context !== 'object' || context === null || Array.isArray(context))
      errors.push({ path: 'context', message: 'must be a JSON object' });
    else
      for (const issue of target.migrations.validateContext?.(context) ?? [])
        errors.push({
          path: issue.path ? `context.${issue.path}` : 'context',
          message: issue.message,
        });
    if (errors.length > 0) return refused();

    let snapshot: AnyMachineSnapshot;
    try {
      snapshot = target.machine.resolveState({
        value: toState as never,
        context: context as never,
      });
    } catch (error) {
      errors.push({
        path: 'stateMapping',
        message: `v${target.version} cannot be in ${JSON.stringify(toState)}: ${(error as Error).message}`,
      });
      return refused();
    }
    const cancel = command.unmappable === 'cancel';

    // Timers: an `after` timer moves to the mapped state's delay of the same name; any other
    // delayed event follows when the new state takes it.
    const kept: string[] = [];
    const movedTimers: { from: PendingTimer; eventType: string }[] = [];
    const cancelledTimers: PendingTimer[] = [];
    for (const timer of [...state.pendingTimers.values()].sort(byDueAt)) {
      const followed = timerInTarget(timer, state.snapshot, snapshot, applied);
      if (followed === timer.eventType) kept.push(timer.timerId);
      else if (followed) movedTimers.push({ from: timer, eventType: followed });
      else if (cancel) cancelledTimers.push(timer);
      else
        errors.push({
          path: `timers.${timer.timerId}`,
          message: `${timer.eventType} (due ${timer.dueAt}) has no place in v${target.version}'s ${JSON.stringify(toState)}: map its state to one with that delay, or cancel it (unmappable: cancel)`,
        });
    }

    // Commands: an invoked command is waited for by its invoke, which the new states must have.
    const keptCommands: string[] = [];
    const withdrawn: { commandId: string; commandType: string }[] = [];
    const invokeIds = new Set(
      snapshot._nodes.flatMap((node: AnyStateNode) => node.invoke.map((invoke) => invoke.id)),
    );
    for (const inFlight of [...state.commands.inFlight.values()].sort(
      (a, b) => a.dispatchedRevision - b.dispatchedRevision,
    )) {
      if (inFlight.invokeId === null || invokeIds.has(inFlight.invokeId))
        keptCommands.push(inFlight.commandId);
      else if (cancel)
        withdrawn.push({ commandId: inFlight.commandId, commandType: inFlight.commandType });
      else
        errors.push({
          path: `commands.${inFlight.commandId}`,
          message: `${inFlight.commandType} is awaited by invoke ${inFlight.invokeId}, which v${target.version}'s ${JSON.stringify(toState)} does not have: withdraw it (unmappable: cancel)`,
        });
    }

    // Messages waiting for it must be ones the target still declares.
    const follow: string[] = [];
    const undeliverable: string[] = [];
    for (const message of command.waitingMessages ?? []) {
      if (target.messages[message.name]) follow.push(message.messageId);
      else if (cancel) undeliverable.push(message.messageId);
      else
        errors.push({
          path: `messages.${message.messageId}`,
          message: `${message.name} waits for this instance, and v${target.version} does not declare it: it would never be delivered (unmappable: cancel lets it expire)`,
        });
    }
    if (errors.length > 0) return refused();

    return ok({
      target,
      snapshot,
      movedTimers,
      cancelledTimers,
      withdrawn,
      plan: {
        fromVersion: source.version,
        toVersion: target.version,
        fromState: state.snapshot.value,
        toState: snapshot.value,
        stateMapping: applied,
        context: snapshot.context,
        timers: {
          kept,
          moved: movedTimers.map(({ from, eventType }) => ({ timerId: from.timerId, eventType })),
          cancelled: cancelledTimers.map((timer) => timer.timerId),
        },
        commands: { kept: keptCommands, withdrawn: withdrawn.map((c) => c.commandId) },
        messages: { follow, undeliverable },
      },
    });
  }

  private async record(
    command: MigrateInstanceCommand,
    streamName: string,
    state: InstanceState,
    decided: Decided,
  ): Promise<Result<MigrateOutcome>> {
    const { ids, recorder, clock, instances } = this.engine;
    const { plan, target, snapshot } = decided;
    // Derived from the revision it starts from: two processes deciding the same migration at
    // once record it once (the other finds the stream moved on, reloads and is told why).
    const eventId = ids.deterministic(
      `${streamName}/migrated at ${state.revision} to ${target.version}`,
    );
    const causeRevision = state.revision + 1;
    const fact = frameworkFacts(ids, eventId, target);
    const events: PlannedEvent[] = [
      fact(0, FrameworkEvent.InstanceMigrated, {
        fromVersion: plan.fromVersion,
        toVersion: plan.toVersion,
        fromStateJson: JSON.stringify(plan.fromState),
        toStateJson: JSON.stringify(plan.toState),
        stateMapping: { ...plan.stateMapping },
        contextJson: JSON.stringify(plan.context),
        operator: command.operator,
        reason: command.reason ?? '',
      } satisfies InstanceMigratedPayload),
    ];
    const cancelled = (timer: PendingTimer) =>
      fact(events.length, FrameworkEvent.TimerCancelled, {
        timerId: timer.timerId,
        dueAt: timer.dueAt,
        cancelledByEventType: FrameworkEvent.InstanceMigrated,
        cancelledByRevision: causeRevision,
      } satisfies TimerCancelledPayload);
    const now = clock.now().getTime();
    for (const { from, eventType } of decided.movedTimers) {
      events.push(cancelled(from));
      const timerId = ids.deterministic(`${eventId}/timer/${from.timerId}`);
      const event = { ...(JSON.parse(from.eventJson) as object), type: eventType };
      events.push(
        fact(events.length, FrameworkEvent.TimerScheduled, {
          timerId,
          // XState names an `after` timer's send by its event type; its cancel on exit will too.
          sendId: from.sendId === from.eventType ? eventType : from.sendId,
          eventType,
          eventJson: JSON.stringify(event),
          delayMs: Math.max(0, Date.parse(from.dueAt) - now),
          dueAt: from.dueAt,
        } satisfies TimerScheduledPayload),
      );
    }
    for (const timer of decided.cancelledTimers) events.push(cancelled(timer));
    for (const { commandId, commandType } of decided.withdrawn)
      events.push(
        fact(events.length, FrameworkEvent.CommandWithdrawn, {
          commandId,
          commandType,
          withdrawnByEventType: FrameworkEvent.InstanceMigrated,
          withdrawnByRevision: causeRevision,
        } satisfies CommandWithdrawnPayload),
      );

    const recorded = await recorder.record(
      {
        // The append is the target's: its events carry toVersion, as every later one will.
        definition: target,
        instanceId: state.instanceId,
        streamName,
        correlationId: state.correlationId,
        causationId: eventId,
        bytesBefore: state.bytes,
        stateBefore: state.snapshot.value,
        nextSnapshot: snapshot,
        expectedRevision: state.revision,
        actor: command.operator,
      },
      events,
    );
    if (!recorded.ok) return recorded;
    const appended = recorded.value;
    const next: InstanceState = {
      ...afterAppend(state, {
        snapshot,
        revision: appended.nextExpectedRevision,
        requestEventId: eventId,
        bytes: appended.bytes,
        events,
      }),
      definition: target,
    };
    if (appended.deduplicated) {
      // Recorded before, by another process: what the stream says is the answer.
      instances.forget(streamName);
      const reloaded = (await instances.load(state.definition.name, state.instanceId))!;
      return ok({ dryRun: false, plan, instance: viewOf(reloaded), revision: reloaded.revision });
    }
    instances.remember(next);
    return ok({ dryRun: false, plan, instance: viewOf(next), revision: next.revision });
  }

  private registeredVersions(workflow: string): string {
    return this.engine.catalog
      .all()
      .filter((definition) => definition.name === workflow)
      .map((definition) => `v${definition.version}`)
      .sort()
      .join(', ');
  }
}

/** What is wrong with a migration request's own fields, by field. */
function requestProblems(command: MigrateInstanceCommand): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if (!Number.isInteger(command.toVersion) || command.toVersion < 1)
    problems.push({ path: 'toVersion', message: 'must be a positive integer' });
  for (const [from, to] of Object.entries(command.stateMapping ?? {}))
    if (typeof to !== 'string' || to.trim() === '')
      problems.push({ path: `stateMapping.${from}`, message: 'must be a state path' });
  if (command.operator.trim() === '' || command.operator.length > MAX_OPERATOR_ID_LENGTH)
    problems.push({
      path: 'operator',
      message: `must be 1 to ${MAX_OPERATOR_ID_LENGTH} characters`,
    });
  if ((command.reason?.length ?? 0) > MAX_MIGRATION_REASON_LENGTH)
    problems.push({
      path: 'reason',
      message: `must be at most ${MAX_MIGRATION_REASON_LENGTH} characters`,
    });
  return problems;
}

const byDueAt = (a: PendingTimer, b: PendingTimer) =>
  a.dueAt.localeCompare(b.dueAt) || a.timerId.localeCompare(b.timerId);

/** Two state values of different parallel regions as one (`{a:'x'}` and `{b:'y'}`). */
function mergeStateValues(into: unknown, value: unknown): unknown {
  if (into === undefined) return value;
  if (typeof into === 'string' || typeof value === 'string') return value;
  const merged: Record<string, unknown> = { ...(into as Record<string, unknown>) };
  for (const [key, below] of Object.entries(value as Record<string, unknown>))
    merged[key] = key in merged ? mergeStateValues(merged[key], below) : below;
  return merged;
}

/** RFC 7396 JSON merge patch: objects merge, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const base =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>))
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  return base;
}

/**
 * Where a pending timer goes in the target: its event type there (the same one when it stays),
 * or undefined when it has no place. An `after` timer belongs to a state node of the source;
 * that node's path maps as the mapping says (a leaf) or stays (an ancestor), and the node at
 * the mapped path must be active in the target and have a delay of the same name. Any other
 * delayed event follows when the target's new state takes it.
 */
function timerInTarget(
  timer: PendingTimer,
  before: AnyMachineSnapshot,
  after: AnyMachineSnapshot,
  mapping: Readonly<Record<string, string>>,
): string | undefined {
  if (!timer.eventType.startsWith(AFTER_PREFIX)) {
    const event = JSON.parse(timer.eventJson) as { type: string };
    return after.can(event) ? timer.eventType : undefined;
  }
  const owner = before._nodes.find(
    (node: AnyStateNode) => node.path.length > 0 && timer.eventType.endsWith(`.${node.id}`),
  );
  if (!owner) return undefined;
  const delay = timer.eventType.slice(AFTER_PREFIX.length, -(owner.id.length + 1));
  const path = owner.path.join('.');
  const targetPath = mapping[path] ?? path;
  const node = after._nodes.find(
    (candidate: AnyStateNode) => candidate.path.join('.') === targetPath,
  );
  if (!node) return undefined;
  const eventType = `${AFTER_PREFIX}${delay}.${node.id}`;
  return node.ownEvents.includes(eventType) ? eventType : undefined;
}
