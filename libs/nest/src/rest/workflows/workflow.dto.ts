import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** OpenAPI shapes of the REST contract v1; validation itself is done from the Avro schemas. */
export class StartWorkflowBody {
  @ApiPropertyOptional({
    description: 'Instance id; defaults to the business key (orderId) or a new UUID',
    example: 'order-1001',
  })
  id?: string;
  @ApiProperty({
    description: "Payload of the workflow's start event (orderFulfillment: OrderPlaced)",
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
  @ApiProperty({ description: 'Event type (PascalCase, past tense)', example: 'PaymentReceived' })
  type!: string;
  @ApiProperty({
    description: "Event payload, validated against the event's Avro schema",
    example: { paymentId: 'pay-1', amountCents: 4999 },
  })
  payload!: Record<string, unknown>;
}

export class InstanceResponse {
  @ApiProperty({ example: 'orderFulfillment' }) workflow!: string;
  @ApiProperty({ example: 'order-1001' }) id!: string;
  @ApiProperty({ description: 'Definition version the instance is pinned to', example: 1 })
  version!: number;
  @ApiProperty({
    description: 'XState state value: a string, or an object for nested/parallel states',
    example: 'awaitingPayment',
  })
  state!: unknown;
  @ApiProperty({ enum: ['running', 'completed', 'cancelled', 'failed'] }) status!: string;
  @ApiProperty({ description: 'Revision of the last event; also the ETag', example: 0 })
  revision!: number;
}

export class InstanceDetailResponse extends InstanceResponse {
  @ApiProperty({ description: 'Machine context' }) context!: Record<string, unknown>;
  @ApiProperty({ type: [String], example: ['PaymentReceived', 'PaymentFailed', 'OrderCancelled'] })
  acceptedEvents!: string[];
}

export class HistoryEntryResponse {
  @ApiProperty() revision!: number;
  @ApiProperty() type!: string;
  @ApiProperty({ description: 'Payload decoded with the current schema' }) data!: Record<
    string,
    unknown
  >;
  @ApiProperty({ description: 'esflow metadata: ids, schema, states, definition version' })
  metadata!: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) recordedAt!: string;
}

export class HistoryResponse {
  @ApiProperty({ type: [HistoryEntryResponse] }) events!: HistoryEntryResponse[];
}

export class InstanceSummaryResponse extends InstanceResponse {
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class InstancePageResponse {
  @ApiProperty({ type: [InstanceSummaryResponse] }) items!: InstanceSummaryResponse[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Cursor for the next page (pass as `after`)',
  })
  next!: string | null;
}

export class ProblemResponse {
  @ApiProperty({ example: 'urn:esflow:problem:event-not-accepted' }) type!: string;
  @ApiProperty() title!: string;
  @ApiProperty() status!: number;
  @ApiProperty() detail!: string;
  @ApiProperty({ description: 'Stable error code', example: 'EVENT_NOT_ACCEPTED' }) code!: string;
  @ApiPropertyOptional({
    description: 'For validation failures: which field broke which rule',
    example: [{ path: 'payload.amountCents', message: 'is required' }],
  })
  errors?: { path: string; message: string }[];
}
