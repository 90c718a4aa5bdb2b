import { ErrorCode, ValidationIssue } from '../errors/esflow-error';
import { ok, reject, Result } from '../errors/rejection';
import { InstanceStatus } from '../workflow/event-metadata';
import {
  CommandWithdrawnPayload,
  FrameworkEvent,
  InstanceTerminatedPayload,
  TimerCancelledPayload,
} from '../workflow/framework-events';
import {
  afterAppend,
  InstanceState,
  instanceStatusOf,
  InstanceView,
  viewOf,
} from '../workflow/instance-state';
import {
  decideOnQueuedInstance,
  EngineContext,
  frameworkFacts,
  observed,
  operatorActionRefusal,
  reloadInstance,
} from './engine-context';
import { PlannedEvent } from './transition-planner';

/** The longest reason of a termination, in characters. */
export const MAX_TERMINATION_REASON_LENGTH = 2000;
/** The longest operator id a termination records, in characters. */
export const MAX_OPERATOR_ID_LENGTH = 200;

/**
 * An operator's request to end running instance `id` of `workflow` by hand, for `reason`. The
 * `operator` (the principal id of the request) is recorded with it, as the fact's `operator` and
 * the `actor` of every event of its append.
 */
export interface TerminateInstanceCommand {
  readonly workflow: string;
  readonly id: string;
  /** Why, in the operator's words: 1–2000 characters, not only white space. */
  readonly reason: string;
  /** Who: 1–200 characters. */
  readonly operator: string;
  /** The revision the operator last saw (`If-Match`); a mismatch is a conflict, not retried. */
  readonly expectedRevision?: number;
}

/** A termination recorded: the instance's view after it (status `terminated`). */
export interface TerminateOutcome {
  readonly instance: InstanceView;
  /** The revision of the append's last event. */
  readonly revision: number;
  /** The timers it cancelled and the commands it withdrew, by id. */
  readonly cancelledTimers: readonly string[];
  readonly withdrawnCommands: readonly string[];
}

/** What is wrong with a termination's reason and operator, by field. */
function problemsOf(command: TerminateInstanceCommand): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  const text = (path: string, value: unknown, max: number) => {
    if (typeof value !== 'string') problems.push({ path, message: 'must be a string' });
    else if (value.trim().length === 0) problems.push({ path, message: 'must not be empty' });
    else if (value.length > max)
      problems.push({ path, message: `must be at most ${max} characters` });
  };
  text('reason', command.reason, MAX_TERMINATION_REASON_LENGTH);
  text('operator', command.operator, MAX_OPERATOR_ID_LENGTH);
  return problems;
}

/**
 * Terminates a running instance: one atomic append, with the expected revision, of an
 * `InstanceTerminated { reason, operator, stateAtTermination }` fact, then a `TimerCancelled`
 * for each pending timer and a `CommandWithdrawn` for each command in flight (pending, leased or
 * in an incident), so that no timer of it fires and no command of it is leased again. Its status
 * becomes `terminated` (final): later events are refused as a completed instance refuses them,
 * and late timers and command outcomes find nothing pending. An instance that is not running is
 * refused with `INSTANCE_NOT_RUNNING`; a bad reason or operator with `MALFORMED_REQUEST` naming
 * the field; nothing is written on any refusal. The fact's id derives from the stream, so two
 * processes terminating the same instance at once record it once.
 */
export class TerminateInstanceHandler {
  constructor(private readonly engine: EngineContext) {}

  async handle(command: TerminateInstanceCommand): Promise<Result<TerminateOutcome>> {
    return observed(
      this.engine,
      { workflow: command.workflow, eventType: FrameworkEvent.InstanceTerminated },
      await this.terminateOn(command),
      () => 'recorded',
    );
  }

  private async terminateOn(command: TerminateInstanceCommand): Promise<Result<TerminateOutcome>> {
    const problems = problemsOf(command);
    if (problems.length > 0)
      return reject({
        code: ErrorCode.MalformedRequest,
        message: 'the termination is not valid',
        errors: problems,
      });
    return decideOnQueuedInstance(
      this.engine,
      command,
      (state, streamName) => this.terminate(command, streamName, state),
      // Only a termination recorded stands on the cached instance; a refusal is confirmed on
      // the stream as it is.
      (decided) => decided.ok,
    );
  }

  private async terminate(
    command: TerminateInstanceCommand,
    streamName: string,
    state: InstanceState,
  ): Promise<Result<TerminateOutcome>> {
    const { ids, recorder, instances } = this.engine;
    const refusal = operatorActionRefusal(state, command, 'terminated');
    if (refusal) return reject(refusal);

    const { definition } = state;
    // No Idempotency-Key holds a space: this id is never a client request's.
    const eventId = ids.deterministic(`${streamName}/instance terminated`);
    const causeRevision = state.revision + 1;
    const fact = frameworkFacts(ids, eventId, definition);
    const events: PlannedEvent[] = [
      fact(0, FrameworkEvent.InstanceTerminated, {
        reason: command.reason,
        operator: command.operator,
        stateAtTermination: JSON.stringify(state.snapshot.value),
      } satisfies InstanceTerminatedPayload),
    ];
    const timers = [...state.pendingTimers.values()].sort(
      (a, b) => a.dueAt.localeCompare(b.dueAt) || a.timerId.localeCompare(b.timerId),
    );
    for (const timer of timers)
      events.push(
        fact(events.length, FrameworkEvent.TimerCancelled, {
          timerId: timer.timerId,
          dueAt: timer.dueAt,
          cancelledByEventType: FrameworkEvent.InstanceTerminated,
          cancelledByRevision: causeRevision,
        } satisfies TimerCancelledPayload),
      );
    const commands = [...state.commands.inFlight.values()].sort(
      (a, b) => a.dispatchedRevision - b.dispatchedRevision,
    );
    for (const inFlight of commands)
      events.push(
        fact(events.length, FrameworkEvent.CommandWithdrawn, {
          commandId: inFlight.commandId,
          commandType: inFlight.commandType,
          withdrawnByEventType: FrameworkEvent.InstanceTerminated,
          withdrawnByRevision: causeRevision,
        } satisfies CommandWithdrawnPayload),
      );

    const recorded = await recorder.record(
      {
        definition,
        instanceId: state.instanceId,
        streamName,
        correlationId: state.correlationId,
        causationId: eventId,
        bytesBefore: state.bytes,
        stateBefore: state.snapshot.value,
        nextSnapshot: state.snapshot,
        expectedRevision: state.revision,
        actor: command.operator,
        statusAfter: InstanceStatus.Terminated,
        beyondInstanceLimit: true,
      },
      events,
    );
    if (!recorded.ok) return recorded;
    const appended = recorded.value;
    if (appended.deduplicated) {
      // Another process recorded this termination first: the instance is not running any more.
      const reloaded = await reloadInstance(this.engine, command.workflow, command.id);
      return reject({
        code: ErrorCode.InstanceNotRunning,
        message: `${command.workflow} instance ${command.id} was terminated already`,
        workflow: command.workflow,
        id: command.id,
        instanceStatus: instanceStatusOf(reloaded),
        state: reloaded.snapshot.value,
      });
    }
    const next = afterAppend(state, {
      snapshot: state.snapshot,
      revision: appended.nextExpectedRevision,
      requestEventId: eventId,
      bytes: appended.bytes,
      events,
    });
    instances.remember(next);
    return ok({
      instance: viewOf(next),
      revision: appended.nextExpectedRevision,
      cancelledTimers: timers.map((timer) => timer.timerId),
      withdrawnCommands: commands.map((inFlight) => inFlight.commandId),
    });
  }
}
