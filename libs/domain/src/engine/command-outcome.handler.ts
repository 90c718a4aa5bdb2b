import { transition } from 'xstate';
import { ErrorCode } from '../errors/esflow-error';
import { ok, reject, Result } from '../errors/rejection';
import { EventCategory } from '../workflow/event-metadata';
import {
  CommandCompletedPayload,
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
import { EngineContext, loadInstance, onInstance, prefixIssues } from './engine-context';
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
  readonly reply?: CommandReply;
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
    }
  | { readonly outcome: 'replayed' | 'notInFlight'; readonly instance: InstanceView };

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
   * Records a completion: the reply event first (validated against its schema, caused by the
   * command id; delivered to the machine if its state accepts it), then `CommandCompleted`, then
   * the facts of the reply's transition, in one append.
   */
  complete(command: CompleteCommand): Promise<Result<CommandOutcome>> {
    return onInstance(this.engine, command.workflow, command.id, async (streamName) => {
      const state = await loadInstance(this.engine, command.workflow, command.id);
      if (!state.ok) return state;
      const current = state.value;
      const { definition } = current;
      const { ids, clock } = this.engine;
      const completedId = ids.deterministic(`${streamName}/command/${command.commandId}/completed`);
      if (current.requestRevisions.has(completedId))
        return ok({ outcome: 'replayed', instance: viewOf(current) });
      const inFlight = current.commands.inFlight.get(command.commandId);
      if (!inFlight) return ok({ outcome: 'notInFlight', instance: viewOf(current) });

      const reply = command.reply;
      if (reply) {
        if (!definition.inputEvents.includes(reply.type))
          return reject({
            code: ErrorCode.UnknownEventType,
            message: `${definition.name} v${definition.version} has no event ${reply.type} to take as the reply of ${inFlight.commandType}`,
            eventType: reply.type,
            knownTypes: definition.inputEvents,
          });
        const issues = this.engine.codec.validate(
          schemaNameOf(definition, reply.type),
          reply.payload,
        );
        if (issues.length > 0)
          return reject({
            code: ErrorCode.SchemaValidationFailed,
            message: `the reply does not match the schema of ${reply.type}`,
            errors: prefixIssues('reply.payload', issues),
          });
      }
      const event = reply && machineEvent(reply.type, reply.payload);
      const accepted = event !== undefined && current.snapshot.can(event);
      const [nextSnapshot, actions] = accepted
        ? transition(definition.machine, current.snapshot, event)
        : [current.snapshot, []];
      const completed: PlannedEvent = this.fact(
        current,
        completedId,
        FrameworkEvent.CommandCompleted,
        {
          commandId: command.commandId,
          commandType: inFlight.commandType,
          attempts: command.attempts,
          replyType: reply?.type ?? null,
          replyAccepted: reply ? accepted : true,
        } satisfies CommandCompletedPayload,
      );
      const replyEvent: PlannedEvent | undefined = reply && {
        eventId: ids.deterministic(`${streamName}/command/${command.commandId}/reply`),
        type: reply.type,
        schemaName: schemaNameOf(definition, reply.type),
        category: EventCategory.Workflow,
        payload: reply.payload,
      };
      const cause = replyEvent ?? completed;
      const facts = accepted
        ? planFacts({
            definition,
            causeEventId: cause.eventId,
            causeType: reply!.type,
            causeRevision: current.revision + 1,
            before: current.snapshot,
            after: nextSnapshot,
            actions,
            pendingTimers: current.pendingTimers,
            now: clock.now(),
            deriveId: (name) => ids.deterministic(name),
          })
        : [];
      const events = replyEvent ? [replyEvent, completed, ...facts] : [completed];
      return this.append(
        current,
        streamName,
        command.commandId,
        events,
        nextSnapshot,
        accepted || !reply,
      );
    });
  }

  /** Records an incident on a command in flight that has none open. */
  raiseIncident(command: RaiseIncident): Promise<Result<CommandOutcome>> {
    return onInstance(this.engine, command.workflow, command.id, async (streamName) => {
      const state = await loadInstance(this.engine, command.workflow, command.id);
      if (!state.ok) return state;
      const current = state.value;
      const inFlight = current.commands.inFlight.get(command.commandId);
      if (!inFlight || inFlight.incidentId !== null)
        return ok({ outcome: 'notInFlight', instance: viewOf(current) });
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
      return this.append(current, streamName, command.commandId, [raised], current.snapshot, true);
    });
  }

  /** Records an operator's resolution of an open incident. */
  resolveIncident(command: ResolveIncident): Promise<Result<CommandOutcome>> {
    return onInstance(this.engine, command.workflow, command.id, async (streamName) => {
      const state = await loadInstance(this.engine, command.workflow, command.id);
      if (!state.ok) return state;
      const current = state.value;
      const resolvedId = this.engine.ids.deterministic(
        `${streamName}/incident/${command.incidentId}/resolved`,
      );
      if (current.requestRevisions.has(resolvedId))
        return ok({ outcome: 'replayed', instance: viewOf(current) });
      const incident = current.commands.incidents.get(command.incidentId);
      if (!incident) return ok({ outcome: 'notInFlight', instance: viewOf(current) });
      const resolved = this.fact(current, resolvedId, FrameworkEvent.IncidentResolved, {
        incidentId: incident.incidentId,
        commandId: incident.commandId,
        resolution: command.resolution,
        note: command.note ?? null,
        resolvedBy: command.resolvedBy ?? null,
      } satisfies IncidentResolvedPayload);
      return this.append(
        current,
        streamName,
        incident.commandId,
        [resolved],
        current.snapshot,
        true,
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
      },
      events,
    );
    if (!recorded.ok) return recorded;
    const appended = recorded.value;
    if (appended.deduplicated) {
      instances.forget(streamName);
      const reloaded = (await instances.load(state.definition.name, state.instanceId))!;
      return ok({ outcome: 'replayed', instance: viewOf(reloaded) });
    }
    const next = afterAppend(state, {
      snapshot: nextSnapshot,
      revision: appended.nextExpectedRevision,
      requestEventId: events[0]!.eventId,
      bytes: appended.bytes,
      events,
    });
    // A command fact after the first event answers a request of its own, at its own revision,
    // exactly as foldInstance notes it (the first event's is noted by afterAppend).
    const first = appended.nextExpectedRevision - events.length + 1;
    const requestRevisions = new Map(next.requestRevisions);
    events.forEach((event, index) => {
      if (index > 0 && event.type === FrameworkEvent.CommandCompleted)
        requestRevisions.set(event.eventId, first + index);
    });
    const settled: InstanceState = { ...next, requestRevisions };
    instances.remember(settled);
    return ok({
      outcome: 'recorded',
      instance: viewOf(settled),
      revision: appended.nextExpectedRevision,
      replyAccepted,
    });
  }
}
