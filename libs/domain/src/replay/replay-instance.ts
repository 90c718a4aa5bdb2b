import { canonicalJson } from '../projections/canonical-json';
import { EventMetadataRecord, StreamRevision } from '../event-store/event-store.port';
import { InstanceStatus, readEsflowMetadata } from '../workflow/event-metadata';
import { foldInstance, instanceStatusOf, InstanceState } from '../workflow/instance-state';
import { correlationKeysOf, WorkflowDefinition } from '../workflow/workflow-definition';

/**
 * One recorded event as a replay test reads it: where it sits, what it is, its esflow metadata
 * (with the `stateAfter` and `statusAfter` the engine recorded) and its payload decoded to plain
 * JSON values (as the engine decodes it, by the current schemas). An `esflow export` line holds
 * exactly this.
 */
export interface ReplayEvent {
  readonly streamName: string;
  readonly revision: StreamRevision;
  readonly type: string;
  readonly eventId: string;
  readonly metadata: EventMetadataRecord;
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * A context the instance was recorded to have right after the event at `revision`: e.g. the
 * machine context of a stored instance snapshot (see {@link recordedContextOfSnapshot}).
 */
export interface RecordedContext {
  readonly revision: StreamRevision;
  readonly context: unknown;
  /** Where it was recorded (for the report): `snapshot`, say. */
  readonly source: string;
}

/** What a replay test can conclude about one instance. */
export const ReplayOutcome = {
  /** Every compared state, status and context is the recorded one, in both folds. */
  Same: 'same',
  /** The definition reaches another state, status or context than recorded. */
  Diverged: 'diverged',
  /** The definition cannot fold the stream: a guard or assign threw, the stream is not its. */
  Failed: 'failed',
  /** Two folds of the same events through the definition differ: it is not deterministic. */
  Nondeterministic: 'nondeterministic',
} as const;
export type ReplayOutcome = (typeof ReplayOutcome)[keyof typeof ReplayOutcome];

/** What was compared where a replay first differed. */
export const ReplayAspect = {
  State: 'state',
  Status: 'status',
  Context: 'context',
  CorrelationKeys: 'correlationKeys',
} as const;
export type ReplayAspect = (typeof ReplayAspect)[keyof typeof ReplayAspect];

/** One value that differs between two contexts, by its path (`context.paymentId`). */
export interface ContextDifference {
  readonly path: string;
  /** Undefined where the expected context has nothing at `path`. */
  readonly expected: unknown;
  readonly found: unknown;
}

/**
 * The first event after which a fold differs from what was expected (the recorded stream, or
 * for non-determinism the first fold): the event, what differs, and both sides. The state and
 * status found are always given; the expected state and status are the recorded ones.
 */
export interface ReplayDivergence {
  /** 0-based index of the event in the stream (its revision, for a complete stream). */
  readonly eventIndex: number;
  readonly revision: StreamRevision;
  readonly eventType: string;
  readonly aspect: ReplayAspect;
  readonly expectedState: unknown;
  readonly foundState: unknown;
  readonly expectedStatus: string;
  readonly foundStatus: string;
  /** For a context or correlation-key divergence: the values that differ (at most 10). */
  readonly contextDiff?: readonly ContextDifference[];
  /** What differs, in words, without where (`expected state "a", found "b"`). */
  readonly detail: string;
  /** The divergence in one line of words: where, then {@link ReplayDivergence.detail}. */
  readonly summary: string;
}

/** Why a definition could not fold a stream: at which event, and the error's message. */
export interface ReplayFailure {
  readonly eventIndex: number;
  readonly revision: StreamRevision;
  readonly eventType: string;
  readonly message: string;
}

/** What {@link replayInstance} found for one instance. */
export interface ReplayReport {
  readonly instanceId: string;
  readonly streamName: string;
  readonly workflow: string;
  /** The definition version the events were folded through. */
  readonly version: number;
  /** The version the instance is pinned to (its start event's metadata). */
  readonly pinnedVersion: number;
  readonly outcome: ReplayOutcome;
  /** Events folded. */
  readonly events: number;
  /** How many recorded contexts (snapshots, start correlation keys) were compared. */
  readonly contextsCompared: number;
  /** Set when `outcome` is `diverged`, or `nondeterministic` (then: fold 2 against fold 1). */
  readonly divergence?: ReplayDivergence;
  /** Set when `outcome` is `failed`. */
  readonly failure?: ReplayFailure;
}

/** Options of {@link replayInstance}. */
export interface ReplayOptions {
  /** Contexts recorded for the instance, compared with the fold's at their revisions. */
  readonly recordedContexts?: readonly RecordedContext[];
  /**
   * The definitions of the workflow by version, for a stream with an `InstanceMigrated`: the
   * events after it fold through its target version (without it, such a stream fails to fold).
   */
  readonly versionOf?: (version: number) => WorkflowDefinition | undefined;
}

/** The fold after one event: enough to compare it. */
interface Step {
  readonly state: unknown;
  readonly status: InstanceStatus;
  readonly context: unknown;
  readonly stateText: string;
  readonly contextText: string;
}

class FoldFailure extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

/** Folds `events` one at a time through `definition`, exactly as the engine rebuilds an instance. */
function foldSteps(
  definition: WorkflowDefinition,
  instanceId: string,
  events: readonly ReplayEvent[],
  versionOf?: (version: number) => WorkflowDefinition | undefined,
): Step[] {
  const steps: Step[] = [];
  let state: InstanceState | undefined;
  events.forEach((event, index) => {
    const decoded = {
      recorded: {
        eventId: event.eventId,
        type: event.type,
        data: new Uint8Array(0),
        metadata: event.metadata,
        streamName: event.streamName,
        revision: event.revision,
        position: { commit: 0n, prepare: 0n },
        recordedAt: new Date(0),
      },
      payload: event.payload,
    };
    try {
      state = foldInstance(
        state?.definition ?? definition,
        instanceId,
        [decoded],
        state,
        versionOf,
      );
    } catch (error) {
      throw new FoldFailure(index, error instanceof Error ? error.message : String(error));
    }
    const { snapshot } = state;
    steps.push({
      state: snapshot.value,
      status: instanceStatusOf(state),
      context: snapshot.context,
      stateText: canonicalJson(snapshot.value),
      contextText: canonicalJson(snapshot.context),
    });
  });
  return steps;
}

const MAX_DIFFERENCES = 10;

/**
 * The values that differ between two JSON-like documents, by path, depth first (at most 10).
 * Arrays are compared element by element; a value absent on one side is `undefined` there.
 */
export function contextDifferences(
  expected: unknown,
  found: unknown,
  path = 'context',
): ContextDifference[] {
  const differences: ContextDifference[] = [];
  const walk = (a: unknown, b: unknown, at: string) => {
    if (differences.length >= MAX_DIFFERENCES) return;
    const bothObjects = a !== null && b !== null && typeof a === 'object' && typeof b === 'object';
    if (bothObjects && Array.isArray(a) === Array.isArray(b)) {
      const keys = Array.isArray(a)
        ? [...Array(Math.max(a.length, (b as unknown[]).length)).keys()].map(String)
        : [...new Set([...Object.keys(a), ...Object.keys(b as object)])].sort();
      for (const key of keys)
        walk(
          (a as Record<string, unknown>)[key],
          (b as Record<string, unknown>)[key],
          Array.isArray(a) ? `${at}[${key}]` : `${at}.${key}`,
        );
      return;
    }
    if (canonicalJson(a) !== canonicalJson(b))
      differences.push({ path: at, expected: a, found: b });
  };
  walk(expected, found, path);
  return differences;
}

function shown(value: unknown): string {
  return value === undefined ? 'nothing' : canonicalJson(value);
}

function diffSummary(differences: readonly ContextDifference[]): string {
  return differences
    .map((d) => `${d.path} expected ${shown(d.expected)}, found ${shown(d.found)}`)
    .join('; ');
}

/**
 * Replays one instance's recorded events through `definition` (a new version, a changed machine,
 * or the one it ran on) and says whether it reaches what was recorded. Compared:
 *
 * - after every event, the state value and the status the fold reaches with the `stateAfter`
 *   and `statusAfter` recorded in the event's metadata (an event recorded in one append with
 *   others carries the append's state, which its first event reaches: facts do not move it);
 * - after the start event, the correlation keys the fold's context declares with those recorded
 *   on the start event, when some were recorded;
 * - after each event at the revision of a {@link RecordedContext} (a stored snapshot, say), the
 *   whole context. The context is not recorded per event: where nothing records it, only states
 *   and statuses are compared.
 *
 * The events are folded twice, as the engine folds them (through the pure `transition()`, no
 * action run); when the two folds differ in state or context after some event, the definition
 * is not deterministic (a guard or assign that reads a clock or randomness) and the outcome is
 * `nondeterministic`, whatever the comparison with the record says. A fold that throws (a guard
 * that throws, a stream that is not the definition's) is `failed`, naming the event. Pure:
 * nothing is read or written.
 */
export function replayInstance(
  definition: WorkflowDefinition,
  events: readonly ReplayEvent[],
  options: ReplayOptions = {},
): ReplayReport {
  const first = events[0];
  const start = first ? readEsflowMetadata(first.metadata) : undefined;
  const base = {
    instanceId: start?.instanceId ?? '',
    streamName: first?.streamName ?? '',
    workflow: definition.name,
    version: definition.version,
    pinnedVersion: start?.definitionVersion ?? 0,
    events: events.length,
  };
  const failed = (failure: ReplayFailure): ReplayReport => ({
    ...base,
    outcome: ReplayOutcome.Failed,
    contextsCompared: 0,
    failure,
  });
  if (!first || !start)
    return failed({ eventIndex: 0, revision: 0, eventType: '', message: 'the stream is empty' });
  if (start.workflow !== definition.name)
    return failed({
      eventIndex: 0,
      revision: first.revision,
      eventType: first.type,
      message: `the stream is an instance of ${start.workflow}, not of ${definition.name}`,
    });
  let once: Step[];
  let twice: Step[];
  try {
    once = foldSteps(definition, base.instanceId, events, options.versionOf);
    twice = foldSteps(definition, base.instanceId, events, options.versionOf);
  } catch (error) {
    if (!(error instanceof FoldFailure)) throw error;
    const at = events[error.index]!;
    return failed({
      eventIndex: error.index,
      revision: at.revision,
      eventType: at.type,
      message: error.message,
    });
  }
  const nondeterminism = firstDifferenceBetweenFolds(events, once, twice);
  const { divergence, contextsCompared } = firstDivergenceFromRecord(
    definition,
    events,
    once,
    options.recordedContexts ?? [],
  );
  if (nondeterminism)
    return {
      ...base,
      outcome: ReplayOutcome.Nondeterministic,
      contextsCompared,
      divergence: nondeterminism,
    };
  if (divergence) return { ...base, outcome: ReplayOutcome.Diverged, contextsCompared, divergence };
  return { ...base, outcome: ReplayOutcome.Same, contextsCompared };
}

function firstDifferenceBetweenFolds(
  events: readonly ReplayEvent[],
  once: readonly Step[],
  twice: readonly Step[],
): ReplayDivergence | undefined {
  for (let index = 0; index < events.length; index++) {
    const a = once[index]!;
    const b = twice[index]!;
    if (a.stateText === b.stateText && a.contextText === b.contextText && a.status === b.status)
      continue;
    const event = events[index]!;
    const stateDiffers = a.stateText !== b.stateText;
    const contextDiff = stateDiffers ? undefined : contextDifferences(a.context, b.context);
    const detail = `two folds of the same events differ: ${
      stateDiffers ? `state ${a.stateText}, then ${b.stateText}` : diffSummary(contextDiff ?? [])
    }`;
    return {
      eventIndex: index,
      revision: event.revision,
      eventType: event.type,
      aspect: stateDiffers ? ReplayAspect.State : ReplayAspect.Context,
      expectedState: a.state,
      foundState: b.state,
      expectedStatus: a.status,
      foundStatus: b.status,
      ...(contextDiff ? { contextDiff } : {}),
      detail,
      summary: `not deterministic: ${detail} (after ${event.type}, revision ${event.revision})`,
    };
  }
  return undefined;
}

function firstDivergenceFromRecord(
  definition: WorkflowDefinition,
  events: readonly ReplayEvent[],
  steps: readonly Step[],
  recordedContexts: readonly RecordedContext[],
): { divergence?: ReplayDivergence; contextsCompared: number } {
  let contextsCompared = 0;
  const contextsAt = new Map<number, RecordedContext[]>();
  for (const recorded of recordedContexts)
    contextsAt.set(recorded.revision, [...(contextsAt.get(recorded.revision) ?? []), recorded]);
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    const step = steps[index]!;
    const metadata = readEsflowMetadata(event.metadata);
    const at = (
      aspect: ReplayAspect,
      detail: string,
      contextDiff?: readonly ContextDifference[],
    ): ReplayDivergence => ({
      eventIndex: index,
      revision: event.revision,
      eventType: event.type,
      aspect,
      expectedState: metadata.stateAfter,
      foundState: step.state,
      expectedStatus: metadata.statusAfter,
      foundStatus: step.status,
      ...(contextDiff ? { contextDiff } : {}),
      detail,
      summary: `after ${event.type} (revision ${event.revision}): ${detail}`,
    });
    const expectedText = canonicalJson(metadata.stateAfter);
    if (expectedText !== step.stateText)
      return {
        contextsCompared,
        divergence: at(
          ReplayAspect.State,
          `expected state ${expectedText}, found ${step.stateText}`,
        ),
      };
    if (metadata.statusAfter !== undefined && metadata.statusAfter !== step.status)
      return {
        contextsCompared,
        divergence: at(
          ReplayAspect.Status,
          `expected status ${metadata.statusAfter}, found ${step.status}`,
        ),
      };
    if (index === 0 && metadata.correlationKeys !== undefined) {
      contextsCompared++;
      const found = correlationKeysOf(definition, step.context);
      const diff = contextDifferences(metadata.correlationKeys, found, 'correlationKeys');
      if (diff.length > 0)
        return {
          contextsCompared,
          divergence: at(
            ReplayAspect.CorrelationKeys,
            `in state ${step.stateText} as recorded, the context declares other correlation keys: ${diffSummary(diff)}`,
            diff,
          ),
        };
    }
    for (const recorded of contextsAt.get(event.revision) ?? []) {
      contextsCompared++;
      const diff = contextDifferences(recorded.context, step.context);
      if (diff.length > 0)
        return {
          contextsCompared,
          divergence: at(
            ReplayAspect.Context,
            `in state ${step.stateText} as recorded, the context differs from the ${recorded.source}'s: ${diffSummary(diff)}`,
            diff,
          ),
        };
    }
  }
  return { contextsCompared };
}

/**
 * The context and state a stored instance snapshot (the engine's encoding, `SnapshotStore`)
 * records, as a {@link RecordedContext} with its `lastEventId`; undefined when the text is not a
 * snapshot this version of esflow writes. The caller checks `lastEventId` against the event at
 * `revision` (a snapshot of an older stream of the same name is not the instance's).
 */
export function recordedContextOfSnapshot(
  data: string,
): (RecordedContext & { readonly lastEventId: string; readonly state: unknown }) | undefined {
  let parsed: {
    format?: unknown;
    revision?: unknown;
    lastEventId?: unknown;
    machine?: { value?: unknown; context?: unknown };
  };
  try {
    parsed = JSON.parse(data) as typeof parsed;
  } catch {
    return undefined;
  }
  if (
    parsed?.format !== 1 ||
    typeof parsed.revision !== 'number' ||
    typeof parsed.lastEventId !== 'string' ||
    typeof parsed.machine !== 'object' ||
    parsed.machine === null
  )
    return undefined;
  return {
    revision: parsed.revision,
    lastEventId: parsed.lastEventId,
    state: parsed.machine.value,
    context: parsed.machine.context,
    source: 'snapshot',
  };
}
