import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';

/** OpenAPI shapes of the projection and stats answers (`GET /projections`, `/stats`, the actions). */

const POSITION = {
  type: 'string',
  pattern: '^-?\\d+/-?\\d+$',
  description: 'A global log position, `commit/prepare`',
  example: '1042/1042',
} as const;

export class ProjectionFailureResponse {
  @ApiProperty({ description: 'What the handler threw' }) message!: string;
  @ApiProperty({ example: 'orderFulfillment-order-1001' }) streamName!: string;
  @ApiProperty({ type: 'integer', minimum: 0 }) revision!: number;
  @ApiProperty({ example: 'OrderPlaced' }) type!: string;
  @ApiProperty(POSITION) position!: string;
}

export class ProjectionRebuildResponse {
  @ApiProperty({ type: 'integer', minimum: 1, description: 'The shadow generation it writes' })
  generation!: number;
  @ApiProperty({ enum: ['requested', 'versionChanged', 'new'] }) reason!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    nullable: true,
    description: 'Events to replay, counted when it started; null where the store cannot count',
  })
  totalEvents!: number | null;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Events replayed so far' })
  applied!: number;
}

/** Refers to ProjectionFailureResponse by name: the controller registers it (ApiExtraModels). */
export class ProjectionResponse {
  @ApiProperty({ example: 'instances' }) name!: string;
  @ApiProperty({
    enum: ['live', 'catchingUp', 'rebuilding', 'stopped'],
    description:
      '`stopped`: on a failed event (see `error`), never started, or no projector has reported lately',
  })
  status!: string;
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: 'The code version the active generation holds (absent before it first ran)',
  })
  version?: number;
  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'The generation queries read' })
  generation?: number;
  @ApiProperty({ ...POSITION, nullable: true, description: 'Position of the last applied event' })
  position!: string | null;
  @ApiPropertyOptional({ type: 'integer', minimum: 0 }) eventsApplied?: number;
  @ApiProperty({
    type: 'object',
    nullable: true,
    description: 'How far behind the log it is, measured now (null before it first ran)',
    properties: {
      events: { type: 'integer', minimum: 0 },
      seconds: { type: 'number', minimum: 0, description: 'Age of the oldest unapplied event' },
    },
    required: ['events', 'seconds'],
  })
  lag!: { events: number; seconds: number } | null;
  @ApiPropertyOptional({
    description:
      'Why it is not progressing: the failed event it stopped on, or a text (not started yet, no projector reporting)',
    oneOf: [{ type: 'string' }, { $ref: getSchemaPath(ProjectionFailureResponse) }],
  })
  error?: string | ProjectionFailureResponse;
  @ApiPropertyOptional({ type: ProjectionRebuildResponse, description: 'A rebuild in progress' })
  rebuild?: ProjectionRebuildResponse;
  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When its projector last reported',
  })
  heartbeatAt?: string | null;
}

export class ProjectionListResponse {
  @ApiProperty({ type: [ProjectionResponse] }) projections!: ProjectionResponse[];
}

export class RebuildRequestedResponse {
  @ApiProperty({ example: 'instances' }) name!: string;
  @ApiProperty({ enum: ['rebuildRequested'] }) status!: string;
}

export class FailureActionResponse {
  @ApiProperty({ example: 'instances' }) name!: string;
  @ApiProperty({ enum: ['retryRequested', 'skipRequested'] }) status!: string;
  @ApiProperty({ type: ProjectionFailureResponse, description: 'The event it stopped on' })
  event!: ProjectionFailureResponse;
}

export class WorkflowStatsResponse {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Instances of the workflow' })
  total!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer', minimum: 1 },
    description:
      'Instances per state value (the state name, or the canonical JSON of an object state)',
    example: { awaitingPayment: 3, completed: 12 },
  })
  byState!: Record<string, number>;
}

export class DefinitionVersionUseResponse {
  @ApiProperty({ example: 'orderFulfillment' }) workflow!: string;
  @ApiProperty({ type: 'integer', minimum: 1 }) version!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Instances started on it' })
  instances!: number;
  @ApiProperty({ type: 'integer', description: 'Of them, still running' }) running!: number;
}

/** Refers to WorkflowStatsResponse by name: the controller registers it (ApiExtraModels). */
export class StatsResponse {
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(WorkflowStatsResponse) },
    description: 'Per workflow name',
  })
  workflows!: Record<string, WorkflowStatsResponse>;
  @ApiProperty({ type: [DefinitionVersionUseResponse] })
  definitionVersions!: DefinitionVersionUseResponse[];
}
