/**
 * Facts the engine itself records in an instance's stream, beside the workflow's own events.
 * They have Avro schemas of their own (`schemas/framework` of @esflow/core) in this namespace.
 */
export const FRAMEWORK_NAMESPACE = 'esflow.framework';

export const FrameworkEvent = {
  /** A command the machine emitted, recorded in the same append as its cause (the outbox). */
  CommandDispatched: 'CommandDispatched',
  /** The instance reached a final state. */
  WorkflowCompleted: 'WorkflowCompleted',
} as const;
export type FrameworkEvent = (typeof FrameworkEvent)[keyof typeof FrameworkEvent];

export const FRAMEWORK_EVENT_TYPES: readonly string[] = Object.values(FrameworkEvent);

export interface CommandDispatchedPayload {
  readonly commandId: string;
  readonly commandType: string;
  /** The command's fields as JSON, validated against the command's own schema. */
  readonly payloadJson: string;
}

export interface WorkflowCompletedPayload {
  readonly status: string;
  /** The final state value as JSON. */
  readonly finalStateJson: string;
}
