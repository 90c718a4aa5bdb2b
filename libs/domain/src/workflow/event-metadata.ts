/** Where a recorded event came from: a client/message (input to the machine) or the engine. */
export const EventCategory = { Workflow: 'workflow', Framework: 'framework' } as const;
export type EventCategory = (typeof EventCategory)[keyof typeof EventCategory];

/**
 * The registered schema an event's payload was written with: registry subject, version and schema
 * id (the id is also in the payload's Confluent header).
 */
export interface SchemaReference {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
}

/**
 * An instance's lifecycle status, recorded after every transition (`statusAfter`): `running` until
 * the machine reaches a final state, then `completed`, or `cancelled`/`failed` when the final state
 * declares `meta: { status }`; `failed` also when the machine errors; `terminated` when an operator
 * ended it first.
 */
export const InstanceStatus = {
  Running: 'running',
  Completed: 'completed',
  Cancelled: 'cancelled',
  Failed: 'failed',
  /** An operator ended the instance before it reached a final state (`InstanceTerminated`). */
  Terminated: 'terminated',
} as const;
export type InstanceStatus = (typeof InstanceStatus)[keyof typeof InstanceStatus];

/** The JSON metadata esflow stores beside every event's Avro data. */
export interface EsflowEventMetadata {
  readonly eventId: string;
  readonly category: EventCategory;
  readonly workflow: string;
  readonly instanceId: string;
  readonly definitionVersion: number;
  readonly correlationId: string;
  readonly causationId: string;
  readonly idempotencyKey?: string;
  /** With an idempotency key: the fingerprint of the request (operation and body). */
  readonly requestFingerprint?: string;
  readonly schema: SchemaReference;
  /** State value before and after the transition this event belongs to. */
  readonly stateBefore: unknown;
  readonly stateAfter: unknown;
  readonly statusAfter: InstanceStatus;
  readonly occurredAt: string;
  /**
   * On a start event of a workflow that declares correlation keys: the keys the new instance
   * declares (key name → value), read from its context after the start.
   */
  readonly correlationKeys?: Readonly<Record<string, string>>;
  /** On an event a message from another service became (delivered or started): which one. */
  readonly message?: MessageReference;
  /**
   * Who made the request that recorded this event, when a person or a key did (the REST API
   * records its principal's id on every event of the append): an audit names them.
   */
  readonly actor?: string;
  /**
   * The W3C trace context of the request that recorded this event, when the caller gave one
   * (tracing on): carried as given, never read by the engine, so that whoever handles the event
   * later (a projection, the Kafka bridge) can continue that request's trace.
   */
  readonly traceContext?: EventTraceContext;
}

/**
 * A W3C trace context (https://www.w3.org/TR/trace-context/) as opaque strings: the
 * `traceparent` and, when there is one, the `tracestate` header values. esflow records it on the
 * events of the append it was given to, unchanged and unvalidated.
 */
export interface EventTraceContext {
  readonly traceparent: string;
  readonly tracestate?: string;
}

/**
 * The message an event came from: its id and name, and the instance's revision after the append
 * it was recorded in (the event's own facts included), which is what the delivery answered.
 */
export interface MessageReference {
  readonly id: string;
  readonly name: string;
  /** The key value the message was correlated by (for a start message: the instance id). */
  readonly correlationKey: string;
  /** Where it came from: `rest` or `kafka`. */
  readonly source: string;
  readonly revisionAfter: number;
}

/**
 * Views a recorded event's metadata as {@link EsflowEventMetadata}. A type assertion, not a
 * validation: use it on events esflow recorded.
 */
export function readEsflowMetadata(
  metadata: Readonly<Record<string, unknown>>,
): EsflowEventMetadata {
  return metadata as unknown as EsflowEventMetadata;
}
