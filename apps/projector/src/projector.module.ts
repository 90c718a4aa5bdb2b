import { Controller, Get, Inject, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { KycOnboardingModule } from '@esflow/example-kyc-onboarding';
import { OrderFulfillmentModule } from '@esflow/example-order-fulfillment';
import { esflowConfigModule, esflowEnvironmentOf, esflowFromEnvironment } from '@esflow/env-config';
import {
  disabledBridgeStatus,
  InboundMessageConsumer,
  KafkaBridge,
  kafkaBridgeProcessor,
} from '@esflow/kafka';
import {
  activeTraceIds,
  EsflowAccessModule,
  EsflowHealthModule,
  EsflowModule,
  EsflowProjectorModule,
  HttpMetricsMiddleware,
  ProjectionStatuses,
  ProjectorService,
} from '@esflow/nest';
import { ProjectorHealthController } from './health/projector-health.controller';
import { KAFKA_BRIDGE, KafkaBridgeModule } from './kafka-bridge/kafka-bridge.module';
import { KAFKA_INBOUND, KafkaInboundModule } from './kafka-inbound/kafka-inbound.module';
import { ProjectorMetricsController } from './metrics/projector-metrics.controller';

@Controller()
class ProjectorStatusController {
  constructor(
    private readonly projector: ProjectorService,
    @Inject(KAFKA_BRIDGE) private readonly bridge: KafkaBridge | null,
  ) {}

  /**
   * Liveness plus what this process's processors are doing, in the one status shape
   * (`processors`), and in the projections' and the bridge's own (`projections`, `kafkaBridge`).
   */
  @Get('health')
  health() {
    const processors = this.projector.processorStatuses();
    return {
      status: processors.some((processor) => processor.failing) ? 'degraded' : 'ok',
      owner: this.projector.owner,
      processors,
      projections: this.projector.statuses(),
      kafkaBridge: this.bridge?.status() ?? disabledBridgeStatus(),
    };
  }
}

/**
 * The bundled projector: runs every projection of the example workflows (built-in ones and
 * their own), the timer service, the command dispatcher, the message correlation service and,
 * when KAFKA_BROKERS is set, the Kafka bridge (and, with SCHEMA_REGISTRY_URL too, the inbound
 * consumer of the workflows' Kafka mappings); `/health` and `/metrics`.
 */
@Module({
  imports: [
    esflowConfigModule(),
    LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        pinoHttp: {
          level: esflowEnvironmentOf(config).logLevel,
          autoLogging: false,
          // Tracing on: every line logged in a span carries its trace_id and span_id.
          ...(esflowEnvironmentOf(config).tracing ? { mixin: activeTraceIds } : {}),
        },
      }),
    }),
    EsflowModule.forRootAsync(esflowFromEnvironment()),
    EsflowProjectorModule.forRootAsync({
      imports: [KafkaBridgeModule, KafkaInboundModule],
      inject: [KAFKA_BRIDGE, KAFKA_INBOUND],
      useFactory: (bridge: KafkaBridge | null, inbound: InboundMessageConsumer | null) => ({
        processors: [
          ...(bridge ? [kafkaBridgeProcessor(bridge)] : []),
          ...(inbound ? [inbound] : []),
        ],
      }),
    }),
    KafkaBridgeModule,
    KafkaInboundModule,
    OrderFulfillmentModule,
    KycOnboardingModule,
    EsflowHealthModule,
    // Access control as in the api: /health public, /metrics and /kafka-bridge need a reader.
    EsflowAccessModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => esflowEnvironmentOf(config).access,
    }),
  ],
  controllers: [ProjectorStatusController, ProjectorHealthController, ProjectorMetricsController],
  providers: [ProjectionStatuses, HttpMetricsMiddleware],
})
export class ProjectorModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*');
  }
}
