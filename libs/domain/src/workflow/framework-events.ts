/**
 * Facts the engine itself records in an instance's stream, beside the workflow's own events.
 * They have Avro schemas of their own (`schemas/framework` of @esflow/core) in this namespace.
 */
export const FRAMEWORK_NAMESPACE = 'esflow.framework';

/**
 * The types of the engine's own facts. Each is recorded in the same atomic append as the event that
 * caused it: a fact is never stored without its cause, nor its cause without it.
 */
export const FrameworkEvent = {
  /** A command the machine emitted, recorded in the same append as its cause (the outbox). */
  CommandDispatched: 'CommandDispatched',
  /** The instance reached a final state. */
  WorkflowCompleted: 'WorkflowCompleted',
} as const;
export type FrameworkEvent = (typeof FrameworkEvent)[keyof typeof FrameworkEvent];

/** Every {@link FrameworkEvent} type, e.g. for an event-type filter. */
export const FRAMEWORK_EVENT_TYPES: readonly string[] = Object.values(FrameworkEvent);

/**
 * Payload of a `CommandDispatched` fact. `commandId` is derived from the causing event's id, so it
 * is the same however often the command is delivered and receivers can deduplicate on it.
 */
export interface CommandDispatchedPayload {
  readonly commandId: string;
  readonly commandType: string;
  /** The command's fields as JSON, validated against the command's own schema. */
  readonly payloadJson: string;
}

/**
 * Payload of a `WorkflowCompleted` fact: the final {@link InstanceStatus} and the final state value
 * as JSON.
 */
export interface WorkflowCompletedPayload {
  readonly status: string;
  /** The final state value as JSON. */
  readonly finalStateJson: string;
}
