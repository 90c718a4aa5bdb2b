import { pureTransition } from '../workflow/pure-transition';
import { ErrorCode } from '../errors/esflow-error';
import { ok, reject, Result } from '../errors/rejection';
import { EventCategory } from '../workflow/event-metadata';
import {
  CommandCompletedPayload,
  CommandFailedPayload,
  FrameworkEvent,
  IncidentRaisedPayload,
  IncidentResolution,
  IncidentResolvedPayload,
} from '../workflow/framework-events';
import {
  afterAppend,
  InstanceState,
  InstanceView,
  machineEvent,
  viewOf,
} from '../workflow/instance-state';
import { InFlightCommand, invokeDoneEvent, invokeErrorEvent } from '../workflow/instance-commands';
import {
  decideOnQueuedInstance,
  EngineContext,
  observed,
  prefixIssues,
  reloadInstance,
} from './engine-context';
import { planFacts, PlannedEvent, schemaNameOf } from './transition-planner';

/** A command's reply: an event of the workflow, delivered to the instance that dispatched it. */
export interface CommandReply {
  readonly type: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** Records that command `commandId` of instance `id` was carried out, with its reply if any. */
export interface CompleteCommand {
  readonly workflow: string;
  readonly id: string;
  readonly commandId: string;
  /** How many attempts it took (1 when the first one succeeded). */
  readonly attempts: number;
  /** An emitted command's reply event, if it has one. */
  readonly reply?: CommandReply;
  /** An invoked actor's output (JSON), when its invoke declares an output record. */
  readonly output?: unknown;
}

/** Records that command `commandId` of instance `id` failed for good, after `attempts`. */
export interface RaiseIncident {
  readonly workflow: string;
  readonly id: string;
  readonly commandId: string;
  readonly attempts: number;
  readonly error: string;
}

/** An operator's decision on an open incident. */
export interface ResolveIncident {
  readonly workflow: string;
  readonly id: string;
  readonly incidentId: string;
  /** `retry`: dispatch the command again; `manual`: it was settled by hand, outside esflow. */
  readonly resolution: IncidentResolution;
  readonly note?: string;
  readonly resolvedBy?: string;
  /** Who asked (the REST API's principal id): the `actor` of every event of the append. */
  readonly actor?: string;
  /**
   * A manual resolution of an invoked actor's command: the output it came to (validated against
   * the invoke's output record, which then requires it), delivered to the machine as its done
   * event. Refused for any other resolution.
   */
  readonly output?: unknown;
}

/**
 * What a command outcome came to:
 * - `recorded`: the fact (and a reply's transition) was appended;
 * - `replayed`: the same outcome was recorded before (a duplicate reply, a repeated call);
 *   nothing new;
 * - `notInFlight`: the instance has no such command in flight (an unknown id, or one already
 *   settled otherwise) or no such open incident; nothing recorded.
 * `replyAccepted` is false when the reply was recorded but the instance's state did not accept
 * it (it had moved on, e.g. by a timer): the command is settled, the machine unchanged.
 */
export type CommandOutcome =
  | {
      readonly outcome: 'recorded';
      readonly instance: InstanceView;
      readonly revision: number;
      readonly replyAccepted: boolean;
      readonly settledAs: CommandSettlement;
    }
  | { readonly outcome: 'replayed' | 'notInFlight'; readonly instance: InstanceView };

/**
 * What a recorded outcome did to the command: `completed` (with its reply or output),
 * `errorDelivered` (an invoked command's final error went to the machine's `onError`: settled),
 * `incident` (it waits for an operator), or `resolved` (an operator's decision on an incident).
 */
export type CommandSettlement = 'completed' | 'errorDelivered' | 'incident' | 'resolved';

/** A completion as planned before the machine sees it. */
interface PlannedCompletion {
  /** The event the transition's facts are caused by (the reply), when it is not the completion. */
  readonly cause?: PlannedEvent;
  /** Events recorded before `CommandCompleted` (the reply). */
  readonly before: readonly PlannedEvent[];
  /** What the machine receives: the reply, or the invoke's done event; none without a reply. */
  readonly event?: { readonly type: string };
  readonly replyType: string | null;
  readonly outputJson: string | null;
}

/**
 * What comes back from the services that carry out an instance's commands — completions with
 * their replies, incidents — and the operators' resolutions, each recorded in the instance's
 * stream through the same queue and expected-revision append as a client's event. Every fact's
 * id derives from the command (or incident) id, so a duplicate (a worker that completes twice,
 * a handler re-run after a crash) is recognised and answered with `replayed`, never recorded
 * twice.
 */
export class CommandOutcomeHandler {
  constructor(private readonly engine: EngineContext) {}

  /**
   * Runs `decide` for the command's instance as every writing use case runs (see
   * {@link onInstance}), on the cached instance while this process is its only writer: only an
   * outcome recorded stands on the cache (its append found the stream at the cached revision);
   * any other answer, and the view it carries, is given from the stream as it is.
   */
  private async decideOn(
    command: { readonly workflow: string; readonly id: string },
    eventType: FrameworkEvent,
    decide: (current: InstanceState, streamName: string) => Promise<Result<CommandOutcome>>,
  ): Promise<Result<CommandOutcome>> {
    const decided = await decideOnQueuedInstance(
      this.engine,
      command,
      decide,
      (decided) => decided.ok && decided.value.outcome === 'recorded',
    );
    // `notInFlight` is a refusal in all but name: nothing was pending to settle.
    return observed(
      this.engine,
      { workflow: command.workflow, eventType },
      decided,
      ({ outcome }) => (outcome === 'notInFlight' ? 'rejected' : outcome),
    );
  }

  /**
   * Records a completion. An emitted command's reply event comes first (validated against its
   * schema, caused by the command id; delivered to the machine if its state accepts it), then
   * `CommandCompleted`, then the facts of the reply's transition, in one append. An invoked
   * actor's command has no reply: its `output` (validated against the invoke's output record)
   * is recorded in `CommandCompleted`, which delivers it as `xstate.done.actor.<invokeId>`.
   */
  complete(command: CompleteCommand): Promise<Result<CommandOutcome>> {
    return this.decideOn(command, FrameworkEvent.CommandCompleted, async (current, streamName) => {
      const { ids } = this.engine;
      const completedId = ids.deterministic(`${streamName}/command/${command.commandId}/completed`);
      if (current.requestRevisions.has(completedId))
        return ok({ outcome: 'replayed', instance: viewOf(current) });
      const inFlight = current.commands.inFlight.get(command.commandId);
      if (!inFlight) return ok({ outcome: 'notInFlight', instance: viewOf(current) });
      const planned =
        inFlight.invokeId === null
          ? this.planReply(current, streamName, command, inFlight)
          : this.planOutput(current, command, inFlight, inFlight.invokeId);
      if (!planned.ok) return planned;
      const { cause, before, event, replyType, outputJson } = planned.value;
      const accepted = event !== undefined && current.snapshot.can(event);
      const [nextSnapshot, actions] = accepted
        ? pureTransition(current.definition.machine, current.snapshot, event)
        : [current.snapshot, []];
      const completed = this.fact(current, completedId, FrameworkEvent.CommandCompleted, {
        commandId: command.commandId,
        commandType: inFlight.commandType,
        attempts: command.attempts,
        replyType,
        replyAccepted: event ? accepted : true,
        outputJson,
      } satisfies CommandCompletedPayload);
      const facts = accepted
        ? this.planFactsOf(current, cause ?? completed, event.type, nextSnapshot, actions, inFlight)
        : [];
      const events = [...before, completed, ...facts];
      return this.append(
        current,
        streamName,
        command.commandId,
        events,
        nextSnapshot,
        accepted || !event,
      );
    });
  }

  /**
   * The last attempt of a command in flight failed for good. An invoked actor's command whose
   * state has `onError` for it gets `CommandFailed`, which delivers the error as
   * `xstate.error.actor.<invokeId>` (with the facts of that transition); any other gets an
   * incident, as {@link raiseIncident}. `settledAs` says which.
   */
  fail(command: RaiseIncident): Promise<Result<CommandOutcome>> {
    return this.decideOn(command, FrameworkEvent.CommandFailed, async (current, streamName) => {
      const failedId = this.engine.ids.deterministic(
        `${streamName}/command/${command.commandId}/failed`,
      );
      if (current.requestRevisions.has(failedId))
        return ok({ outcome: 'replayed', instance: viewOf(current) });
      const inFlight = current.commands.inFlight.get(command.commandId);
      if (!inFlight || inFlight.incidentId !== null)
        return ok({ outcome: 'notInFlight', instance: viewOf(current) });
      const event =
        inFlight.invokeId === null ? undefined : invokeErrorEvent(inFlight.invokeId, command.error);
      if (!event || !current.snapshot.can(event))
        return this.recordIncident(current, streamName, command, inFlight);
      const failed = this.fact(current, failedId, FrameworkEvent.CommandFailed, {
        commandId: command.commandId,
        commandType: inFlight.commandType,
        invokeId: inFlight.invokeId!,
        attempts: command.attempts,
        error: command.error,
      } satisfies CommandFailedPayload);
      const [nextSnapshot, actions] = pureTransition(
        current.definition.machine,
        current.snapshot,
        event,
      );
      const facts = this.planFactsOf(current, failed, event.type, nextSnapshot, actions, inFlight);
      return this.append(
        current,
        streamName,
        command.commandId,
        [failed, ...facts],
        nextSnapshot,
        true,
        'errorDelivered',
      );
    });
  }

  /** An emitted command's reply: a workflow event of its own, checked against its schema. */
  private planReply(
    current: InstanceState,
    streamName: string,
    command: CompleteCommand,
    inFlight: InFlightCommand,
  ): Result<PlannedCompletion> {
    const { definition } = current;
    if (command.output !== undefined)
      return reject({
        code: ErrorCode.SchemaValidationFailed,
        message: `${inFlight.commandType} is an emitted command: it completes with a reply event, not an output`,
        errors: [{ path: 'output', message: 'is only for the command of an invoked actor' }],
      });
    const reply = command.reply;
    if (!reply) return ok({ before: [], replyType: null, outputJson: null });
    if (!definition.inputEvents.includes(reply.type))
      return reject({
        code: ErrorCode.UnknownEventType,
        message: `${definition.name} v${definition.version} has no event ${reply.type} to take as the reply of ${inFlight.commandType}`,
        eventType: reply.type,
        knownTypes: definition.inputEvents,
      });
    const issues = this.engine.codec.validate(schemaNameOf(definition, reply.type), reply.payload);
    if (issues.length > 0)
      return reject({
        code: ErrorCode.SchemaValidationFailed,
        message: `the reply does not match the schema of ${reply.type}`,
        errors: prefixIssues('reply.payload', issues),
      });
    const replyEvent: PlannedEvent = {
      eventId: this.engine.ids.deterministic(`${streamName}/command/${command.commandId}/reply`),
      type: reply.type,
      schemaName: schemaNameOf(definition, reply.type),
      category: EventCategory.Workflow,
      payload: reply.payload,
    };
    return ok({
      cause: replyEvent,
      before: [replyEvent],
      event: machineEvent(reply.type, reply.payload),
      replyType: reply.type,
      outputJson: null,
    });
  }

  /** An invoked actor's output, checked against the invoke's output record when it declares one. */
  private planOutput(
    current: InstanceState,
    command: Pick<CompleteCommand, 'output'> & { readonly reply?: CommandReply },
    inFlight: InFlightCommand,
    invokeId: string,
  ): Result<PlannedCompletion> {
    const { definition } = current;
    if (command.reply !== undefined)
      return reject({
        code: ErrorCode.SchemaValidationFailed,
        message: `${inFlight.commandType} is the command of invoke ${invokeId}: it completes with an output, not a reply event`,
        errors: [{ path: 'reply', message: 'is only for an emitted command' }],
      });
    const declared = Object.values(definition.invokes).find(
      (invoked) => invoked.command === inFlight.commandType,
    )?.output;
    if (declared === undefined && command.output !== undefined)
      return reject({
        code: ErrorCode.SchemaValidationFailed,
        message: `invoke ${invokeId} (${inFlight.commandType}) of ${definition.name} v${definition.version} declares no output`,
        errors: [
          { path: 'output', message: 'must be absent: the invoke declares no output record' },
        ],
      });
    if (declared !== undefined) {
      const issues = this.engine.codec.validate(
        `${definition.schemaNamespace}.${declared}`,
        command.output ?? null,
      );
      if (issues.length > 0)
        return reject({
          code: ErrorCode.SchemaValidationFailed,
          message: `the output does not match the schema of ${declared}`,
          errors: prefixIssues('output', issues),
        });
    }
    return ok({
      before: [],
      event: invokeDoneEvent(invokeId, command.output),
      replyType: null,
      outputJson: command.output === undefined ? null : JSON.stringify(command.output),
    });
  }

  /** The facts of a transition a command outcome caused; the command itself is not withdrawn. */
  private planFactsOf(
    current: InstanceState,
    cause: PlannedEvent,
    causeType: string,
    nextSnapshot: InstanceState['snapshot'],
    actions: readonly { type: string; params?: unknown }[],
    settling: InFlightCommand,
  ): PlannedEvent[] {
    const inFlightCommands = new Map(current.commands.inFlight);
    inFlightCommands.delete(settling.commandId);
    return planFacts({
      definition: current.definition,
      causeEventId: cause.eventId,
      causeType,
      causeRevision: current.revision + 1,
      before: current.snapshot,
      after: nextSnapshot,
      actions,
      pendingTimers: current.pendingTimers,
      inFlightCommands,
      now: this.engine.clock.now(),
      deriveId: (name) => this.engine.ids.deterministic(name),
    });
  }

  /** Records an incident on a command in flight that has none open. */
  raiseIncident(command: RaiseIncident): Promise<Result<CommandOutcome>> {
    return this.decideOn(command, FrameworkEvent.IncidentRaised, async (current, streamName) => {
      const inFlight = current.commands.inFlight.get(command.commandId);
      if (!inFlight || inFlight.incidentId !== null)
        return ok({ outcome: 'notInFlight', instance: viewOf(current) });
      return this.recordIncident(current, streamName, command, inFlight);
    });
  }

  private recordIncident(
    current: InstanceState,
    streamName: string,
    command: RaiseIncident,
    inFlight: InFlightCommand,
  ): Promise<Result<CommandOutcome>> {
    const incidentId = this.engine.ids.deterministic(
      `${streamName}/command/${command.commandId}/incident/${inFlight.incidents}`,
    );
    const raised = this.fact(current, incidentId, FrameworkEvent.IncidentRaised, {
      incidentId,
      commandId: command.commandId,
      commandType: inFlight.commandType,
      attempts: command.attempts,
      error: command.error,
    } satisfies IncidentRaisedPayload);
    return this.append(
      current,
      streamName,
      command.commandId,
      [raised],
      current.snapshot,
      true,
      'incident',
    );
  }

  /** Records an operator's resolution of an open incident. */
  resolveIncident(command: ResolveIncident): Promise<Result<CommandOutcome>> {
    return this.decideOn(command, FrameworkEvent.IncidentResolved, async (current, streamName) => {
      const resolvedId = this.engine.ids.deterministic(
        `${streamName}/incident/${command.incidentId}/resolved`,
      );
      if (current.requestRevisions.has(resolvedId))
        return ok({ outcome: 'replayed', instance: viewOf(current) });
      const incident = current.commands.incidents.get(command.incidentId);
      if (!incident) return ok({ outcome: 'notInFlight', instance: viewOf(current) });
      const inFlight = current.commands.inFlight.get(incident.commandId);
      const invokeId = inFlight?.invokeId ?? null;
      // Settled by hand, an invoked actor's command completes for the machine: its invoking
      // state moves on with the output the operator gives, as if a worker had given it.
      const delivers =
        command.resolution === 'manual' && inFlight !== undefined && invokeId !== null;
      if (command.output !== undefined && !delivers)
        return reject({
          code: ErrorCode.SchemaValidationFailed,
          message: `an output is only for resolving the command of an invoked actor by hand; incident ${incident.incidentId} is on ${incident.commandType}${command.resolution === 'retry' ? ', and a retry runs it again' : ''}`,
          errors: [{ path: 'output', message: 'must be absent here' }],
        });
      const planned = delivers
        ? this.planOutput(current, { output: command.output }, inFlight, invokeId)
        : undefined;
      if (planned && !planned.ok) return planned;
      const resolved = this.fact(current, resolvedId, FrameworkEvent.IncidentResolved, {
        incidentId: incident.incidentId,
        commandId: incident.commandId,
        resolution: command.resolution,
        note: command.note ?? null,
        resolvedBy: command.resolvedBy ?? null,
        outputJson: planned?.value.outputJson ?? null,
      } satisfies IncidentResolvedPayload);
      const event = planned?.value.event;
      const accepted = event !== undefined && current.snapshot.can(event);
      const [nextSnapshot, actions] = accepted
        ? pureTransition(current.definition.machine, current.snapshot, event)
        : [current.snapshot, []];
      const facts = accepted
        ? this.planFactsOf(current, resolved, event.type, nextSnapshot, actions, inFlight!)
        : [];
      return this.append(
        current,
        streamName,
        incident.commandId,
        [resolved, ...facts],
        nextSnapshot,
        true,
        'resolved',
        command.actor,
      );
    });
  }

  private fact(
    state: InstanceState,
    eventId: string,
    type: FrameworkEvent,
    payload: object,
  ): PlannedEvent {
    return {
      eventId,
      type,
      schemaName: schemaNameOf(state.definition, type),
      category: EventCategory.Framework,
      payload: { ...payload },
    };
  }

  private async append(
    state: InstanceState,
    streamName: string,
    causationId: string,
    events: readonly PlannedEvent[],
    nextSnapshot: InstanceState['snapshot'],
    replyAccepted: boolean,
    settledAs: CommandSettlement = 'completed',
    actor?: string,
  ): Promise<Result<CommandOutcome>> {
    const { instances, recorder } = this.engine;
    const recorded = await recorder.record(
      {
        definition: state.definition,
        instanceId: state.instanceId,
        streamName,
        correlationId: state.correlationId,
        causationId,
        bytesBefore: state.bytes,
        stateBefore: state.snapshot.value,
        nextSnapshot,
        expectedRevision: state.revision,
        ...(actor === undefined ? {} : { actor }),
      },
      events,
    );
    if (!recorded.ok) return recorded;
    const appended = recorded.value;
    if (appended.deduplicated) {
      const reloaded = await reloadInstance(this.engine, state.definition.name, state.instanceId);
      return ok({ outcome: 'replayed', instance: viewOf(reloaded) });
    }
    // A command fact after the first event answers a request of its own, at its own revision,
    // exactly as foldInstance notes it (the first event's is noted by afterAppend).
    const first = appended.nextExpectedRevision - events.length + 1;
    const settled = afterAppend(state, {
      snapshot: nextSnapshot,
      revision: appended.nextExpectedRevision,
      requestEventId: events[0]!.eventId,
      bytes: appended.bytes,
      events,
      alsoAnswered: events.flatMap((event, index) =>
        index > 0 && event.type === FrameworkEvent.CommandCompleted
          ? [[event.eventId, first + index] as const]
          : [],
      ),
    });
    instances.remember(settled);
    return ok({
      outcome: 'recorded',
      instance: viewOf(settled),
      revision: appended.nextExpectedRevision,
      replyAccepted,
      settledAs,
    });
  }
}
