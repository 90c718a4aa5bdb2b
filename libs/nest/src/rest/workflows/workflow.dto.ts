import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { STATE_VALUE_OR_NULL_SCHEMA, STATE_VALUE_SCHEMA } from '../openapi/state-value';

/** OpenAPI shapes of the REST contract v1; validation itself is done from the Avro schemas. */

const ID_PATTERN = '^[A-Za-z0-9._:-]{1,200}$';
const INSTANCE_STATUSES = ['running', 'completed', 'cancelled', 'failed', 'terminated'];

export class StartWorkflowBody {
  @ApiPropertyOptional({
    description:
      'Instance id (1–200 of `[A-Za-z0-9._:-]`, not `.` or `..`); defaults to the business key (orderId), else one derived from the Idempotency-Key, else a new UUID',
    pattern: ID_PATTERN,
    example: 'order-1001',
  })
  id?: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      "Payload of the workflow's start event (orderFulfillment: OrderPlaced), validated against its Avro schema",
    example: {
      orderId: 'order-1001',
      customerId: 'c-7',
      amountCents: 4999,
      currency: 'EUR',
      items: [{ sku: 'SKU-1', quantity: 2 }],
    },
  })
  input!: Record<string, unknown>;
}

export class SendEventBody {
  @ApiProperty({
    description: 'Event type (PascalCase, past tense)',
    minLength: 1,
    example: 'PaymentReceived',
  })
  type!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: "Event payload, validated against the event's Avro schema",
    example: { paymentId: 'pay-1', amountCents: 4999 },
  })
  payload!: Record<string, unknown>;
}

export class TerminateInstanceBody {
  @ApiProperty({
    description:
      "Why the instance is terminated, in the operator's words: recorded in its `InstanceTerminated` fact with who did it",
    minLength: 1,
    maxLength: 2000,
    example: 'customer asked by phone to drop the order',
  })
  reason!: string;
}

export class InstanceResponse {
  @ApiProperty({ example: 'orderFulfillment' }) workflow!: string;
  @ApiProperty({ example: 'order-1001' }) id!: string;
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'Definition version the instance is pinned to',
    example: 1,
  })
  version!: number;
  @ApiProperty(STATE_VALUE_SCHEMA)
  state!: unknown;
  @ApiProperty({ enum: INSTANCE_STATUSES, example: 'running' }) status!: string;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Revision of the last event; also the ETag',
    example: 0,
  })
  revision!: number;
}

/** An instance as a write answers it: its summary and its pending timers. */
export class WrittenInstanceResponse extends InstanceResponse {
  @ApiProperty({
    type: () => [PendingTimerResponse],
    description:
      'Timers scheduled by the states the instance is in (XState `after`, delayed `raise`) that have neither fired nor been cancelled, earliest first',
  })
  pendingTimers!: readonly PendingTimerResponse[];
}

export class InFlightCommandResponse {
  @ApiProperty({ description: 'Deterministic: receivers deduplicate by it' }) commandId!: string;
  @ApiProperty({ example: 'RefundPayment' }) commandType!: string;
  @ApiProperty({ type: String, nullable: true, description: 'Its open incident, if any' })
  incidentId!: string | null;
}

export class IncidentResponse {
  @ApiProperty() incidentId!: string;
  @ApiProperty() commandId!: string;
  @ApiProperty({ example: 'RefundPayment' }) commandType!: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'How many attempts failed' })
  attempts!: number;
  @ApiProperty({ description: "The last attempt's error" }) error!: string;
}

export class InstanceDetailResponse extends WrittenInstanceResponse {
  @ApiProperty({
    type: () => [InFlightCommandResponse],
    description: 'Commands the instance dispatched that are not completed yet, oldest first',
  })
  inFlightCommands!: readonly InFlightCommandResponse[];
  @ApiProperty({
    type: () => [IncidentResponse],
    description: 'Commands that failed for good and wait for an operator',
  })
  incidents!: readonly IncidentResponse[];
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Machine context' })
  context!: unknown;
  @ApiProperty({
    type: [String],
    description: 'The events the current state accepts (guards are not evaluated)',
    example: ['PaymentReceived', 'PaymentFailed', 'OrderCancelled'],
  })
  acceptedEvents!: readonly string[];
}

export class PendingTimerResponse {
  @ApiProperty({ description: 'Deterministic; distinct for every visit of a state' })
  timerId!: string;
  @ApiProperty({
    description: 'The machine event it delivers',
    example: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
  })
  eventType!: string;
  @ApiProperty({ format: 'date-time', description: 'When it falls due (UTC)' })
  dueAt!: string;
}

export class SchemaReferenceResponse {
  @ApiProperty({ example: 'esflow.orderFulfillment.PaymentReceived' }) subject!: string;
  @ApiProperty({ type: 'integer', minimum: 1 }) version!: number;
  @ApiProperty({ type: 'integer', description: 'Registry schema id' }) id!: number;
}

/** The message an event came from, in its metadata. */
export class MessageReferenceResponse {
  @ApiProperty({ description: "The sender's message id" }) id!: string;
  @ApiProperty({ example: 'PaymentReceived' }) name!: string;
  @ApiProperty({ description: 'The key it was correlated by (a start message: the instance id)' })
  correlationKey!: string;
  @ApiProperty({ example: 'kafka', description: 'Where it came from: rest or kafka' })
  source!: string;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: "The instance's revision after the append the message was recorded in",
  })
  revisionAfter!: number;
}

export class EventMetadataResponse {
  @ApiProperty({ format: 'uuid' }) eventId!: string;
  @ApiProperty({
    enum: ['workflow', 'framework'],
    description: "`workflow`: an input to the machine; `framework`: the engine's own",
  })
  category!: string;
  @ApiProperty() workflow!: string;
  @ApiProperty() instanceId!: string;
  @ApiProperty({ type: 'integer', minimum: 1 }) definitionVersion!: number;
  @ApiProperty() correlationId!: string;
  @ApiProperty() causationId!: string;
  @ApiPropertyOptional() idempotencyKey?: string;
  @ApiPropertyOptional({
    description: 'With an idempotency key: the fingerprint of the request',
  })
  requestFingerprint?: string;
  @ApiProperty({ type: SchemaReferenceResponse }) schema!: SchemaReferenceResponse;
  @ApiProperty({ ...STATE_VALUE_OR_NULL_SCHEMA, description: 'State before (null at the start)' })
  stateBefore!: unknown;
  @ApiProperty(STATE_VALUE_SCHEMA) stateAfter!: unknown;
  @ApiProperty({ enum: INSTANCE_STATUSES }) statusAfter!: string;
  @ApiProperty({ format: 'date-time' }) occurredAt!: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description:
      'On a start event: the correlation keys the new instance declares (key name → value)',
    example: { orderId: 'order-1001', customerId: 'c-7' },
  })
  correlationKeys?: Record<string, string>;
  @ApiPropertyOptional({
    type: MessageReferenceResponse,
    description: 'On an event a message from another service became: which message',
  })
  message?: MessageReferenceResponse;
  @ApiPropertyOptional({
    description:
      "Who made the request that recorded the event (the principal's id: a JWT's `sub`, an API key's name, `anonymous` with access control off); absent on events the engine recorded by itself (timers, commands)",
    example: 'anonymous',
  })
  actor?: string;
}

export class HistoryEntryResponse {
  @ApiProperty({ type: 'integer', minimum: 0 }) revision!: number;
  @ApiProperty({ example: 'PaymentReceived' }) type!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Payload decoded with the current schema',
  })
  data!: Readonly<Record<string, unknown>>;
  @ApiProperty({
    type: EventMetadataResponse,
    description: 'esflow metadata: ids, schema, states, definition version',
  })
  metadata!: Readonly<Record<string, unknown>>;
  @ApiProperty({ format: 'date-time' }) recordedAt!: string;
}

export class HistoryResponse {
  @ApiProperty({ type: [HistoryEntryResponse] }) events!: readonly HistoryEntryResponse[];
}

export class InstanceSummaryResponse extends InstanceResponse {
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class InstancePageResponse {
  @ApiProperty({ type: [InstanceSummaryResponse] }) items!: readonly InstanceSummaryResponse[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Cursor for the next page (pass as `after`); null on the last page',
  })
  next!: string | null;
}
