import { GlobalPosition } from '../event-store/event-store.port';

/**
 * Where a timer is in its life. `pending` until one of: `fired` (its `TimerFired` was recorded),
 * `cancelled` (the instance left the state before the timer fell due), or `superseded` (the
 * instance was moved on by another event at or after the timer's due time: the event won the
 * race against the timer).
 */
export const TimerStatus = {
  Pending: 'pending',
  Fired: 'fired',
  Cancelled: 'cancelled',
  Superseded: 'superseded',
} as const;
export type TimerStatus = (typeof TimerStatus)[keyof typeof TimerStatus];

/** Every {@link TimerStatus}, e.g. to check a query parameter. */
export const TIMER_STATUSES: readonly TimerStatus[] = Object.values(TimerStatus);

/** The event that settled a timer it did not fire: the one that moved the instance on first. */
export interface TimerSettledBy {
  readonly eventId: string;
  readonly eventType: string;
  /** The revision of the instance's stream that event was recorded at. */
  readonly revision: number;
}

/**
 * One timer as the timer index knows it, from the `TimerScheduled`, `TimerCancelled` and
 * `TimerFired` facts of its instance's stream. Times are ISO-8601 strings in UTC.
 */
export interface TimerRecord {
  readonly timerId: string;
  readonly workflow: string;
  readonly instanceId: string;
  /** The machine event the timer delivers (`xstate.after.…` for an `after` transition). */
  readonly eventType: string;
  readonly dueAt: string;
  /** When the `TimerScheduled` fact was recorded, and at which revision. */
  readonly scheduledAt: string;
  readonly scheduledRevision: number;
  readonly status: TimerStatus;
  /** When it was settled (fired, cancelled or superseded) and at which revision; null while pending. */
  readonly settledAt: string | null;
  readonly settledRevision: number | null;
  /** Fired: how long after `dueAt` it fired, in ms (0 when on time); null otherwise. */
  readonly latenessMs: number | null;
  /** Cancelled or superseded: the event that moved the instance on; null otherwise. */
  readonly settledBy: TimerSettledBy | null;
}

/** A change to the index, derived from one recorded fact. */
export type TimerChange =
  | { readonly kind: 'scheduled'; readonly timer: TimerRecord }
  | {
      readonly kind: 'settled';
      readonly timerId: string;
      readonly status: Exclude<TimerStatus, 'pending'>;
      readonly settledAt: string;
      readonly settledRevision: number;
      readonly latenessMs: number | null;
      readonly settledBy: TimerSettledBy | null;
    };

/** A page of {@link TimerIndex.list}. */
export interface TimerPage {
  readonly timers: readonly TimerRecord[];
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
}

/** What {@link TimerIndex.list} selects; every field narrows the result. */
export interface TimerQuery {
  readonly status?: TimerStatus;
  /** Only timers due strictly before this instant. */
  readonly dueBefore?: Date;
  readonly workflow?: string;
  readonly instanceId?: string;
  /** The `next` of the previous page. */
  readonly after?: string;
  readonly limit: number;
}

/**
 * The due-timer index the timer service keeps (implemented in the read-model database of each
 * adapter): every timer recorded in the log, with its status, ordered by due time. Only the
 * timer service (holding its lease) writes it; the API reads it.
 */
export interface TimerIndex {
  /**
   * Applies `changes` in order and records `checkpoint` (the position of the last event they
   * came from), atomically: after a crash either all of them and the checkpoint are there, or
   * none. A `scheduled` change for a timer already indexed leaves it as it is; a `settled`
   * change settles a pending timer and leaves a settled one (or an unknown id) as it is.
   */
  apply(changes: readonly TimerChange[], checkpoint: GlobalPosition): Promise<void>;
  /** The position of the last event applied, undefined before the first. */
  checkpoint(): Promise<GlobalPosition | undefined>;
  /** Pending timers due at or before `at`, earliest first (ties by timer id), at most `limit`. */
  due(at: Date, limit: number): Promise<TimerRecord[]>;
  /** The earliest due time of a pending timer, undefined when none is pending. */
  nextDueAt(): Promise<Date | undefined>;
  get(timerId: string): Promise<TimerRecord | undefined>;
  /** Timers ordered by due time then id, filtered by `query`, one page at a time. */
  list(query: TimerQuery): Promise<TimerPage>;
  /** How many timers there are in each status. */
  counts(): Promise<Record<TimerStatus, number>>;
  /** Removes every timer and the checkpoint: the index is then rebuilt from the log. */
  clear(): Promise<void>;
  /** Releases what the index holds (connections); the memory index has nothing to release. */
  close?(): Promise<void>;
}
