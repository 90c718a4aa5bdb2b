import { InstanceStatus } from '../workflow/event-metadata';
import { machineEvent, statusOf } from '../workflow/instance-state';
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
  /** It is running and some state it can still reach has a transition for the probe event. */
  readonly mayAcceptLater: boolean;
  /** This message (by id) was already delivered to it: the revision its delivery reached. */
  readonly deliveredAt?: number;
}

/** The idempotency key under which a message is delivered: its event id derives from it. */
export function messageIdempotencyKey(messageId: string): string {
  return `message:${messageId}`;
}

/**
 * Read-only looks at instances for message correlation, from the engine's instance repository
 * (cached instances brought up to date with their stream, so the answer is as current as the
 * store): what the correlator decides on before it delivers through the ordinary send.
 */
export class MessageTargets {
  constructor(private readonly engine: EngineContext) {}

  /**
   * The instance `id` of `workflow` as a target of message `messageId` becoming event
   * `eventType` with `payload`; undefined when the instance does not exist.
   */
  async inspect(
    workflow: string,
    id: string,
    probe: { readonly messageId: string; readonly eventType: string; readonly payload: unknown },
  ): Promise<MessageTarget | undefined> {
    const { instances, ids } = this.engine;
    const state = await instances.load(workflow, id);
    if (!state) return undefined;
    const { snapshot, definition } = state;
    const eventId = ids.deterministic(
      `${streamNameOf(workflow, id)}/${messageIdempotencyKey(probe.messageId)}`,
    );
    const deliveredAt = state.requestRevisions.get(eventId);
    const payload = (probe.payload ?? {}) as Record<string, unknown>;
    return {
      workflow,
      instanceId: id,
      status: statusOf(snapshot),
      state: snapshot.value,
      keys: correlationKeysOf(definition, snapshot.context),
      acceptsNow:
        snapshot.status === 'active' &&
        definition.inputEvents.includes(probe.eventType) &&
        snapshot.can(machineEvent(probe.eventType, payload)),
      mayAcceptLater: canStillAccept(snapshot, probe.eventType),
      ...(deliveredAt === undefined ? {} : { deliveredAt }),
    };
  }
}
