/**
 * Facts the engine itself records in an instance's stream, beside the workflow's own events.
 * They have Avro schemas of their own (`schemas/framework` of @esflow/core) in this namespace.
 */
export const FRAMEWORK_NAMESPACE = 'esflow.framework';

/**
 * The types of the engine's own facts. Each is recorded in the same atomic append as the event that
 * caused it: a fact is never stored without its cause, nor its cause without it.
 */
export const FrameworkEvent = {
  /** A command the machine emitted, recorded in the same append as its cause (the outbox). */
  CommandDispatched: 'CommandDispatched',
  /** The instance reached a final state. */
  WorkflowCompleted: 'WorkflowCompleted',
  /** A delayed event (XState `after`, or `raise` with a delay) the timer service will deliver. */
  TimerScheduled: 'TimerScheduled',
  /** A pending timer that will never fire: the instance left its state first. */
  TimerCancelled: 'TimerCancelled',
  /**
   * A timer fired: the cause of the transition recorded with it, in the same append (like a
   * client's event, it is the first event of its append and the facts after it are its own).
   */
  TimerFired: 'TimerFired',
  /**
   * A dispatched command was carried out; recorded once (its id derives from the command id),
   * after the reply event it brought, if any.
   */
  CommandCompleted: 'CommandCompleted',
  /** A dispatched command failed for good; it waits for an operator. */
  IncidentRaised: 'IncidentRaised',
  /** An operator retried an incident's command or resolved it by hand. */
  IncidentResolved: 'IncidentResolved',
  /**
   * An invoked actor's command failed for good and its error was delivered to the machine (the
   * invoking state's `onError`): the cause of the transition recorded with it.
   */
  CommandFailed: 'CommandFailed',
  /** The instance left the state that invoked a command before it completed: nobody waits for it. */
  CommandWithdrawn: 'CommandWithdrawn',
  /**
   * An operator ended a running instance by hand: final, status `terminated`. The first event of
   * its append; the `TimerCancelled` and `CommandWithdrawn` of everything pending follow it.
   */
  InstanceTerminated: 'InstanceTerminated',
  /**
   * An operator moved a running instance to another definition version, into the mapped state
   * with the recorded context: from it on, the instance replays and runs on `toVersion`. The
   * first event of its append; the timers and commands it moved or ended follow it.
   */
  InstanceMigrated: 'InstanceMigrated',
} as const;
export type FrameworkEvent = (typeof FrameworkEvent)[keyof typeof FrameworkEvent];

/** Every {@link FrameworkEvent} type, e.g. for an event-type filter. */
export const FRAMEWORK_EVENT_TYPES: readonly string[] = Object.values(FrameworkEvent);

/**
 * Payload of a `CommandDispatched` fact. `commandId` is derived from the causing event's id, so it
 * is the same however often the command is delivered and receivers can deduplicate on it.
 */
export interface CommandDispatchedPayload {
  readonly commandId: string;
  readonly commandType: string;
  /** The command's fields as JSON, validated against the command's own schema. */
  readonly payloadJson: string;
  /**
   * For the command of an invoked actor, the invoke's id: its output comes back as
   * `xstate.done.actor.<invokeId>`, its final error as `xstate.error.actor.<invokeId>`; null for
   * an emitted command.
   */
  readonly invokeId: string | null;
}

/**
 * Payload of a `WorkflowCompleted` fact: the final {@link InstanceStatus} and the final state value
 * as JSON.
 */
export interface WorkflowCompletedPayload {
  readonly status: string;
  /** The final state value as JSON. */
  readonly finalStateJson: string;
}

/**
 * Payload of a `TimerScheduled` fact. `timerId` is derived from the id of the event whose
 * transition scheduled it, so every visit of a state gets a timer of its own; `dueAt` is fixed
 * when it is recorded and never recomputed on replay.
 */
export interface TimerScheduledPayload {
  readonly timerId: string;
  /** XState's id of the delayed event; the `xstate.cancel` on leaving the state names it. */
  readonly sendId: string;
  readonly eventType: string;
  /** The machine event to deliver, as JSON. */
  readonly eventJson: string;
  readonly delayMs: number;
  /** ISO-8601, UTC. */
  readonly dueAt: string;
}

/** Payload of a `TimerCancelled` fact; its causation is the event that cancelled it. */
export interface TimerCancelledPayload {
  readonly timerId: string;
  /** ISO-8601, UTC: a cancel recorded at or after it superseded a timer that was due. */
  readonly dueAt: string;
  readonly cancelledByEventType: string;
  /** The revision of the event that cancelled it. */
  readonly cancelledByRevision: number;
}

/** Payload of a `TimerFired` event: the timer, the machine event it delivered, and when. */
export interface TimerFiredPayload {
  readonly timerId: string;
  readonly eventType: string;
  readonly eventJson: string;
  readonly dueAt: string;
  /** ISO-8601, UTC; never before `dueAt`. */
  readonly firedAt: string;
  /** `firedAt` − `dueAt`, in ms. */
  readonly latenessMs: number;
}

/** Payload of a `CommandCompleted` fact. */
export interface CommandCompletedPayload {
  readonly commandId: string;
  readonly commandType: string;
  readonly attempts: number;
  /** The reply event recorded before it in the same append, or null. */
  readonly replyType: string | null;
  /** False when the instance's state did not accept the reply (recorded, not delivered). */
  readonly replyAccepted: boolean;
  /** An invoked actor's output as JSON (delivered as `xstate.done.actor.<invokeId>`), or null. */
  readonly outputJson: string | null;
}

/** Payload of a `CommandFailed` fact. */
export interface CommandFailedPayload {
  readonly commandId: string;
  readonly commandType: string;
  readonly invokeId: string;
  readonly attempts: number;
  /** The last attempt's error; the machine receives it as `error: { message }`. */
  readonly error: string;
}

/** Payload of a `CommandWithdrawn` fact. */
export interface CommandWithdrawnPayload {
  readonly commandId: string;
  readonly commandType: string;
  /** The event whose transition left the invoking state, and the revision it was recorded at. */
  readonly withdrawnByEventType: string;
  readonly withdrawnByRevision: number;
}

/** Payload of an `IncidentRaised` fact. */
export interface IncidentRaisedPayload {
  readonly incidentId: string;
  readonly commandId: string;
  readonly commandType: string;
  readonly attempts: number;
  readonly error: string;
}

/** How an operator resolved an incident. */
export type IncidentResolution = 'retry' | 'manual';

/** Payload of an `IncidentResolved` fact. */
export interface IncidentResolvedPayload {
  readonly incidentId: string;
  readonly commandId: string;
  readonly resolution: IncidentResolution;
  readonly note: string | null;
  readonly resolvedBy: string | null;
  /**
   * A manual resolution of an invoked actor's command delivers its done event (with this output,
   * as JSON, or none when null): the invoking state moves on as if the command had completed.
   */
  readonly outputJson: string | null;
}

/**
 * Payload of an `InstanceTerminated` fact: why an operator ended the instance, who did, and the
 * state it was in then (it stays in that state, terminated: nothing moves it any more).
 */
export interface InstanceTerminatedPayload {
  /** Why, in the operator's words. */
  readonly reason: string;
  /** Who did it: the principal id of the request (a JWT's `sub`, an API key's name, `anonymous`). */
  readonly operator: string;
  /** The state value at termination, as JSON. */
  readonly stateAtTermination: string;
}

/**
 * Payload of an `InstanceMigrated` fact. Replay takes the instance to `toVersion` in
 * `toStateJson` with `contextJson` as recorded, never recomputing them: what was decided at the
 * migration is what every later replay sees.
 */
export interface InstanceMigratedPayload {
  readonly fromVersion: number;
  readonly toVersion: number;
  /** The state value before, as JSON. */
  readonly fromStateJson: string;
  /** The state value after (the mapping applied), as JSON. */
  readonly toStateJson: string;
  /** The mapping the operator gave: source state path → target state path. */
  readonly stateMapping: Readonly<Record<string, string>>;
  /** The context the instance continues with, as JSON. */
  readonly contextJson: string;
  /** Who did it: the principal id of the request. */
  readonly operator: string;
  /** Why, in the operator's words (empty when none was given). */
  readonly reason: string;
}
