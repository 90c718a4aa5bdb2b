import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { TIMER_STATUSES } from '@esflow/core';

/** The event that settled a timer it did not fire. */
export interface TimerSettledByResponse {
  readonly eventId: string;
  readonly eventType: string;
  readonly revision: number;
}

/** One timer as the timer index knows it. */
export class TimerResponse {
  @ApiProperty({ description: 'Deterministic; distinct for every visit of a state' })
  timerId!: string;
  @ApiProperty({ example: 'orderFulfillment' }) workflow!: string;
  @ApiProperty({ example: 'order-1001' }) instanceId!: string;
  @ApiProperty({
    description: 'The machine event it delivers',
    example: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
  })
  eventType!: string;
  @ApiProperty({ format: 'date-time' }) dueAt!: string;
  @ApiProperty({ format: 'date-time', description: 'When its TimerScheduled was recorded' })
  scheduledAt!: string;
  @ApiProperty({ type: 'integer', minimum: 0 }) scheduledRevision!: number;
  @ApiProperty({
    enum: TIMER_STATUSES,
    description:
      '`superseded`: an event moved the instance on at or after the due time, before the timer fired (the event won the race)',
  })
  status!: string;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) settledAt!: string | null;
  @ApiProperty({ type: 'integer', minimum: 0, nullable: true })
  settledRevision!: number | null;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    nullable: true,
    description: 'Fired: how long after its due time, in ms',
  })
  latenessMs!: number | null;
  @ApiProperty({
    // Inline: OpenAPI 3.0 allows `nullable` only beside a `type`, not beside a `$ref`.
    type: 'object',
    nullable: true,
    description: 'Cancelled or superseded: the event that moved the instance on first',
    properties: {
      eventId: {
        type: 'string',
        format: 'uuid',
        description: 'The event that moved the instance on',
      },
      eventType: { type: 'string', example: 'PaymentReceived' },
      revision: { type: 'integer', minimum: 0, description: 'Its revision in the stream' },
    },
    required: ['eventId', 'eventType', 'revision'],
  })
  settledBy!: TimerSettledByResponse | null;
}

/** One page of timers, earliest due first. */
export class TimerPageResponse {
  @ApiProperty({ type: () => [TimerResponse] }) timers!: TimerResponse[];
  @ApiPropertyOptional({ description: 'Pass as `after` for the next page; absent on the last' })
  next?: string;
}
