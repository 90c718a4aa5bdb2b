import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthCheckService } from '@nestjs/terminus';
import { EventStore } from '@esflow/core';
import {
  answerHealthCheck,
  EsflowHealthIndicators,
  EVENT_STORE,
  SchemaRegistryMonitor,
} from '@esflow/nest';
import { HealthResponse, LivenessResponse, ReadinessResponse } from './health.dto';

type Indicator = { status: 'up' | 'down' } & Record<string, unknown>;

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly registry: SchemaRegistryMonitor,
    private readonly health: HealthCheckService,
    private readonly indicators: EsflowHealthIndicators,
  ) {}

  @Get('live')
  @ApiOperation({
    operationId: 'getLiveness',
    summary: 'Liveness: the process is up and answers (checks no dependency)',
  })
  @ApiResponse({ status: 200, description: '`ok`', type: LivenessResponse })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    operationId: 'getReadiness',
    summary:
      'Readiness: the event store, the schema registry and the read model answer, and the api is not shutting down; 503 otherwise',
  })
  @ApiResponse({ status: 200, description: '`ok`: every check is up', type: ReadinessResponse })
  @ApiResponse({
    status: 503,
    description: '`error`: a check is down (`error` names it and why)',
    type: ReadinessResponse,
  })
  ready(@Res({ passthrough: true }) response: Response) {
    const { indicators } = this;
    return answerHealthCheck(response, () =>
      this.health.check([
        () => indicators.lifecycle(),
        () => indicators.eventStore(),
        () => indicators.schemaRegistry(),
        () => indicators.readModel(),
      ]),
    );
  }

  @Get()
  @ApiOperation({
    operationId: 'getHealth',
    summary:
      'ok, or degraded while the schema registry is down or does not match the kept schemas (the api keeps serving), or 503 error while the event store is down',
  })
  @ApiResponse({ status: 200, description: '`ok` or `degraded`', type: HealthResponse })
  @ApiResponse({
    status: 503,
    description: '`error`: the event store is down',
    type: HealthResponse,
  })
  async check(@Res({ passthrough: true }) response: Response) {
    const [eventStore, schemaRegistry] = await Promise.all([
      this.eventStore(),
      this.schemaRegistry(),
    ]);
    const indicators = { eventStore, schemaRegistry };
    const up = Object.entries(indicators).filter(([, indicator]) => indicator.status === 'up');
    const down = Object.entries(indicators).filter(([, indicator]) => indicator.status === 'down');
    const status = eventStore.status === 'down' ? 'error' : down.length > 0 ? 'degraded' : 'ok';
    if (status === 'error') response.status(503);
    return {
      status,
      info: Object.fromEntries(up),
      error: Object.fromEntries(down),
      details: indicators,
    };
  }

  private async eventStore(): Promise<Indicator> {
    try {
      await this.store.ping();
      return { status: 'up' };
    } catch (error) {
      return { status: 'down', message: (error as Error).message };
    }
  }

  /** The registry as checked against the writer schemas esflow keeps: reachable, complete, same. */
  private async schemaRegistry(): Promise<Indicator> {
    const { status, reason, keptIds, restoredIds, missingIds, mismatchedIds } =
      await this.registry.status();
    return {
      status,
      ...(reason ? { message: reason } : {}),
      keptIds,
      ...(restoredIds.length > 0 ? { restoredIds } : {}),
      ...(missingIds.length > 0 ? { missingIds } : {}),
      ...(mismatchedIds.length > 0 ? { mismatchedIds } : {}),
    };
  }
}
