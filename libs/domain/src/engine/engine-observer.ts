/**
 * What came of one request to move an instance: `recorded` (appended), `replayed` (a repeat of
 * a request already recorded: nothing appended) or `rejected` (refused with a stable code,
 * nothing appended).
 */
export type TransitionOutcome = 'recorded' | 'replayed' | 'rejected';

/** The label the engine reports for a workflow or an event type it does not know. */
export const UNKNOWN_LABEL = '(unknown)';

/**
 * One settled request to move an instance. `workflow` and `eventType` are always names a
 * registered definition declares (or {@link UNKNOWN_LABEL}), never what a caller made up, so a
 * metric labelled by them stays bounded.
 */
export interface ObservedTransition {
  readonly workflow: string;
  /** The request's event: the start event, a user event, TimerFired, CommandCompleted... */
  readonly eventType: string;
  readonly outcome: TransitionOutcome;
  /** The rejection's stable code (`EVENT_NOT_ACCEPTED`...), with outcome `rejected`. */
  readonly code?: string;
}

/**
 * Told what the engine does, e.g. to count it in metrics. Every method is optional, is called
 * synchronously on the engine's path and must neither throw nor block; the engine behaves the
 * same with or without an observer.
 */
export interface EngineObserver {
  /** A start, send, timer fire, command outcome or termination settled. */
  transition?(transition: ObservedTransition): void;
  /**
   * An append lost the race for an instance's revision (another writer appended first):
   * `retried` when the engine reloads and decides again, `returned` when the conflict is the
   * answer (the caller's `If-Match` was stale, or the retries ran out).
   */
  revisionConflict?(workflow: string, resolution: 'retried' | 'returned'): void;
  /** One append of the engine to the store, with the events it carried and its duration. */
  appended?(workflow: string, events: number, durationMs: number): void;
}

/** The observer that observes nothing: the engine's default. */
export const NO_ENGINE_OBSERVER: EngineObserver = {};
