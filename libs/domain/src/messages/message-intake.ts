import { Result } from '../errors/rejection';
import { MessageStatus } from './message-index.port';
import { EventTraceContext } from '../workflow/event-metadata';

/** Where a message came from, recorded with it. */
export type MessageSource =
  | { readonly kind: 'rest' }
  | {
      readonly kind: 'kafka';
      readonly topic: string;
      readonly partition: number;
      readonly offset: string;
      /** The source event's type (its Avro record name or type header). */
      readonly sourceEventType: string;
    };

/**
 * A message from another service: `name` is a message a workflow declares, `correlationKey` the
 * value matched against the key its instances declare (for a start message: the new instance's
 * id), `messageId` the sender's id (a repeated id is a duplicate, forever), `payload` the fields
 * of the event it becomes (validated against that event's schema).
 */
export interface IncomingMessage {
  readonly name: string;
  readonly correlationKey: string;
  readonly messageId: string;
  readonly payload: unknown;
  /** How long it may wait in the buffer; the message definition's default otherwise. */
  readonly ttlSeconds?: number;
  readonly source: MessageSource;
  /**
   * The sender's W3C trace context (its request span's): recorded on the events a delivery or
   * start appends at once. A message delivered later, from the buffer, carries none.
   */
  readonly traceContext?: EventTraceContext;
  /** Who sent it (the REST API's principal), recorded as the `actor` of what it appends at once. */
  readonly actor?: string;
}

/**
 * What became of a message, as `POST /messages` answers it. `outcome` is one of `delivered`,
 * `started`, `buffered`, `duplicate`, `late`, `quarantined`; for a `duplicate`, `firstOutcome`
 * is what the first message with this id came to (as it is now: a buffered one may since have been
 * delivered).
 */
export interface MessageOutcome {
  readonly outcome: MessageOutcomeKind;
  readonly messageId: string;
  readonly name: string;
  readonly workflow: string;
  readonly correlationKey: string;
  /** Delivered, started, late: the instance; duplicate: the first outcome's instance, if any. */
  readonly instanceId?: string;
  /** Delivered (and a late event delivered): the instance's revision after it. */
  readonly revision?: number;
  /** Quarantined: the reason code. */
  readonly reason?: string;
  /** Words for operators: why, and what was found. */
  readonly detail?: string;
  /** Buffered: when it will be quarantined unless delivered first. */
  readonly expiresAt?: string;
  /** Duplicate: what the first message with this id came to. */
  readonly firstOutcome?: MessageStatus;
}

/** The outcomes a received message can have. */
export const MessageOutcomeKind = {
  Delivered: 'delivered',
  Started: 'started',
  Buffered: 'buffered',
  Duplicate: 'duplicate',
  Late: 'late',
  Quarantined: 'quarantined',
  /** Only an operator's discard answers this. */
  Discarded: 'discarded',
} as const;
export type MessageOutcomeKind = (typeof MessageOutcomeKind)[keyof typeof MessageOutcomeKind];

/**
 * A message whose payload could not be read or failed its schema, from a source that cannot be
 * told (Kafka): it is quarantined as `INVALID_PAYLOAD`, with what was wrong, instead of blocking
 * its source. `name` may be unknown; `rawPayload` is kept as text for the operator.
 */
export interface UnreadableMessage {
  readonly name: string;
  readonly correlationKey: string;
  readonly messageId: string;
  readonly rawPayload: string;
  readonly problem: string;
  readonly source: MessageSource;
}

/**
 * Where messages enter esflow: the REST API and the inbound Kafka consumer both call it. Every
 * outcome it answers is durable when the promise resolves (so a consumer may commit its offset
 * then), and a message with an id it has seen is answered `duplicate` without a second effect.
 */
export interface MessageIntake {
  /**
   * Correlates one message and records its outcome. A bad message (unknown name, invalid ids, a
   * payload that fails the event's schema, a ttl that is not a positive whole number of seconds)
   * is a rejection, with nothing written: REST answers it 400, Kafka quarantines it through
   * {@link MessageIntake.quarantineUnreadable}.
   */
  receive(message: IncomingMessage): Promise<Result<MessageOutcome>>;
  /** Quarantines a message that cannot be read (`INVALID_PAYLOAD`); a known id is a duplicate. */
  quarantineUnreadable(message: UnreadableMessage): Promise<MessageOutcome>;
}

/**
 * A declared mapping from events on another service's Kafka topic to a workflow message, in the
 * spirit of an event-to-process mapping contract: records of `topic` whose source event type is
 * `sourceEventType` become message `message`, keyed and filled from paths into the decoded value
 * (dot-separated field names, e.g. `order.id`).
 */
export interface InboundMessageMapping {
  readonly topic: string;
  /**
   * The source event type: the record's Avro record name (full `com.acme.PaymentCaptured` or
   * short `PaymentCaptured`), or the value of header `typeHeader` when one is named.
   */
  readonly sourceEventType: string;
  /** A header that names the source event type; the Avro record name is used without one. */
  readonly typeHeader?: string;
  /** The workflow message it becomes. */
  readonly message: string;
  /** Where the correlation key is (for a start message: the business key). */
  readonly correlationKeyPath: string;
  /**
   * Where the source event's id is: the message id, and what the inbox drops redelivered
   * records by. A header name (`header:<name>`) or a path into the value.
   */
  readonly sourceEventId: string;
  /** The message payload's fields, each from a path into the value: `{ paymentId: 'payment.id' }`. */
  readonly payload: Readonly<Record<string, string>>;
  /** The buffer time-to-live of these messages; the message definition's otherwise. */
  readonly ttlSeconds?: number;
}
