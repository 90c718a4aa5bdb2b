import { InstanceStatus } from '../workflow/event-metadata';
import { instanceStatusOf, machineEvent } from '../workflow/instance-state';
import { canStillAccept } from '../workflow/state-reachability';
import { correlationKeysOf, streamNameOf } from '../workflow/workflow-definition';
import { EngineContext } from './engine-context';

/** An instance as message correlation sees it: its keys, and whether it takes a message now or later. */
export interface MessageTarget {
  readonly workflow: string;
  readonly instanceId: string;
  readonly status: InstanceStatus;
  readonly state: unknown;
  /** The correlation keys its definition declares, read from its context now. */
  readonly keys: Readonly<Record<string, string>>;
  /** Its current state accepts the probe event (guards evaluated with the payload). */
  readonly acceptsNow: boolean;
  /**
   * Whether it is running and some state it can still reach has a transition for the probe
   * event: a walk of the machine's state graph, so only computed when asked (and then once).
   */
  mayAcceptLater(): boolean;
  /** This message (by id) was already delivered to it: the revision its delivery reached. */
  readonly deliveredAt?: number;
}

/** The idempotency key under which a message is delivered: its event id derives from it. */
export function messageIdempotencyKey(messageId: string): string {
  return `message:${messageId}`;
}

/**
 * Read-only looks at instances for message correlation: as their streams are now (`fresh`, the
 * default), or as this process last knew them (`fresh: false`: the cached instance, possibly
 * behind its stream, for a first look whose one choice — deliver to this instance — the send then
 * decides on the stream).
 */
export class MessageTargets {
  constructor(private readonly engine: EngineContext) {}

  /**
   * The instance `id` of `workflow` as a target of message `messageId` becoming event
   * `eventType` with `payload`; undefined when the instance does not exist (or, not fresh, when
   * this process has never seen it and its stream has no event).
   */
  async inspect(
    workflow: string,
    id: string,
    probe: {
      readonly messageId: string;
      readonly eventType: string;
      readonly payload: unknown;
      /** Read the stream (default); false: the cached instance when there is one. */
      readonly fresh?: boolean;
    },
  ): Promise<MessageTarget | undefined> {
    const { instances, ids } = this.engine;
    const state =
      probe.fresh === false
        ? await instances.peek(workflow, id)
        : await instances.load(workflow, id);
    if (!state) return undefined;
    const { snapshot, definition } = state;
    const eventId = ids.deterministic(
      `${streamNameOf(workflow, id)}/${messageIdempotencyKey(probe.messageId)}`,
    );
    const deliveredAt = state.requestRevisions.get(eventId);
    const payload = (probe.payload ?? {}) as Record<string, unknown>;
    let later: boolean | undefined;
    return {
      workflow,
      instanceId: id,
      status: instanceStatusOf(state),
      state: snapshot.value,
      keys: correlationKeysOf(definition, snapshot.context),
      acceptsNow:
        !state.terminated &&
        snapshot.status === 'active' &&
        definition.inputEvents.includes(probe.eventType) &&
        snapshot.can(machineEvent(probe.eventType, payload)),
      mayAcceptLater: () =>
        (later ??= !state.terminated && canStillAccept(snapshot, probe.eventType)),
      ...(deliveredAt === undefined ? {} : { deliveredAt }),
    };
  }
}
