import { AnyMachineSnapshot, initialTransition, transition } from 'xstate';
import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { RecordedEvent, StreamRevision } from '../event-store/event-store.port';
import { EventCategory, InstanceStatus, readEsflowMetadata } from './event-metadata';
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
  /**
   * For each request event id (the first event a request recorded), the revision of the last
   * event that request appended: the revision its first answer reported.
   */
  readonly requestRevisions: ReadonlyMap<string, StreamRevision>;
  /**
   * For each request that carried an idempotency key (by its request event id), the fingerprint
   * of that request (its operation and body): a key reused for another request is refused.
   */
  readonly requestFingerprints: ReadonlyMap<string, string>;
  /** Bytes of stored event data in the stream: what the instance's size limit and cache count. */
  readonly bytes: number;
  /** The correlation id of the start request; later events inherit it unless given one. */
  readonly correlationId: string;
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
    status: statusOf(state.snapshot),
    revision: state.revision,
    context: state.snapshot.context,
    acceptedEvents: acceptedEventsOf(state.definition, state.snapshot),
  };
}

function corrupt(streamName: string, revision: number, why: string): EsflowError {
  return new EsflowError(
    ErrorCode.CorruptEvent,
    `stream ${streamName} revision ${revision}: ${why}`,
  );
}

/**
 * Rebuilds an instance by folding its events through the machine's pure `transition()`:
 * no action runs while replaying. The first event is the start event (the machine's input);
 * later workflow events are machine events; framework facts only mark which request they
 * belong to. Pass `from` to continue folding a state with the events recorded after it.
 */
export function foldInstance(
  definition: WorkflowDefinition,
  instanceId: string,
  events: readonly DecodedEvent[],
  from?: InstanceState,
): InstanceState {
  let remaining = events;
  let snapshot: AnyMachineSnapshot;
  let revision: number;
  let streamName: string;
  let correlationId: string;
  const requestRevisions = new Map(from?.requestRevisions ?? []);
  const requestFingerprints = new Map(from?.requestFingerprints ?? []);
  let bytes = from?.bytes ?? 0;
  const noteRequest = (recorded: RecordedEvent) => {
    requestRevisions.set(recorded.eventId, recorded.revision);
    const fingerprint = readEsflowMetadata(recorded.metadata).requestFingerprint;
    if (fingerprint !== undefined) requestFingerprints.set(recorded.eventId, fingerprint);
  };
  if (from) {
    ({ snapshot, revision, streamName, correlationId } = from);
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
    [snapshot] = initialTransition(definition.machine, first.payload);
    noteRequest(first.recorded);
    bytes += first.recorded.data.byteLength;
    revision = first.recorded.revision;
    correlationId = readEsflowMetadata(first.recorded.metadata).correlationId;
    remaining = rest;
  }
  for (const { recorded, payload } of remaining) {
    if (recorded.revision !== revision + 1)
      throw corrupt(streamName, recorded.revision, `gap after revision ${revision}`);
    revision = recorded.revision;
    bytes += recorded.data.byteLength;
    const metadata = readEsflowMetadata(recorded.metadata);
    if (metadata.category === EventCategory.Framework) {
      if (requestRevisions.has(metadata.causationId))
        requestRevisions.set(metadata.causationId, revision);
      continue;
    }
    [snapshot] = transition(definition.machine, snapshot, machineEvent(recorded.type, payload));
    noteRequest(recorded);
  }
  return {
    definition,
    instanceId,
    streamName,
    snapshot,
    revision,
    requestRevisions,
    requestFingerprints,
    bytes,
    correlationId,
  };
}
