import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_MESSAGE_TTL_SECONDS, MESSAGE_STATUSES, MessageOutcomeKind } from '@esflow/core';
import { MAX_DISCARD_REASON_LENGTH, MAX_OPERATOR_LENGTH } from './message-requests';

/** OpenAPI shapes of the message calls; the checks themselves are in message-requests. */

const ID = { pattern: '^[A-Za-z0-9._:-]{1,200}$' };

/** `POST /messages`. */
export class SendMessageBody {
  @ApiProperty({ example: 'PaymentReceived', description: 'A message name a workflow declares' })
  name!: string;
  @ApiProperty({
    example: 'order-1001',
    maxLength: 200,
    description:
      'The key value it is matched by (the instances declaring it); for a start message, the new instance id',
  })
  correlationKey!: string;
  @ApiProperty({
    ...ID,
    example: 'pay-evt-81f3',
    description: "The sender's id: a repeat, however late, is answered `duplicate`",
  })
  messageId!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The fields of the event the message becomes, validated against its schema',
    example: { paymentId: 'pay-1', amountCents: 4999 },
  })
  payload!: Record<string, unknown>;
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_MESSAGE_TTL_SECONDS,
    description: "How long it may wait in the buffer; the message definition's default otherwise",
  })
  ttlSeconds?: number;
}

/** What came of a message. */
export class MessageOutcomeResponse {
  @ApiProperty({ enum: Object.values(MessageOutcomeKind) }) outcome!: string;
  @ApiProperty() messageId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ example: 'orderFulfillment' }) workflow!: string;
  @ApiProperty() correlationKey!: string;
  @ApiPropertyOptional({ description: 'Delivered, started, late: the instance' })
  instanceId?: string;
  @ApiPropertyOptional({
    type: 'integer',
    description: "Delivered: the instance's revision after the delivery",
  })
  revision?: number;
  @ApiPropertyOptional({
    description:
      'Quarantined: NO_MATCHING_INSTANCE, AMBIGUOUS_CORRELATION, INVALID_PAYLOAD, LATE_MESSAGE, UNKNOWN_MESSAGE or DELIVERY_REFUSED',
  })
  reason?: string;
  @ApiPropertyOptional({ description: 'Why, in words, and what was found' }) detail?: string;
  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Buffered: when it is quarantined unless delivered first',
  })
  expiresAt?: string;
  @ApiPropertyOptional({
    enum: MESSAGE_STATUSES,
    description: 'Duplicate: where the first message with this id stands',
  })
  firstOutcome?: string;
}

/** A message as the message index lists it. */
export class MessageResponse {
  @ApiProperty() messageId!: string;
  @ApiProperty() name!: string;
  @ApiProperty() workflow!: string;
  @ApiProperty({ description: 'The instance key it is matched against; empty for a start message' })
  keyName!: string;
  @ApiProperty() correlationKey!: string;
  @ApiProperty({ enum: MESSAGE_STATUSES }) status!: string;
  @ApiProperty({ nullable: true, type: 'string' }) reason!: string | null;
  @ApiProperty({ nullable: true, type: 'string' }) detail!: string | null;
  @ApiProperty({ nullable: true, type: 'string' }) instanceId!: string | null;
  @ApiProperty({ nullable: true, type: 'integer' }) revision!: number | null;
  @ApiProperty({ example: 'rest' }) source!: string;
  @ApiProperty({ format: 'date-time' }) receivedAt!: string;
  @ApiProperty({ nullable: true, type: 'string', format: 'date-time' }) expiresAt!: string | null;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: 'integer' }) attempts!: number;
}

/** One page of messages, in arrival order. */
export class MessagePageResponse {
  @ApiProperty({ type: () => [MessageResponse] }) messages!: MessageResponse[];
  @ApiPropertyOptional({ description: 'Pass as `after` for the next page; absent on the last' })
  next?: string;
}

/** One correlation attempt and its outcome. */
export class MessageAttemptResponse {
  @ApiProperty({ enum: ['received', 'instanceChanged', 'recheck', 'expired', 'retry'] })
  trigger!: string;
  @ApiProperty({ enum: MESSAGE_STATUSES }) outcome!: string;
  @ApiProperty({ nullable: true, type: 'string' }) reason!: string | null;
  @ApiProperty({ nullable: true, type: 'string' }) detail!: string | null;
  @ApiProperty({ nullable: true, type: 'string' }) instanceId!: string | null;
  @ApiProperty({ nullable: true, type: 'integer' }) revision!: number | null;
  @ApiProperty({ nullable: true, type: 'string', format: 'date-time' }) expiresAt!: string | null;
  @ApiProperty({ type: [String], description: 'The instances that declared its key' })
  candidates!: string[];
  @ApiProperty({ nullable: true, type: 'string', description: 'Retry: the operator' })
  by!: string | null;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

/** `GET /messages/{messageId}`: where it stands, what it carried and every attempt. */
export class MessageDetailsResponse {
  @ApiProperty({ type: () => MessageResponse }) message!: MessageResponse;
  @ApiProperty({
    description: 'The payload as received (null for one delivered at once: its event holds it)',
    oneOf: [{ type: 'object', additionalProperties: true, nullable: true }, { type: 'string' }],
  })
  payload!: unknown;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { kind: 'rest' } })
  source!: Record<string, unknown>;
  @ApiProperty({ type: () => [MessageAttemptResponse] }) attempts!: MessageAttemptResponse[];
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  discarded?: Record<string, unknown>;
}

const BY = {
  minLength: 1,
  maxLength: MAX_OPERATOR_LENGTH,
  description:
    "Who did it (recorded with the action); default: the request's principal (`anonymous` with access control off)",
  example: 'ops@example.com',
};

/** `POST /messages/{messageId}/retry`. */
export class RetryMessageBody {
  @ApiPropertyOptional(BY) by?: string;
}

/** `POST /messages/{messageId}/discard`. */
export class DiscardMessageBody {
  @ApiProperty({
    minLength: 1,
    maxLength: MAX_DISCARD_REASON_LENGTH,
    example: 'test payment from the sandbox',
  })
  reason!: string;
  @ApiPropertyOptional(BY) by?: string;
}
