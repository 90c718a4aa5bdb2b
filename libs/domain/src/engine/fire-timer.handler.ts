import { pureTransition } from '../workflow/pure-transition';
import { ok, Result } from '../errors/rejection';
import { EventCategory } from '../workflow/event-metadata';
import { FrameworkEvent, TimerFiredPayload } from '../workflow/framework-events';
import { afterAppend, InstanceState, InstanceView, viewOf } from '../workflow/instance-state';
import { timerEvent } from '../workflow/instance-timers';
import { decideOnQueuedInstance, EngineContext, observed, reloadInstance } from './engine-context';
import { planFacts, PlannedEvent, schemaNameOf } from './transition-planner';

/** A request to fire timer `timerId` of instance `id` of `workflow` (the timer service's). */
export interface FireTimerCommand {
  readonly workflow: string;
  readonly id: string;
  readonly timerId: string;
}

/**
 * What firing a timer came to:
 * - `fired`: its `TimerFired` and the transition it caused were recorded, `latenessMs` after
 *   its due time;
 * - `alreadyFired`: an earlier call (perhaps of another process) recorded it; nothing new;
 * - `notPending`: the instance has no such pending timer (it was cancelled when the instance
 *   left the state, or an event moved the instance on first); nothing recorded;
 * - `notDue`: it falls due at `dueAt`, later than now; nothing recorded.
 */
export type FireTimerOutcome =
  | {
      readonly outcome: 'fired';
      readonly instance: InstanceView;
      readonly revision: number;
      readonly latenessMs: number;
    }
  | { readonly outcome: 'alreadyFired'; readonly instance: InstanceView }
  | { readonly outcome: 'notPending'; readonly instance: InstanceView }
  | { readonly outcome: 'notDue'; readonly instance: InstanceView; readonly dueAt: string };

/**
 * Fires a timer: through the same path as a client's event (the per-instance queue, one atomic
 * append with the expected revision, a reload and a new decision after a lost race), so a timer
 * and an event that race leave exactly one winner. The `TimerFired` event's id derives from the
 * timer id, so however often this is called for a timer (after a crash, by two processes) it is
 * recorded once; it is never recorded before the timer's `dueAt` by the engine's clock.
 */
export class FireTimerHandler {
  constructor(private readonly engine: EngineContext) {}

  async handle(command: FireTimerCommand): Promise<Result<FireTimerOutcome>> {
    return observed(
      this.engine,
      { workflow: command.workflow, eventType: FrameworkEvent.TimerFired },
      await this.fire(command),
      ({ outcome }) =>
        outcome === 'fired' ? 'recorded' : outcome === 'alreadyFired' ? 'replayed' : undefined,
    );
  }

  private fire(command: FireTimerCommand): Promise<Result<FireTimerOutcome>> {
    return decideOnQueuedInstance(
      this.engine,
      command,
      (state, streamName) => this.fireOn(command, streamName, state),
      // Only a fire recorded stands on the cached instance (its append found the stream at the
      // cached revision); any other outcome, and its view, is given from the stream as it is.
      (decided) => decided.ok && decided.value.outcome === 'fired',
    );
  }

  private async fireOn(
    command: FireTimerCommand,
    streamName: string,
    state: InstanceState,
  ): Promise<Result<FireTimerOutcome>> {
    const { instances, ids, recorder, clock } = this.engine;
    const eventId = ids.deterministic(`${streamName}/timer/${command.timerId}`);
    if (state.requestRevisions.has(eventId))
      return ok({ outcome: 'alreadyFired', instance: viewOf(state) });
    const timer = state.pendingTimers.get(command.timerId);
    if (!timer) return ok({ outcome: 'notPending', instance: viewOf(state) });
    const now = clock.now();
    const dueAt = new Date(timer.dueAt);
    if (now < dueAt) return ok({ outcome: 'notDue', instance: viewOf(state), dueAt: timer.dueAt });

    const { definition } = state;
    const event = timerEvent(timer);
    const [nextSnapshot, actions] = pureTransition(definition.machine, state.snapshot, event);
    const latenessMs = now.getTime() - dueAt.getTime();
    const payload: TimerFiredPayload = {
      timerId: timer.timerId,
      eventType: timer.eventType,
      eventJson: timer.eventJson,
      dueAt: timer.dueAt,
      firedAt: now.toISOString(),
      latenessMs,
    };
    const fired: PlannedEvent = {
      eventId,
      type: FrameworkEvent.TimerFired,
      schemaName: schemaNameOf(definition, FrameworkEvent.TimerFired),
      category: EventCategory.Framework,
      payload: { ...payload },
    };
    // The timer that fires is no longer pending: leaving its state cancels nothing.
    const pendingTimers = new Map(state.pendingTimers);
    pendingTimers.delete(timer.timerId);
    const facts = planFacts({
      definition,
      causeEventId: eventId,
      causeType: timer.eventType,
      causeRevision: state.revision + 1,
      before: state.snapshot,
      after: nextSnapshot,
      actions,
      pendingTimers,
      inFlightCommands: state.commands.inFlight,
      now,
      deriveId: (name) => ids.deterministic(name),
    });
    const events = [fired, ...facts];
    const recorded = await recorder.record(
      {
        definition,
        instanceId: state.instanceId,
        streamName,
        correlationId: state.correlationId,
        causationId: timer.scheduledEventId,
        bytesBefore: state.bytes,
        stateBefore: state.snapshot.value,
        nextSnapshot,
        expectedRevision: state.revision,
      },
      events,
    );
    if (!recorded.ok) return recorded;
    const appended = recorded.value;
    if (appended.deduplicated) {
      const reloaded = await reloadInstance(this.engine, command.workflow, command.id);
      return ok({ outcome: 'alreadyFired', instance: viewOf(reloaded) });
    }
    const revision = appended.nextExpectedRevision;
    const next = afterAppend(state, {
      snapshot: nextSnapshot,
      revision,
      requestEventId: eventId,
      bytes: appended.bytes,
      events,
      movedByTimer: {
        timerId: timer.timerId,
        eventType: timer.eventType,
        firedAt: payload.firedAt,
        revision: revision - facts.length,
      },
    });
    instances.remember(next);
    return ok({ outcome: 'fired', instance: viewOf(next), revision, latenessMs });
  }
}
