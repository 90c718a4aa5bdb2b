import { PayloadCodec } from '../codec/payload-codec.port';
import { AllStreamFilter, EventStore, RecordedEvent } from '../event-store/event-store.port';
import type { FireTimerOutcome } from '../engine/fire-timer.handler';
import type { WorkflowEngine } from '../engine/workflow-engine';
import { Clock } from '../ports/clock.port';
import { realSleepUnlessAborted, Sleep, sleepUnlessAborted } from '../ports/sleeper.port';
import { FAULT_RETRY, LeasedFollower } from '../processing/leased-follower';
import { LeaseStore } from '../processing/lease';
import { Processor, ProcessorStatus } from '../processing/processor';
import { backoffDelay } from '../retry/retry';
import { readEsflowMetadata } from '../workflow/event-metadata';
import {
  FRAMEWORK_NAMESPACE,
  FrameworkEvent,
  TimerCancelledPayload,
  TimerFiredPayload,
  TimerScheduledPayload,
} from '../workflow/framework-events';
import { TimerChange, TimerIndex, TimerRecord, TimerStatus } from './timer-index.port';

/** The events the timer index is made of. */
export const TIMER_EVENT_FILTER: AllStreamFilter = {
  eventTypes: [
    FrameworkEvent.TimerScheduled,
    FrameworkEvent.TimerCancelled,
    FrameworkEvent.TimerFired,
  ],
};

/**
 * The index changes `events` make, in order: a `TimerScheduled` schedules, a `TimerFired`
 * settles as fired, a `TimerCancelled` as cancelled, or as superseded when it was recorded at
 * or after the timer's due time (an event won the race against a timer that was due).
 */
export async function timerChangesOf(
  events: readonly RecordedEvent[],
  decode: (schemaName: string, data: Uint8Array) => Promise<Record<string, unknown>>,
): Promise<TimerChange[]> {
  const changes: TimerChange[] = [];
  for (const event of events) {
    if (!(TIMER_EVENT_FILTER.eventTypes ?? []).includes(event.type)) continue;
    const metadata = readEsflowMetadata(event.metadata);
    const payload = await decode(`${FRAMEWORK_NAMESPACE}.${event.type}`, event.data);
    if (event.type === FrameworkEvent.TimerScheduled) {
      const scheduled = payload as unknown as TimerScheduledPayload;
      changes.push({
        kind: 'scheduled',
        timer: {
          timerId: scheduled.timerId,
          workflow: metadata.workflow,
          instanceId: metadata.instanceId,
          eventType: scheduled.eventType,
          dueAt: scheduled.dueAt,
          scheduledAt: metadata.occurredAt,
          scheduledRevision: event.revision,
          status: TimerStatus.Pending,
          settledAt: null,
          settledRevision: null,
          latenessMs: null,
          settledBy: null,
        },
      });
    } else if (event.type === FrameworkEvent.TimerFired) {
      const fired = payload as unknown as TimerFiredPayload;
      changes.push({
        kind: 'settled',
        timerId: fired.timerId,
        status: TimerStatus.Fired,
        settledAt: fired.firedAt,
        settledRevision: event.revision,
        latenessMs: Number(fired.latenessMs),
        settledBy: null,
      });
    } else {
      const cancelled = payload as unknown as TimerCancelledPayload;
      const due = new Date(metadata.occurredAt) >= new Date(cancelled.dueAt);
      changes.push({
        kind: 'settled',
        timerId: cancelled.timerId,
        status: due ? TimerStatus.Superseded : TimerStatus.Cancelled,
        settledAt: metadata.occurredAt,
        settledRevision: event.revision,
        latenessMs: null,
        settledBy: {
          eventId: metadata.causationId,
          eventType: cancelled.cancelledByEventType,
          revision: Number(cancelled.cancelledByRevision),
        },
      });
    }
  }
  return changes;
}

/** What the timer service tells an observer (metrics): each change indexed, each timer fired. */
export interface TimerServiceObserver {
  indexed?(change: TimerChange): void;
  fired?(timer: TimerRecord, outcome: FireTimerOutcome['outcome'], latenessMs: number | null): void;
  /** A fire attempt failed (the store, a rejection); it is tried again after a back-off. */
  failed?(timer: TimerRecord, error: unknown): void;
}

/** What {@link TimerService} runs on. */
export interface TimerServiceOptions {
  readonly store: EventStore;
  readonly codec: PayloadCodec;
  readonly index: TimerIndex;
  readonly engine: Pick<WorkflowEngine, 'fireTimer'>;
  /** Where the service's lease is kept (the read-model store): one process fires at a time. */
  readonly leases: LeaseStore;
  /** This process, as the lease names it. */
  readonly owner: string;
  /** The clock timers are due by: the engine's (tests pass a controlled one to both). */
  readonly clock: Clock;
  /**
   * How the scheduler waits until the next due time (default real timers); a controlled clock's
   * `sleep` makes timers fall due only when a test moves the clock.
   */
  readonly sleep?: Sleep;
  /** The lease's time to live in ms (default 10 000); renewed every third of it. */
  readonly leaseTtlMs?: number;
  /** How many timers fire at once (default 32). */
  readonly concurrency?: number;
  /** How many due timers one round takes from the index (default 1 000). */
  readonly roundSize?: number;
  /** Longest wait between two looks at the index, in ms (default 60 000). */
  readonly maxWaitMs?: number;
  readonly observer?: TimerServiceObserver;
  readonly onError?: (message: string, error: unknown) => void;
}

/**
 * The timer service: a processor that follows the log into the {@link TimerIndex} (catch-up,
 * then live, checkpointed with the index so a restart resumes exactly) and fires each timer as
 * it falls due, through {@link WorkflowEngine.fireTimer}. It wakes at the next due time, or when
 * the index learns of an earlier one, never on a fixed tick. A timer that fell due while nothing
 * ran fires as soon as the service starts (its lateness is recorded in its `TimerFired`). It
 * holds a lease, so one process fires at a time; and were two to fire the same timer, the
 * engine records it once (its event id derives from the timer id).
 *
 * At-least-once attempts, exactly-once effect: a fire may be attempted again after a crash or a
 * store fault, and only the first is recorded.
 */
export class TimerService implements Processor {
  readonly name = 'timers';
  private readonly follower: LeasedFollower;
  /** Timers fired (or found settled) whose settling the index has not applied yet. */
  private readonly settling = new Set<string>();
  /** Timers whose last attempt failed, with when to try again and how often it failed. */
  private readonly retrying = new Map<string, { at: number; attempts: number }>();
  private wake: (() => void) | undefined;

  constructor(private readonly options: TimerServiceOptions) {
    const { store, codec, index } = options;
    this.follower = new LeasedFollower({
      name: this.name,
      kind: 'timerService',
      leaseName: 'esflow_timer_service',
      store,
      leases: options.leases,
      owner: options.owner,
      clock: options.clock,
      filter: TIMER_EVENT_FILTER,
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
      ...(options.onError ? { onError: options.onError } : {}),
      target: {
        checkpoint: () => index.checkpoint(),
        apply: async (batch) => {
          const changes = await timerChangesOf(batch, (schema, data) => codec.decode(schema, data));
          await index.apply(changes, batch[batch.length - 1]!.position);
          for (const change of changes) {
            if (change.kind === 'settled') {
              this.settling.delete(change.timerId);
              this.retrying.delete(change.timerId);
            }
            this.options.observer?.indexed?.(change);
          }
          // A timer may now be due earlier than the scheduler is waiting for; or settled.
          this.wake?.();
        },
      },
      work: (signal) => this.keepFiring(signal),
    });
  }

  start(): void {
    this.follower.start();
  }

  async stop(): Promise<void> {
    this.wake?.();
    await this.follower.stop();
  }

  status(): ProcessorStatus {
    return this.follower.status();
  }

  /** Fires what is due, then waits until the next due time or until the index changes. */
  private async keepFiring(signal: AbortSignal): Promise<void> {
    const { index, clock } = this.options;
    const roundSize = this.options.roundSize ?? 1_000;
    while (!signal.aborted) {
      let waitMs: number;
      try {
        const now = clock.now();
        const due = (await index.due(now, roundSize + this.settling.size)).filter(
          (timer) => !this.settling.has(timer.timerId) && this.ready(timer, now),
        );
        if (due.length > 0) {
          await this.fireAll(due.slice(0, roundSize), signal);
          continue;
        }
        waitMs = await this.nextWait(now);
      } catch (error) {
        this.fault('timer service: reading the timer index failed', error);
        waitMs = 1_000;
      }
      await this.waitFor(waitMs, signal);
    }
  }

  private ready(timer: TimerRecord, now: Date): boolean {
    const retry = this.retrying.get(timer.timerId);
    return !retry || retry.at <= now.getTime();
  }

  /** How long until something may be due: the next due time, a retry, or a settling timer. */
  private async nextWait(now: Date): Promise<number> {
    const next = await this.options.index.nextDueAt();
    const candidates = [this.options.maxWaitMs ?? 60_000];
    if (next && next > now) candidates.push(next.getTime() - now.getTime());
    for (const { at } of this.retrying.values()) candidates.push(Math.max(1, at - now.getTime()));
    return Math.min(...candidates);
  }

  /**
   * Waits `ms` (on the service's `sleep`), or until the index wakes it, or until `signal`
   * aborts; whichever comes first ends every other wait of this call (no timer is left behind).
   */
  private async waitFor(ms: number, signal: AbortSignal): Promise<void> {
    const waited = new AbortController();
    const end = () => waited.abort();
    signal.addEventListener('abort', end, { once: true });
    const wake = () => end();
    this.wake = wake;
    const waits = [
      this.options.sleep
        ? sleepUnlessAborted(this.options.sleep, ms, waited.signal)
        : realSleepUnlessAborted(ms, waited.signal),
    ];
    // Fired timers wait for their settling to be indexed, which wakes the scheduler too; a short
    // real pause guards the wait in case it never comes (a timer of an unknown workflow).
    if (this.settling.size > 0) waits.push(realSleepUnlessAborted(250, waited.signal));
    try {
      await Promise.race(waits);
    } finally {
      end();
      signal.removeEventListener('abort', end);
      if (this.wake === wake) this.wake = undefined;
    }
  }

  private async fireAll(due: readonly TimerRecord[], signal: AbortSignal): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < due.length && !signal.aborted) await this.fire(due[next++]!);
    };
    const concurrency = Math.max(1, this.options.concurrency ?? 32);
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker));
  }

  private async fire(timer: TimerRecord): Promise<void> {
    const { engine, observer, clock } = this.options;
    try {
      const result = await engine.fireTimer.handle({
        workflow: timer.workflow,
        id: timer.instanceId,
        timerId: timer.timerId,
      });
      if (!result.ok) throw new Error(`${result.rejection.code}: ${result.rejection.message}`);
      const outcome = result.value;
      // notDue: this process's clock is behind the one that scheduled it; wait for its time.
      if (outcome.outcome === 'notDue') return;
      this.retrying.delete(timer.timerId);
      this.settling.add(timer.timerId);
      observer?.fired?.(
        timer,
        outcome.outcome,
        outcome.outcome === 'fired' ? outcome.latenessMs : null,
      );
    } catch (error) {
      const attempts = (this.retrying.get(timer.timerId)?.attempts ?? 0) + 1;
      this.retrying.set(timer.timerId, {
        at: clock.now().getTime() + backoffDelay(FAULT_RETRY, attempts, Math.random),
        attempts,
      });
      observer?.failed?.(timer, error);
      this.fault(
        `timer service: firing ${timer.timerId} of ${timer.workflow}/${timer.instanceId} failed`,
        error,
      );
    }
  }

  private fault(message: string, error: unknown): void {
    this.follower.fault(message, error);
  }
}
