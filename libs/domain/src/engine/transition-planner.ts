import { pureTransition } from '../workflow/pure-transition';
import { EventCategory } from '../workflow/event-metadata';
import { FRAMEWORK_NAMESPACE, FrameworkEvent } from '../workflow/framework-events';
import { InstanceState, machineEvent, statusOf } from '../workflow/instance-state';
import { PendingTimer } from '../workflow/instance-timers';
import { InFlightCommand } from '../workflow/instance-commands';
import { WorkflowDefinition } from '../workflow/workflow-definition';
import type { AnyMachineSnapshot } from 'xstate';

/** An event the engine is about to record, before encoding. */
export interface PlannedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaName: string;
  readonly category: EventCategory;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface TransitionPlan {
  readonly nextSnapshot: AnyMachineSnapshot;
  /** The accepted event first, then the facts its transition produced, in order. */
  readonly events: readonly PlannedEvent[];
}

/**
 * The Avro full name of event `type` in `definition`: `esflow.framework.<type>` for the framework's
 * own events, otherwise `<schemaNamespace>.<type>`. Pure; the engine validates and encodes each
 * event under this name.
 */
export function schemaNameOf(definition: WorkflowDefinition, type: string): string {
  return (Object.values(FrameworkEvent) as string[]).includes(type)
    ? `${FRAMEWORK_NAMESPACE}.${type}`
    : `${definition.schemaNamespace}.${type}`;
}

interface EmittedEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** What a transition's facts are planned from, beside its machine actions. */
export interface FactContext {
  readonly definition: WorkflowDefinition;
  /** The id of the event that caused the transition; fact ids derive from it. */
  readonly causeEventId: string;
  /** The cause's type as a person reads it: a client's event type, or the timer's event. */
  readonly causeType: string;
  /** The revision the cause will be recorded at (the instance's revision + 1; 0 for a start). */
  readonly causeRevision: number;
  readonly before: AnyMachineSnapshot | undefined;
  readonly after: AnyMachineSnapshot;
  readonly actions: readonly { type: string; params?: unknown }[];
  /** The instance's pending timers before the transition (without a timer firing now). */
  readonly pendingTimers: ReadonlyMap<string, PendingTimer>;
  /**
   * The instance's commands in flight before the transition, without one completing now: an
   * invoked one whose state the transition leaves is withdrawn.
   */
  readonly inFlightCommands?: ReadonlyMap<string, InFlightCommand>;
  /** The transition's time: a delay counts from it. */
  readonly now: Date;
  readonly deriveId: (name: string) => string;
}

/** The params of XState's `xstate.spawnChild` action, as the pure transition returns them. */
interface SpawnedChild {
  readonly id?: string;
  readonly src?: unknown;
  readonly input?: unknown;
}

interface DelayedRaise {
  readonly event?: EmittedEvent;
  readonly id?: string;
  readonly delay?: number;
}

/**
 * Facts a transition produces, in the order of its actions: a `TimerScheduled` per delayed
 * event (`after`, or `raise` with a delay), a `TimerCancelled` per pending timer whose state
 * the transition left (XState cancels it by its send id), a `CommandDispatched` per command
 * the machine emitted or actor it invoked by a declared name (`invokes`), a `CommandWithdrawn`
 * per invoked command in flight whose state the transition left (XState stops its actor), and a
 * `WorkflowCompleted` when it reached a final state. Timer and
 * command ids are derived from the cause's event id, so a receiver can deduplicate however
 * often a command is delivered, and a state entered again gets timers of its own.
 */
export function planFacts(context: FactContext): PlannedEvent[] {
  const { definition, causeEventId, deriveId } = context;
  const facts: PlannedEvent[] = [];
  const pending = new Map(context.pendingTimers);
  const inFlight = [...(context.inFlightCommands?.values() ?? [])];
  const framework = (type: FrameworkEvent, payload: Record<string, unknown>): PlannedEvent => ({
    eventId: deriveId(`${causeEventId}/fact/${facts.length}`),
    type,
    schemaName: schemaNameOf(definition, type),
    category: EventCategory.Framework,
    payload,
  });
  for (const action of context.actions) {
    if (action.type === 'xstate.raise') {
      const raised = action.params as DelayedRaise | undefined;
      // Without a delay XState delivers a raised event within the same transition.
      if (!raised?.event || raised.delay === undefined) continue;
      const timerId = deriveId(`${causeEventId}/timer/${facts.length}`);
      const dueAt = new Date(context.now.getTime() + raised.delay).toISOString();
      const scheduled = {
        timerId,
        sendId: raised.id ?? raised.event.type,
        eventType: raised.event.type,
        eventJson: JSON.stringify(raised.event),
        delayMs: raised.delay,
        dueAt,
      };
      const fact = framework(FrameworkEvent.TimerScheduled, scheduled);
      facts.push(fact);
      pending.set(timerId, { ...scheduled, scheduledEventId: fact.eventId });
    } else if (action.type === 'xstate.cancel') {
      const sendId = (action.params as { sendId?: string } | undefined)?.sendId;
      for (const timer of [...pending.values()].filter((t) => t.sendId === sendId)) {
        pending.delete(timer.timerId);
        facts.push(
          framework(FrameworkEvent.TimerCancelled, {
            timerId: timer.timerId,
            dueAt: timer.dueAt,
            cancelledByEventType: context.causeType,
            cancelledByRevision: context.causeRevision,
          }),
        );
      }
    } else if (action.type === 'xstate.emit') {
      const emitted = (action.params as { event?: EmittedEvent } | undefined)?.event;
      if (!emitted || !definition.commands.includes(emitted.type)) continue;
      const { type: commandType, ...fields } = emitted;
      facts.push(
        framework(FrameworkEvent.CommandDispatched, {
          commandId: deriveId(`${causeEventId}/command/${facts.length}`),
          commandType,
          payloadJson: JSON.stringify(fields),
          invokeId: null,
        }),
      );
    } else if (action.type === 'xstate.spawnChild') {
      const spawned = action.params as SpawnedChild | undefined;
      const invoked =
        typeof spawned?.src === 'string' ? definition.invokes[spawned.src] : undefined;
      if (!invoked || spawned?.id === undefined) continue;
      facts.push(
        framework(FrameworkEvent.CommandDispatched, {
          commandId: deriveId(`${causeEventId}/command/${facts.length}`),
          commandType: invoked.command,
          payloadJson: JSON.stringify(spawned.input ?? {}),
          invokeId: spawned.id,
        }),
      );
    } else if (action.type === 'xstate.stopChild') {
      const stopped = (action.params as { id?: unknown } | undefined)?.id;
      for (const command of inFlight.filter((c) => c.invokeId !== null && c.invokeId === stopped))
        facts.push(
          framework(FrameworkEvent.CommandWithdrawn, {
            commandId: command.commandId,
            commandType: command.commandType,
            withdrawnByEventType: context.causeType,
            withdrawnByRevision: context.causeRevision,
          }),
        );
    }
  }
  if (context.after.status === 'done' && context.before?.status !== 'done') {
    facts.push(
      framework(FrameworkEvent.WorkflowCompleted, {
        status: statusOf(context.after),
        finalStateJson: JSON.stringify(context.after.value),
      }),
    );
  }
  return facts;
}

/** Computes, without side effects, what accepting `type` in the current state records. */
export function planTransition(
  state: InstanceState,
  eventId: string,
  type: string,
  payload: Readonly<Record<string, unknown>>,
  deriveId: (name: string) => string,
  now: Date,
): TransitionPlan {
  const { definition } = state;
  const [nextSnapshot, actions] = pureTransition(
    definition.machine,
    state.snapshot,
    machineEvent(type, payload),
  );
  const accepted: PlannedEvent = {
    eventId,
    type,
    schemaName: schemaNameOf(definition, type),
    category: EventCategory.Workflow,
    payload,
  };
  const facts = planFacts({
    definition,
    causeEventId: eventId,
    causeType: type,
    causeRevision: state.revision + 1,
    before: state.snapshot,
    after: nextSnapshot,
    actions,
    pendingTimers: state.pendingTimers,
    inFlightCommands: state.commands.inFlight,
    now,
    deriveId,
  });
  return { nextSnapshot, events: [accepted, ...facts] };
}
