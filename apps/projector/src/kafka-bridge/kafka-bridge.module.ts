import { Controller, Get, Inject, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EventStore, WorkflowCatalog } from '@esflow/core';
import { esflowEnvironmentOf } from '@esflow/env-config';
import {
  createKafkaBridge,
  disabledBridgeStatus,
  KafkaBridge,
  KafkaBridgeStatus,
} from '@esflow/kafka';
import {
  ESFLOW_METRICS,
  ESFLOW_TRACER,
  EsflowMetrics,
  EsflowTracer,
  EVENT_STORE,
  WORKFLOW_CATALOG,
} from '@esflow/nest';
import { kafkaBridgeTransactionMetrics } from '../metrics/kafka-bridge-metrics';

/** DI token of the bridge: a {@link KafkaBridge}, or null when Kafka is not configured. */
export const KAFKA_BRIDGE = Symbol('KAFKA_BRIDGE');

function bridgeFor(
  configService: ConfigService,
  store: EventStore,
  catalog: WorkflowCatalog,
  tracer: EsflowTracer | null,
  metrics: EsflowMetrics,
): KafkaBridge | null {
  const config = esflowEnvironmentOf(configService);
  if (!config.kafka) return null;
  const logger = new Logger('KafkaBridge');
  return createKafkaBridge({
    store,
    workflows: catalog.names(),
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    transactionalId: config.kafka.transactionalId,
    topicTemplate: config.kafka.topicTemplate,
    topicPartitions: config.kafka.topicPartitions,
    ...(tracer ? { tracing: tracer.bridgeTracing() } : {}),
    onTransaction: kafkaBridgeTransactionMetrics(metrics.registry),
    logger: {
      info: (message) => logger.log(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
      debug: (message) => logger.debug(message),
    },
  });
}

@Controller('kafka-bridge')
class KafkaBridgeController {
  constructor(@Inject(KAFKA_BRIDGE) private readonly bridge: KafkaBridge | null) {}

  /** `{ status, position, lag: { events, seconds }, lastError?, publishedEvents, ... }` */
  @Get()
  status(): KafkaBridgeStatus {
    return this.bridge?.status() ?? disabledBridgeStatus();
  }
}

/**
 * The Kafka bridge of the projector process (never in the api's request path), made when
 * KAFKA_BROKERS is set; the projector runtime starts and stops it as one of its processors.
 * `GET /kafka-bridge` reports its status either way.
 */
@Module({
  controllers: [KafkaBridgeController],
  providers: [
    {
      provide: KAFKA_BRIDGE,
      inject: [ConfigService, EVENT_STORE, WORKFLOW_CATALOG, ESFLOW_TRACER, ESFLOW_METRICS],
      useFactory: bridgeFor,
    },
  ],
  exports: [KAFKA_BRIDGE],
})
export class KafkaBridgeModule {}
