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
