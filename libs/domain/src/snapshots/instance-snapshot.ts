import type { AnyStateMachine } from 'xstate';
import { HistoryMap } from '../workflow/history-map';
import { InFlightCommand, OpenIncident } from '../workflow/instance-commands';
import { InstanceState, InstanceTermination, TimerMove } from '../workflow/instance-state';
import { PendingTimer } from '../workflow/instance-timers';
import { restoreMachineSnapshot } from '../workflow/pure-transition';
import { WorkflowDefinition } from '../workflow/workflow-definition';
import { StoredSnapshot } from './snapshot-store.port';

/**
 * When the engine stores an instance snapshot and what it keeps. Defaults
 * ({@link DEFAULT_SNAPSHOT_POLICY}): every 500 events, remembering the requests answered in the
 * last 1 000 revisions.
 */
export interface SnapshotPolicy {
  /** A snapshot is stored once an instance has this many events after its last one. */
  readonly every: number;
  /**
   * A snapshot keeps the answered requests (idempotency keys, fired timers, delivered messages)
   * of its last `rememberRequests` revisions. A request repeated from before that window is
   * looked up in the store by its event id (SQLite and memory index them) and answered as the
   * first answer was; on a store without that lookup (EventStoreDB) it is still recorded only
   * once, but may be answered as a new request would be (an event the current state refuses).
   */
  readonly rememberRequests: number;
}

/** The default {@link SnapshotPolicy}: every 500 events, requests of the last 1 000 revisions. */
export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = { every: 500, rememberRequests: 1_000 };

/** Bumped when the encoding changes: a snapshot of another format is ignored (and replaced). */
const SNAPSHOT_FORMAT = 1;

interface EncodedSnapshot {
  readonly format: number;
  readonly workflow: string;
  readonly version: number;
  readonly shape: string;
  readonly revision: number;
  readonly lastEventId: string;
  readonly machine: unknown;
  readonly correlationId: string;
  readonly bytes: number;
  readonly timers: readonly PendingTimer[];
  readonly inFlight: readonly InFlightCommand[];
  readonly incidents: readonly OpenIncident[];
  readonly movedByTimer?: TimerMove;
  readonly terminated?: InstanceTermination;
  /** Requests answered from this revision on are in `requests`. */
  readonly requestsFrom: number;
  readonly requests: readonly (readonly [string, number])[];
  readonly fingerprints: readonly (readonly [string, string])[];
}

const shapes = new WeakMap<AnyStateMachine, string>();

/**
 * A fingerprint of the machine's structure (states, events, targets, action and guard names):
 * a snapshot taken under another structure is ignored. Implementations of guards and actions
 * are code, not structure; after changing one without a new version, discard the snapshots.
 */
export function machineShapeOf(machine: AnyStateMachine): string {
  let shape = shapes.get(machine);
  if (shape === undefined) {
    shape = fnv1a(JSON.stringify(machine.definition));
    shapes.set(machine, shape);
  }
  return shape;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * True when `value` survives JSON unchanged: plain data, no NaN, no class instance; a property
 * whose value is undefined (dropped by JSON, read back as undefined) is allowed, an undefined
 * array element (which would come back as null) is not.
 */
function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isPlainJson);
  if (typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return false;
  return Object.values(value as Record<string, unknown>).every(
    (property) => property === undefined || isPlainJson(property),
  );
}

/**
 * The snapshot of `state` to store, or undefined when its machine snapshot does not survive JSON
 * unchanged (a context holding a Date, say): such an instance is always replayed.
 */
export function encodeInstanceSnapshot(
  state: InstanceState,
  policy: SnapshotPolicy,
): StoredSnapshot | undefined {
  const { definition } = state;
  const machine = definition.machine.getPersistedSnapshot(state.snapshot);
  if (!isPlainJson(machine)) return undefined;
  // What the state itself remembers from an older window can only shrink, never grow back.
  const requestsFrom = Math.max(
    state.revision - policy.rememberRequests + 1,
    state.requestsKnownFrom ?? 0,
  );
  const requests = [...state.requestRevisions.entries()].filter(([, at]) => at >= requestsFrom);
  const kept = new Set(requests.map(([eventId]) => eventId));
  const encoded: EncodedSnapshot = {
    format: SNAPSHOT_FORMAT,
    workflow: definition.name,
    version: definition.version,
    shape: machineShapeOf(definition.machine),
    revision: state.revision,
    lastEventId: state.lastEventId,
    machine,
    correlationId: state.correlationId,
    bytes: state.bytes,
    timers: [...state.pendingTimers.values()],
    inFlight: [...state.commands.inFlight.values()],
    incidents: [...state.commands.incidents.values()],
    ...(state.movedByTimer ? { movedByTimer: state.movedByTimer } : {}),
    ...(state.terminated ? { terminated: state.terminated } : {}),
    requestsFrom,
    requests,
    fingerprints: [...state.requestFingerprints.entries()].filter(([eventId]) => kept.has(eventId)),
  };
  return { streamName: state.streamName, revision: state.revision, data: JSON.stringify(encoded) };
}

/**
 * The instance a stored snapshot holds, or undefined when it cannot be used: another format,
 * a definition version this process does not define, or a machine of another shape. The caller
 * still checks it against the stream (the event at its revision must be `lastEventId`).
 */
export function decodeInstanceSnapshot(
  stored: StoredSnapshot,
  instanceId: string,
  definitionOf: (workflow: string, version: number) => WorkflowDefinition | undefined,
): InstanceState | undefined {
  let encoded: EncodedSnapshot;
  try {
    encoded = JSON.parse(stored.data) as EncodedSnapshot;
  } catch {
    return undefined;
  }
  if (encoded.format !== SNAPSHOT_FORMAT || encoded.revision !== stored.revision) return undefined;
  const definition = definitionOf(encoded.workflow, encoded.version);
  if (!definition || machineShapeOf(definition.machine) !== encoded.shape) return undefined;
  return {
    definition,
    instanceId,
    streamName: stored.streamName,
    snapshot: restoreMachineSnapshot(definition.machine, encoded.machine),
    revision: encoded.revision,
    lastEventId: encoded.lastEventId,
    snapshotRevision: encoded.revision,
    requestRevisions: HistoryMap.of(encoded.requests, encoded.revision),
    requestFingerprints: HistoryMap.of(encoded.fingerprints, encoded.revision),
    ...(encoded.requestsFrom > 0 ? { requestsKnownFrom: encoded.requestsFrom } : {}),
    bytes: encoded.bytes,
    correlationId: encoded.correlationId,
    pendingTimers: new Map(encoded.timers.map((timer) => [timer.timerId, timer])),
    commands: {
      inFlight: new Map(encoded.inFlight.map((command) => [command.commandId, command])),
      incidents: new Map(encoded.incidents.map((incident) => [incident.incidentId, incident])),
    },
    ...(encoded.movedByTimer ? { movedByTimer: encoded.movedByTimer } : {}),
    ...(encoded.terminated ? { terminated: encoded.terminated } : {}),
  };
}
