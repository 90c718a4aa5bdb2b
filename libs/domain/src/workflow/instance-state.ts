import type { AnyMachineSnapshot } from 'xstate';
import { pureInitialTransition, pureTransition } from './pure-transition';
import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { RecordedEvent, StreamRevision } from '../event-store/event-store.port';
import { EventCategory, InstanceStatus, readEsflowMetadata } from './event-metadata';
import {
  FrameworkEvent,
  InstanceMigratedPayload,
  InstanceTerminatedPayload,
  TimerFiredPayload,
} from './framework-events';
import {
  CommandBook,
  commandOutcomeEvent,
  nextCommandBook,
  NO_COMMANDS,
} from './instance-commands';
import { nextPendingTimers, PendingTimer, TimerFact, timerEvent } from './instance-timers';
import { HistoryMap } from './history-map';
import { WorkflowDefinition } from './workflow-definition';

/** A recorded event with its payload decoded to plain values. */
export interface DecodedEvent {
  readonly recorded: RecordedEvent;
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * An instance as rebuilt from its stream: the machine snapshot after its last event, plus what
 * the engine needs to answer repeated requests. Immutable; each accepted transition makes a new one.
 */
export interface InstanceState {
  readonly definition: WorkflowDefinition;
  readonly instanceId: string;
  readonly streamName: string;
  readonly snapshot: AnyMachineSnapshot;
  /** Revision of the stream's last event. */
  readonly revision: StreamRevision;
  /** The id of the stream's last event: a stored snapshot is checked against it. */
  readonly lastEventId: string;
  /** The revision its latest snapshot was taken (or, not surviving JSON, passed over) at. */
  readonly snapshotRevision?: StreamRevision;
  /**
   * For each request event id (the first event a request recorded), the revision of the last
   * event that request appended: the revision its first answer reported. Shared with the
   * instance's earlier states (each sees only what its own revision had), so a transition adds
   * one entry rather than copying them all.
   */
  readonly requestRevisions: HistoryMap<StreamRevision>;
  /**
   * For each request that carried an idempotency key (by its request event id), the fingerprint
   * of that request (its operation and body): a key reused for another request is refused.
   */
  readonly requestFingerprints: HistoryMap<string>;
  /**
   * Set when the instance was loaded from a snapshot that remembers only the requests answered
   * from this revision on; the maps above then hold those and later ones, and an older request
   * is looked up in the store. Unset: they hold every request of the stream.
   */
  readonly requestsKnownFrom?: StreamRevision;
  /** Bytes of stored event data in the stream: what the instance's size limit and cache count. */
  readonly bytes: number;
  /** The correlation id of the start request; later events inherit it unless given one. */
  readonly correlationId: string;
  /** Timers scheduled and neither fired nor cancelled yet, by timer id. */
  readonly pendingTimers: ReadonlyMap<string, PendingTimer>;
  /** Commands dispatched and not completed yet, and the open incidents among them. */
  readonly commands: CommandBook;
  /**
   * When the last transition was caused by a timer: which one, and the revision of its
   * `TimerFired`. An event the instance then refuses is told that the timer moved it on.
   */
  readonly movedByTimer?: TimerMove;
  /** Set once an operator terminated the instance: final, nothing moves it any more. */
  readonly terminated?: InstanceTermination;
}

/** An operator's termination of an instance, as {@link InstanceState.terminated} remembers it. */
export interface InstanceTermination {
  readonly reason: string;
  readonly operator: string;
  /** The revision of its `InstanceTerminated` fact. */
  readonly revision: StreamRevision;
}

/** A transition a timer caused, as {@link InstanceState.movedByTimer} remembers it. */
export interface TimerMove {
  readonly timerId: string;
  readonly eventType: string;
  readonly firedAt: string;
  readonly revision: StreamRevision;
}

/** A JSON-safe view of an instance, as the API shows it. */
export interface InstanceView {
  readonly workflow: string;
  readonly id: string;
  readonly version: number;
  readonly state: unknown;
  readonly status: InstanceStatus;
  readonly revision: StreamRevision;
  readonly context: unknown;
  readonly acceptedEvents: readonly string[];
  /** The instance's timers that have neither fired nor been cancelled, earliest due first. */
  readonly pendingTimers: readonly PendingTimerView[];
  /** Commands the instance dispatched that are not completed yet, oldest first. */
  readonly inFlightCommands: readonly InFlightCommandView[];
  /** Commands that failed for good and wait for an operator (retry or resolve). */
  readonly incidents: readonly IncidentView[];
}

/** A command in flight as the API shows it. */
export interface InFlightCommandView {
  readonly commandId: string;
  readonly commandType: string;
  /** Its open incident, if it has one. */
  readonly incidentId: string | null;
}

/** An open incident as the API shows it. */
export interface IncidentView {
  readonly incidentId: string;
  readonly commandId: string;
  readonly commandType: string;
  readonly attempts: number;
  readonly error: string;
}

/** A pending timer as the API shows it. */
export interface PendingTimerView {
  readonly timerId: string;
  /** The machine event it will deliver (`xstate.after.…` for an `after` transition). */
  readonly eventType: string;
  /** ISO-8601, UTC. */
  readonly dueAt: string;
}

export function machineEvent(type: string, payload: Readonly<Record<string, unknown>>) {
  return { ...payload, type };
}

/** running, or the kind of the final state reached (`meta: { status: 'cancelled' }`). */
export function statusOf(snapshot: AnyMachineSnapshot): InstanceStatus {
  if (snapshot.status === 'error') return InstanceStatus.Failed;
  if (snapshot.status !== 'done') return InstanceStatus.Running;
  const metas = Object.values(
    snapshot.getMeta() as Record<string, { status?: unknown } | undefined>,
  );
  const declared = metas.map((meta) => meta?.status).find((status) => typeof status === 'string');
  return declared === InstanceStatus.Cancelled || declared === InstanceStatus.Failed
    ? declared
    : InstanceStatus.Completed;
}

/**
 * The instance's status: `terminated` once an operator terminated it, else its machine
 * snapshot's ({@link statusOf}).
 */
export function instanceStatusOf(
  state: Pick<InstanceState, 'snapshot' | 'terminated'>,
): InstanceStatus {
  return state.terminated ? InstanceStatus.Terminated : statusOf(state.snapshot);
}

/** The termination among `facts` (of an append starting at `firstRevision`), if one is. */
function terminationIn(
  facts: readonly TimerFact[],
  firstRevision: StreamRevision,
): InstanceTermination | undefined {
  const index = facts.findIndex((fact) => fact.type === FrameworkEvent.InstanceTerminated);
  if (index < 0) return undefined;
  const { reason, operator } = facts[index]!.payload as unknown as InstanceTerminatedPayload;
  return { reason, operator, revision: firstRevision + index };
}

/** Event types the current state has a transition for (guards are not evaluated). */
export function acceptedEventsOf(
  definition: WorkflowDefinition,
  snapshot: AnyMachineSnapshot,
): string[] {
  if (snapshot.status !== 'active') return [];
  const own = new Set<string>();
  for (const node of snapshot._nodes) for (const type of node.ownEvents) own.add(type);
  return definition.inputEvents.filter((type) => own.has(type));
}

export function viewOf(state: InstanceState): InstanceView {
  return {
    workflow: state.definition.name,
    id: state.instanceId,
    version: state.definition.version,
    state: state.snapshot.value,
    status: instanceStatusOf(state),
    revision: state.revision,
    context: state.snapshot.context,
    acceptedEvents: state.terminated ? [] : acceptedEventsOf(state.definition, state.snapshot),
    pendingTimers: [...state.pendingTimers.values()]
      .map(({ timerId, eventType, dueAt }) => ({ timerId, eventType, dueAt }))
      .sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.timerId.localeCompare(b.timerId)),
    inFlightCommands: [...state.commands.inFlight.values()]
      .sort((a, b) => a.dispatchedRevision - b.dispatchedRevision)
      .map(({ commandId, commandType, incidentId }) => ({ commandId, commandType, incidentId })),
    incidents: [...state.commands.incidents.values()]
      .sort((a, b) => a.raisedRevision - b.raisedRevision)
      .map(({ incidentId, commandId, commandType, attempts, error }) => ({
        incidentId,
        commandId,
        commandType,
        attempts,
        error,
      })),
  };
}

/** What one append this process made changed, for {@link afterAppend}. */
export interface AppendedStep {
  readonly snapshot: AnyMachineSnapshot;
  /** The revision of the append's last event. */
  readonly revision: StreamRevision;
  /** The append's first event: the request (or timer) it answers. */
  readonly requestEventId: string;
  readonly fingerprint?: string;
  /** Bytes of event data the append added. */
  readonly bytes: number;
  /** Every event of the append, for the timer bookkeeping. */
  readonly events: readonly TimerFact[];
  /** Set when a timer caused the transition. */
  readonly movedByTimer?: TimerMove;
  /** Requests the append answered beside its first event's (a command's completion, say). */
  readonly alsoAnswered?: readonly (readonly [string, StreamRevision])[];
}

/**
 * The instance after an append this process made, without replaying it through the machine:
 * the same state {@link foldInstance} rebuilds from the stream (the engine keeps it cached).
 */
export function afterAppend(state: InstanceState, step: AppendedStep): InstanceState {
  const { movedByTimer: _previous, ...rest } = state;
  const terminated = terminationIn(step.events, step.revision - step.events.length + 1);
  return {
    ...rest,
    snapshot: step.snapshot,
    revision: step.revision,
    lastEventId: step.events[step.events.length - 1]!.eventId,
    requestRevisions: state.requestRevisions.with(
      [[step.requestEventId, step.revision], ...(step.alsoAnswered ?? [])],
      step.revision,
    ),
    requestFingerprints:
      step.fingerprint === undefined
        ? state.requestFingerprints
        : state.requestFingerprints.with([[step.requestEventId, step.fingerprint]], step.revision),
    bytes: state.bytes + step.bytes,
    pendingTimers: nextPendingTimers(state.pendingTimers, step.events),
    commands: nextCommandBook(
      state.commands,
      step.events.map((event, i) => ({
        ...event,
        revision: step.revision - step.events.length + 1 + i,
      })),
    ),
    ...(step.movedByTimer ? { movedByTimer: step.movedByTimer } : {}),
    ...(terminated ? { terminated } : {}),
  };
}

function corrupt(streamName: string, revision: number, why: string): EsflowError {
  return new EsflowError(
    ErrorCode.CorruptEvent,
    `stream ${streamName} revision ${revision}: ${why}`,
  );
}

/**
 * Rebuilds an instance by folding its events through the machine's pure transition ({@link pureTransition}):
 * no action runs while replaying. The first event is the start event (the machine's input);
 * later workflow events are machine events; framework facts only mark which request they
 * belong to. Pass `from` to continue folding a state with the events recorded after it. An
 * `InstanceMigrated` fact takes the instance to its target version (from `versionOf`, which
 * must know it), in the state and with the context it recorded, and the events after it fold
 * through that version.
 */
export function foldInstance(
  initialDefinition: WorkflowDefinition,
  instanceId: string,
  events: readonly DecodedEvent[],
  from?: InstanceState,
  versionOf?: (version: number) => WorkflowDefinition | undefined,
): InstanceState {
  let definition = initialDefinition;
  let remaining = events;
  let snapshot: AnyMachineSnapshot;
  let revision: number;
  let lastEventId: string;
  let streamName: string;
  let correlationId: string;
  // What this fold learns, added to `from`'s views once at the end.
  const requestRevisions = new Map<string, StreamRevision>();
  const requestFingerprints = new Map<string, string>();
  const isRequest = (eventId: string) =>
    requestRevisions.has(eventId) || (from?.requestRevisions.has(eventId) ?? false);
  let bytes = from?.bytes ?? 0;
  let pendingTimers = from?.pendingTimers ?? new Map<string, PendingTimer>();
  let movedByTimer = from?.movedByTimer;
  let commands = from?.commands ?? NO_COMMANDS;
  let terminated = from?.terminated;
  const noteRequest = (recorded: RecordedEvent) => {
    requestRevisions.set(recorded.eventId, recorded.revision);
    const fingerprint = readEsflowMetadata(recorded.metadata).requestFingerprint;
    if (fingerprint !== undefined) requestFingerprints.set(recorded.eventId, fingerprint);
  };
  if (from) {
    ({ snapshot, revision, lastEventId, streamName, correlationId } = from);
  } else {
    const [first, ...rest] = events;
    if (!first) throw new Error('foldInstance needs at least the start event');
    streamName = first.recorded.streamName;
    if (first.recorded.type !== definition.startEvent)
      throw corrupt(
        streamName,
        0,
        `expected start event ${definition.startEvent}, found ${first.recorded.type}`,
      );
    [snapshot] = pureInitialTransition(definition.machine, first.payload);
    noteRequest(first.recorded);
    movedByTimer = undefined;
    bytes += first.recorded.data.byteLength;
    revision = first.recorded.revision;
    lastEventId = first.recorded.eventId;
    correlationId = readEsflowMetadata(first.recorded.metadata).correlationId;
    remaining = rest;
  }
  for (const { recorded, payload } of remaining) {
    if (recorded.revision !== revision + 1)
      throw corrupt(streamName, recorded.revision, `gap after revision ${revision}`);
    revision = recorded.revision;
    lastEventId = recorded.eventId;
    bytes += recorded.data.byteLength;
    const metadata = readEsflowMetadata(recorded.metadata);
    if (recorded.type === FrameworkEvent.TimerFired) {
      // A timer's event is a cause, like a client's: it moves the machine, its facts follow.
      const fired = payload as unknown as TimerFiredPayload;
      [snapshot] = pureTransition(definition.machine, snapshot, timerEvent(fired));
      pendingTimers = nextPendingTimers(pendingTimers, [{ ...recorded, payload }]);
      movedByTimer = {
        timerId: fired.timerId,
        eventType: fired.eventType,
        firedAt: fired.firedAt,
        revision,
      };
      noteRequest(recorded);
      continue;
    }
    if (metadata.category === EventCategory.Framework) {
      const fact = { ...recorded, payload };
      // An invoked command's outcome is a cause too: XState's done or error event moves the
      // machine, and the facts after it are its own.
      const outcome = commandOutcomeEvent(commands, recorded.type, payload);
      if (outcome) {
        [snapshot] = pureTransition(definition.machine, snapshot, outcome);
        movedByTimer = undefined;
      }
      pendingTimers = nextPendingTimers(pendingTimers, [fact]);
      commands = nextCommandBook(commands, [fact]);
      if (isRequest(metadata.causationId)) requestRevisions.set(metadata.causationId, revision);
      // A command's completion and an incident's facts answer requests of their own (a worker's,
      // an operator's): their deterministic ids make a repeated one recognisable.
      if (COMMAND_FACTS.has(recorded.type)) noteRequest(recorded);
      // A migration is an operator's request too; the instance goes on in the target version.
      if (recorded.type === FrameworkEvent.InstanceMigrated) {
        const migrated = payload as unknown as InstanceMigratedPayload;
        const target = versionOf?.(migrated.toVersion);
        if (!target)
          throw new EsflowError(
            ErrorCode.InvalidDefinition,
            `stream ${streamName} revision ${revision} migrated ${definition.name} to v${migrated.toVersion}, which this process does not define`,
          );
        definition = target;
        snapshot = target.machine.resolveState({
          value: JSON.parse(migrated.toStateJson) as never,
          context: JSON.parse(migrated.contextJson) as never,
        });
        movedByTimer = undefined;
        noteRequest(recorded);
      }
      // An operator's termination is a request too; the machine stays where it was.
      if (recorded.type === FrameworkEvent.InstanceTerminated) {
        terminated = terminationIn([fact], revision);
        movedByTimer = undefined;
        noteRequest(recorded);
      }
      continue;
    }
    [snapshot] = pureTransition(definition.machine, snapshot, machineEvent(recorded.type, payload));
    movedByTimer = undefined;
    noteRequest(recorded);
  }
  return {
    definition,
    instanceId,
    streamName,
    snapshot,
    revision,
    lastEventId,
    ...(from?.snapshotRevision === undefined ? {} : { snapshotRevision: from.snapshotRevision }),
    ...(from?.requestsKnownFrom === undefined ? {} : { requestsKnownFrom: from.requestsKnownFrom }),
    requestRevisions: from
      ? from.requestRevisions.with(requestRevisions, revision)
      : HistoryMap.of(requestRevisions, revision),
    requestFingerprints: from
      ? from.requestFingerprints.with(requestFingerprints, revision)
      : HistoryMap.of(requestFingerprints, revision),
    bytes,
    correlationId,
    pendingTimers,
    commands,
    ...(movedByTimer ? { movedByTimer } : {}),
    ...(terminated ? { terminated } : {}),
  };
}

const COMMAND_FACTS: ReadonlySet<string> = new Set([
  FrameworkEvent.CommandCompleted,
  FrameworkEvent.IncidentRaised,
  FrameworkEvent.IncidentResolved,
  FrameworkEvent.CommandFailed,
]);
