import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** OpenAPI shapes of `GET /health`. */

export class HealthIndicatorResponse {
  @ApiProperty({ enum: ['up', 'down'] }) status!: string;
  @ApiPropertyOptional({ description: 'Why it is down (or what was repaired)' }) message?: string;
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description: 'Schema registry: how many schema ids esflow keeps',
  })
  keptIds?: number;
  @ApiPropertyOptional({
    type: 'integer',
    isArray: true,
    description: 'Schema registry: ids this check put back under their own numbers',
  })
  restoredIds?: number[];
  @ApiPropertyOptional({
    type: 'integer',
    isArray: true,
    description: 'Schema registry: kept ids it lacks',
  })
  missingIds?: number[];
  @ApiPropertyOptional({
    type: 'integer',
    isArray: true,
    description: 'Schema registry: kept ids it holds with another schema',
  })
  mismatchedIds?: number[];
}

export class HealthIndicatorsResponse {
  @ApiPropertyOptional({ type: HealthIndicatorResponse }) eventStore?: HealthIndicatorResponse;
  @ApiPropertyOptional({ type: HealthIndicatorResponse })
  schemaRegistry?: HealthIndicatorResponse;
}

export class HealthDetailsResponse {
  @ApiProperty({ type: HealthIndicatorResponse }) eventStore!: HealthIndicatorResponse;
  @ApiProperty({ type: HealthIndicatorResponse }) schemaRegistry!: HealthIndicatorResponse;
}

export class HealthResponse {
  @ApiProperty({
    enum: ['ok', 'degraded', 'error'],
    description:
      '`degraded`: the schema registry is down or does not match the kept schemas (the api keeps serving); `error`: the event store is down (503)',
  })
  status!: string;
  @ApiProperty({ type: HealthIndicatorsResponse, description: 'The indicators that are up' })
  info!: HealthIndicatorsResponse;
  @ApiProperty({ type: HealthIndicatorsResponse, description: 'The indicators that are down' })
  error!: HealthIndicatorsResponse;
  @ApiProperty({ type: HealthDetailsResponse, description: 'Every indicator' })
  details!: HealthDetailsResponse;
}

/** One check of `GET /health/ready`: `up` or `down`, with why and what it found. */
export class ReadinessCheckResponse {
  @ApiProperty({ enum: ['up', 'down'] }) status!: string;
  @ApiPropertyOptional({ description: 'Why it is down' }) message?: string;
  @ApiPropertyOptional({ description: 'Lifecycle: `starting` or `shuttingDown` while not up' })
  state?: string;
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description: 'Schema registry: how many schema ids esflow keeps',
  })
  keptIds?: number;
  @ApiPropertyOptional({
    type: 'integer',
    isArray: true,
    description: 'Schema registry: kept ids it lacks',
  })
  missingIds?: number[];
  @ApiPropertyOptional({
    type: 'integer',
    isArray: true,
    description: 'Schema registry: kept ids it holds with another schema',
  })
  mismatchedIds?: number[];
}

/** The checks of `GET /health/ready`, by name. */
export class ReadinessChecksResponse {
  @ApiPropertyOptional({ type: ReadinessCheckResponse }) lifecycle?: ReadinessCheckResponse;
  @ApiPropertyOptional({ type: ReadinessCheckResponse }) eventStore?: ReadinessCheckResponse;
  @ApiPropertyOptional({ type: ReadinessCheckResponse }) schemaRegistry?: ReadinessCheckResponse;
  @ApiPropertyOptional({ type: ReadinessCheckResponse }) readModel?: ReadinessCheckResponse;
}

/** `GET /health/ready` (@nestjs/terminus's shape). */
export class ReadinessResponse {
  @ApiProperty({ enum: ['ok', 'error'], description: '`error` (503): a check is down' })
  status!: string;
  @ApiPropertyOptional({ type: ReadinessChecksResponse, description: 'The checks that are up' })
  info?: ReadinessChecksResponse;
  @ApiPropertyOptional({ type: ReadinessChecksResponse, description: 'The checks that are down' })
  error?: ReadinessChecksResponse;
  @ApiProperty({ type: ReadinessChecksResponse, description: 'Every check' })
  details!: ReadinessChecksResponse;
}

/** `GET /health/live`: no checks, only that the process answers. */
export class LivenessResponse {
  @ApiProperty({ enum: ['ok'] }) status!: string;
}
