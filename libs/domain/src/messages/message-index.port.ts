import { GlobalPosition } from '../event-store/event-store.port';

/**
 * Where a message from another service is in its life, as the message index knows it:
 * - `buffered`: no instance accepts it yet (it waits for one, or none exists yet); it is delivered,
 *   in arrival order, when one reaches a state that accepts it, and quarantined when its
 *   `expiresAt` passes first;
 * - `delivered`: it became an event of instance `instanceId` at `revision`;
 * - `started`: it started instance `instanceId`;
 * - `duplicate`: a start message whose business key had already started an instance (another
 *   message id); never a second instance;
 * - `late`: the instance had moved past every state that accepts it; the workflow's late policy
 *   recorded and ignored it (or delivered its declared late event, `revision` set);
 * - `quarantined`: set aside with a `reason` (see {@link QuarantineReason}) until an operator
 *   retries or discards it;
 * - `discarded`: an operator discarded it, with a reason; final.
 */
export const MessageStatus = {
  Buffered: 'buffered',
  Delivered: 'delivered',
  Started: 'started',
  Duplicate: 'duplicate',
  Late: 'late',
  Quarantined: 'quarantined',
  Discarded: 'discarded',
} as const;
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

/** Every {@link MessageStatus}, e.g. to check a query parameter. */
export const MESSAGE_STATUSES: readonly MessageStatus[] = Object.values(MessageStatus);

/** Why a message was quarantined. Stable: operators and runbooks key on them. */
export const QuarantineReason = {
  /** Still unmatched when its time-to-live ran out. */
  NoMatchingInstance: 'NO_MATCHING_INSTANCE',
  /** More than one instance accepted it; it was delivered to none. */
  AmbiguousCorrelation: 'AMBIGUOUS_CORRELATION',
  /** It came from a source that cannot be answered (Kafka) and failed its schema or decoding. */
  InvalidPayload: 'INVALID_PAYLOAD',
  /** It came late and the workflow's late policy is `quarantine`. */
  LateMessage: 'LATE_MESSAGE',
  /** Its name is no longer declared by any workflow (a definition change dropped it). */
  UnknownMessage: 'UNKNOWN_MESSAGE',
  /** The one instance that accepted it refused the delivery (e.g. it would outgrow its size limit). */
  DeliveryRefused: 'DELIVERY_REFUSED',
} as const;
export type QuarantineReason = (typeof QuarantineReason)[keyof typeof QuarantineReason];

/** One message as the message index knows it. Times are ISO-8601 instants in UTC. */
export interface IndexedMessage {
  /** The sender's id: unique forever; a message with a known id is a duplicate. */
  readonly messageId: string;
  readonly name: string;
  /** The workflow its name belonged to when it arrived (empty when the name was unknown). */
  readonly workflow: string;
  /** The instance key it is matched against (`orderId`); empty for a start message. */
  readonly keyName: string;
  readonly correlationKey: string;
  readonly status: MessageStatus;
  /** Quarantined: the {@link QuarantineReason}; null otherwise. */
  readonly reason: string | null;
  /** Words for operators: what happened at the last attempt (null when there is nothing to say). */
  readonly detail: string | null;
  /** The instance it was delivered to, started, or found too late; null otherwise. */
  readonly instanceId: string | null;
  /** The instance's revision after the delivery; null when nothing was delivered. */
  readonly revision: number | null;
  /** Where it came from: `rest` or `kafka`. */
  readonly source: string;
  readonly receivedAt: string;
  /** Buffered: when it is quarantined unless delivered first; null for other statuses. */
  readonly expiresAt: string | null;
  /** When its status last changed. */
  readonly updatedAt: string;
  /** How many correlation attempts were recorded (the first one included). */
  readonly attempts: number;
}

/**
 * A change to the index derived from one recorded event (applied by the message correlator):
 * - `recorded`: a message and its first outcome (from `MessageReceived` and its first
 *   `MessageCorrelated`, or from an instance event a message became directly);
 * - `outcome`: a later attempt's outcome (`MessageCorrelated`), or an operator's discard;
 * - `instanceKeys`: the correlation keys an instance declares, as recorded with its event.
 */
export type MessageIndexChange =
  | { readonly kind: 'recorded'; readonly message: IndexedMessage }
  | {
      readonly kind: 'outcome';
      readonly messageId: string;
      readonly status: MessageStatus;
      readonly reason: string | null;
      readonly detail: string | null;
      readonly instanceId: string | null;
      readonly revision: number | null;
      readonly expiresAt: string | null;
      readonly at: string;
    }
  | {
      readonly kind: 'instanceKeys';
      readonly workflow: string;
      readonly instanceId: string;
      /** Key name → value; replaces the instance's earlier keys. */
      readonly keys: Readonly<Record<string, string>>;
    };

/** What {@link MessageIndex.list} selects; every field narrows the result. */
export interface MessageQuery {
  readonly status?: MessageStatus;
  readonly name?: string;
  readonly correlationKey?: string;
  readonly workflow?: string;
  readonly instanceId?: string;
  /** The `next` of the previous page. */
  readonly after?: string;
  readonly limit: number;
}

/** A page of {@link MessageIndex.list}, in arrival order (the order the index learnt of them). */
export interface MessagePage {
  readonly messages: readonly IndexedMessage[];
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
}

/**
 * The index of messages and of the correlation keys instances declare, kept beside the read
 * model by the message correlator: filled from the log (message streams and the instance events
 * that carry keys or a delivered message), read by the api to correlate and to answer operators.
 * The log stays the source of truth: the index can be cleared and rebuilt from it, and buffered
 * and quarantined messages come back with it.
 */
export interface MessageIndex {
  /**
   * Applies `changes` in order and records `checkpoint`, atomically. `recorded` for a message
   * already indexed leaves it as it is (the first record wins); `outcome` for an unknown message
   * is ignored, for a `discarded` one too (discarding is final), and otherwise sets its status,
   * reason, detail, instance, revision, expiry and `updatedAt`, and adds one to `attempts`
   * (but not for `discarded`); `instanceKeys` replaces the instance's keys (an empty record
   * removes them). A change that cannot be stored (an instant that is not ISO-8601 with its zone,
   * an unknown status) fails the whole call with an INTERNAL error, changing nothing.
   */
  apply(changes: readonly MessageIndexChange[], checkpoint: GlobalPosition): Promise<void>;
  /** The position of the last event applied, undefined before the first. */
  checkpoint(): Promise<GlobalPosition | undefined>;
  /** The message as the index knows it now, undefined for an unknown id. */
  get(messageId: string): Promise<IndexedMessage | undefined>;
  /** Messages in arrival order, filtered by `query`, one page at a time (`limit` of 1 or more). */
  list(query: MessageQuery): Promise<MessagePage>;
  /**
   * The instances of `workflow` that declare key `keyName` with value `value`, in the order the
   * index learnt of them; at most `limit`.
   */
  instancesByKey(
    workflow: string,
    keyName: string,
    value: string,
    limit: number,
  ): Promise<string[]>;
  /**
   * Buffered messages whose workflow is the instance's and whose (key name, correlation key) is one
   * of the keys the instance declares, in arrival order; at most `limit`.
   */
  bufferedFor(workflow: string, instanceId: string, limit: number): Promise<IndexedMessage[]>;
  /** Buffered messages whose `expiresAt` is at or before `now`, in arrival order; at most `limit`. */
  expired(now: Date, limit: number): Promise<IndexedMessage[]>;
  /** The earliest `expiresAt` of a buffered message, undefined when none is buffered. */
  nextExpiry(): Promise<Date | undefined>;
  /** How many messages there are in each status. */
  counts(): Promise<Record<MessageStatus, number>>;
  /** The `receivedAt` of the oldest buffered message, undefined when none is buffered. */
  oldestBuffered(): Promise<Date | undefined>;
  /** Removes every message, every instance key and the checkpoint: then rebuilt from the log. */
  clear(): Promise<void>;
  /** Releases what the index holds (connections). */
  close?(): Promise<void>;
}
