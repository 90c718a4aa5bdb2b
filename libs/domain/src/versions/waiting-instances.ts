import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { instanceMetadataOf } from './instance-metadata';
import { EventMetadataRecord } from '../event-store/event-store.port';
import { stateKeyOf } from '../projections/built-in/built-in-projections';
import { EventCategory, InstanceStatus } from '../workflow/event-metadata';
import { CommandCompletedPayload, FrameworkEvent } from '../workflow/framework-events';
import {
  CommandBook,
  commandOutcomeEvent,
  nextCommandBook,
  NO_COMMANDS,
} from '../workflow/instance-commands';
import { nextPendingTimers, PendingTimer } from '../workflow/instance-timers';

/**
 * A recorded event as the deploy gate reads it: where it sits, its type and esflow metadata, and
 * its payload decoded to JSON where the reader decoded it. The gate needs the payloads of the
 * framework facts (timers, commands); without them it learns only from the workflow's own events.
 */
export interface GateEvent {
  readonly streamName: string;
  readonly revision: number;
  readonly type: string;
  readonly eventId: string;
  readonly metadata: EventMetadataRecord;
  readonly payload?: Readonly<Record<string, unknown>>;
}

/** Why a waiting instance may still receive an event type. */
export const ReceiveReason = {
  /** An instance of the same workflow version took it in the same state before. */
  AcceptedBefore: 'acceptedBefore',
  /** The instance has a pending timer that delivers it. */
  PendingTimer: 'pendingTimer',
  /** The instance waits for an invoked command's outcome, delivered as this done event. */
  InvokedCommand: 'invokedCommand',
} as const;
export type ReceiveReason = (typeof ReceiveReason)[keyof typeof ReceiveReason];

/** An event type some of a group's instances may still receive, and how many of them. */
export interface ReceivableEvent {
  readonly type: string;
  readonly instances: number;
  readonly reasons: readonly ReceiveReason[];
}

/**
 * Running instances of one workflow version waiting in one state, as the record shows them: the
 * latest event's `definitionVersion` and `stateAfter`, with status `running`.
 */
export interface WaitingGroup {
  readonly workflow: string;
  readonly version: number;
  readonly state: unknown;
  readonly instances: number;
  /** What they may still receive, by event type (sorted). */
  readonly mayReceive: readonly ReceivableEvent[];
}

interface InstanceFold {
  version: number;
  state: unknown;
  status: string;
  revision: number;
  timers: ReadonlyMap<string, PendingTimer>;
  commands: CommandBook;
  /** A workflow event's evidence, kept until the next event says whether it was a refused reply. */
  held?: { readonly key: string; readonly type: string };
}

const groupKey = (workflow: string, version: number, state: unknown) =>
  `${workflow}\u0000${version}\u0000${stateKeyOf(state)}`;

/**
 * Folds recorded instance streams into what the deploy gate compares with new definitions:
 * which instances are still running, on which version and in which state, and what each may still
 * receive. Since the definitions the instances were recorded under may be gone (removed, or
 * replaced under the same version number), what a state of a version accepts is learnt from the
 * record:
 *
 * - every machine input recorded at revision > 0 of an instance of that workflow version while
 *   it was in that state (`stateBefore`): a client's event, a message, an emitted command's
 *   reply (unless its `CommandCompleted` says the state did not accept it), the event a fired timer
 *   delivered, an invoked command's done or error event;
 * - for each waiting instance, the events of its pending timers and the done events of its
 *   invoked commands still in flight.
 *
 * An event type a state would accept but no instance ever received there is not known. Feed each
 * stream's events in revision order (the global order does); streams may interleave.
 */
export class WaitingInstancesCollector {
  private readonly instances = new Map<string, InstanceFold & { workflow: string }>();
  private readonly acceptedBefore = new Map<string, Set<string>>();
  private eventsRead = 0;

  /** Folds one event; events of streams that are not an instance's are ignored. */
  add(event: GateEvent): void {
    const metadata = instanceMetadataOf(event);
    if (!metadata) return;
    this.eventsRead++;
    let fold = this.instances.get(event.streamName);
    if (fold && event.revision <= fold.revision)
      throw new EsflowError(
        ErrorCode.InvalidConfiguration,
        `the events of ${event.streamName} are not in revision order: revision ${event.revision} after ${fold.revision}`,
      );
    if (!fold) {
      fold = {
        workflow: metadata.workflow,
        version: metadata.definitionVersion,
        state: metadata.stateAfter,
        status: metadata.statusAfter,
        revision: event.revision,
        timers: new Map(),
        commands: NO_COMMANDS,
      };
      this.instances.set(event.streamName, fold);
    }
    const payload = event.payload;
    if (fold.held) {
      const completed = payload as Partial<CommandCompletedPayload> | undefined;
      const refused =
        event.type === FrameworkEvent.CommandCompleted &&
        completed?.replyAccepted === false &&
        completed.replyType === fold.held.type;
      if (!refused) this.note(fold.held.key, fold.held.type);
      delete fold.held;
    }
    if (event.revision > 0) {
      const key = groupKey(metadata.workflow, metadata.definitionVersion, metadata.stateBefore);
      if (metadata.category === EventCategory.Workflow) fold.held = { key, type: event.type };
      else if (payload && event.type === FrameworkEvent.TimerFired)
        this.note(key, String(payload['eventType']));
      else if (payload) {
        const delivered = commandOutcomeEvent(fold.commands, event.type, payload);
        if (delivered) this.note(key, delivered.type);
      }
    }
    if (payload) {
      const fact = { eventId: event.eventId, type: event.type, payload };
      fold.timers = nextPendingTimers(fold.timers, [fact]);
      fold.commands = nextCommandBook(fold.commands, [{ ...fact, revision: event.revision }]);
    }
    fold.version = metadata.definitionVersion;
    fold.state = metadata.stateAfter;
    fold.status = metadata.statusAfter;
    fold.revision = event.revision;
  }

  /** Instance events folded so far. */
  get events(): number {
    return this.eventsRead;
  }

  /** Instances seen so far, running or not. */
  get instanceCount(): number {
    return this.instances.size;
  }

  /** The running instances, by workflow, version and state, with what they may still receive. */
  waitingGroups(): WaitingGroup[] {
    for (const fold of this.instances.values())
      if (fold.held) {
        this.note(fold.held.key, fold.held.type);
        delete fold.held;
      }
    const groups = new Map<
      string,
      {
        workflow: string;
        version: number;
        state: unknown;
        instances: number;
        receive: Map<string, { instances: number; reasons: Set<ReceiveReason> }>;
      }
    >();
    for (const fold of this.instances.values()) {
      if (fold.status !== InstanceStatus.Running) continue;
      const key = groupKey(fold.workflow, fold.version, fold.state);
      let group = groups.get(key);
      if (!group) {
        group = {
          workflow: fold.workflow,
          version: fold.version,
          state: fold.state,
          instances: 0,
          receive: new Map(),
        };
        groups.set(key, group);
      }
      group.instances++;
      const reasons = new Map<string, Set<ReceiveReason>>();
      const owe = (type: string, reason: ReceiveReason) => {
        const set = reasons.get(type) ?? new Set<ReceiveReason>();
        set.add(reason);
        reasons.set(type, set);
      };
      for (const type of this.acceptedBefore.get(key) ?? [])
        owe(type, ReceiveReason.AcceptedBefore);
      for (const timer of fold.timers.values()) owe(timer.eventType, ReceiveReason.PendingTimer);
      for (const command of fold.commands.inFlight.values())
        if (command.invokeId !== null)
          owe(`xstate.done.actor.${command.invokeId}`, ReceiveReason.InvokedCommand);
      for (const [type, why] of reasons) {
        const entry = group.receive.get(type) ?? { instances: 0, reasons: new Set() };
        entry.instances++;
        for (const reason of why) entry.reasons.add(reason);
        group.receive.set(type, entry);
      }
    }
    return [...groups.values()]
      .map((group) => ({
        workflow: group.workflow,
        version: group.version,
        state: group.state,
        instances: group.instances,
        mayReceive: [...group.receive.entries()]
          .map(([type, entry]) => ({
            type,
            instances: entry.instances,
            reasons: [...entry.reasons].sort(),
          }))
          .sort((a, b) => a.type.localeCompare(b.type)),
      }))
      .sort(
        (a, b) =>
          a.workflow.localeCompare(b.workflow) ||
          a.version - b.version ||
          stateKeyOf(a.state).localeCompare(stateKeyOf(b.state)),
      );
  }

  private note(key: string, type: string): void {
    const types = this.acceptedBefore.get(key) ?? new Set<string>();
    types.add(type);
    this.acceptedBefore.set(key, types);
  }
}
