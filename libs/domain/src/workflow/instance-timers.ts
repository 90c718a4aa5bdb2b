import {
  FrameworkEvent,
  TimerCancelledPayload,
  TimerFiredPayload,
  TimerScheduledPayload,
} from './framework-events';

/** A timer of an instance that has been scheduled and has neither fired nor been cancelled. */
export interface PendingTimer {
  readonly timerId: string;
  readonly sendId: string;
  readonly eventType: string;
  readonly eventJson: string;
  /** ISO-8601, UTC. */
  readonly dueAt: string;
  /** The id of its `TimerScheduled` fact: the causation of the `TimerFired` it becomes. */
  readonly scheduledEventId: string;
}

/** A recorded or planned fact, as far as the timer bookkeeping needs it. */
export interface TimerFact {
  readonly eventId: string;
  readonly type: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * The pending timers after `facts`: a `TimerScheduled` adds one, a `TimerCancelled` or
 * `TimerFired` removes it; other facts change nothing. Returns `pending` itself when nothing
 * changed, so an instance without timers never copies its map.
 */
export function nextPendingTimers(
  pending: ReadonlyMap<string, PendingTimer>,
  facts: readonly TimerFact[],
): ReadonlyMap<string, PendingTimer> {
  let next: Map<string, PendingTimer> | undefined;
  const writable = () => (next ??= new Map(pending));
  for (const fact of facts) {
    if (fact.type === FrameworkEvent.TimerScheduled) {
      const scheduled = fact.payload as unknown as TimerScheduledPayload;
      writable().set(scheduled.timerId, {
        timerId: scheduled.timerId,
        sendId: scheduled.sendId,
        eventType: scheduled.eventType,
        eventJson: scheduled.eventJson,
        dueAt: scheduled.dueAt,
        scheduledEventId: fact.eventId,
      });
    } else if (
      fact.type === FrameworkEvent.TimerCancelled ||
      fact.type === FrameworkEvent.TimerFired
    ) {
      const { timerId } = fact.payload as unknown as TimerCancelledPayload | TimerFiredPayload;
      if ((next ?? pending).has(timerId)) writable().delete(timerId);
    }
  }
  return next ?? pending;
}

/** The machine event a timer delivers, as it was recorded. */
export function timerEvent(timer: { readonly eventJson: string }): {
  readonly type: string;
  readonly [field: string]: unknown;
} {
  return JSON.parse(timer.eventJson) as { type: string };
}
