/** Where a recorded event came from: a client/message (input to the machine) or the engine. */
export const EventCategory = { Workflow: 'workflow', Framework: 'framework' } as const;
export type EventCategory = (typeof EventCategory)[keyof typeof EventCategory];

export interface SchemaReference {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
}

export const InstanceStatus = {
  Running: 'running',
  Completed: 'completed',
  Cancelled: 'cancelled',
  Failed: 'failed',
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
  readonly schema: SchemaReference;
  /** State value before and after the transition this event belongs to. */
  readonly stateBefore: unknown;
  readonly stateAfter: unknown;
  readonly statusAfter: InstanceStatus;
  readonly occurredAt: string;
}

export function readEsflowMetadata(
  metadata: Readonly<Record<string, unknown>>,
): EsflowEventMetadata {
  return metadata as unknown as EsflowEventMetadata;
}
