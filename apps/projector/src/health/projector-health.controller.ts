import { Controller, Get, Res } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { Response } from 'express';
import { answerHealthCheck, EsflowHealthIndicators, ProjectorService } from '@esflow/nest';

/** The processors of the projector that need Kafka (run when KAFKA_BROKERS is set). */
const KAFKA_PROCESSORS: Readonly<Record<string, string>> = {
  'kafka-bridge': 'kafkaBridge',
  'kafka-inbound': 'kafkaInbound',
};

/**
 * The projector's probes: `/health/live` (the process answers; no dependency is checked) and
 * `/health/ready` (the event store, the schema registry and the read model answer, and, when
 * they run, the Kafka bridge and the inbound consumer reach Kafka; 503 otherwise).
 */
@Controller('health')
export class ProjectorHealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: EsflowHealthIndicators,
    private readonly projector: ProjectorService,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  ready(@Res({ passthrough: true }) response: Response) {
    const { indicators } = this;
    const kafka: HealthIndicatorFunction[] = this.projector
      .processorStatuses()
      .filter((status) => KAFKA_PROCESSORS[status.name] !== undefined)
      .map((status) => () => indicators.kafkaProcessor(KAFKA_PROCESSORS[status.name]!, status));
    return answerHealthCheck(response, () =>
      this.health.check([
        () => indicators.lifecycle(),
        () => indicators.eventStore(),
        () => indicators.schemaRegistry(),
        () => indicators.readModel(),
        ...kafka,
      ]),
    );
  }
}
