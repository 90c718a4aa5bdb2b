import { Controller, Get, Inject, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { KycOnboardingModule } from '@esflow/example-kyc-onboarding';
import { OrderFulfillmentModule } from '@esflow/example-order-fulfillment';
import { esflowConfigModule, esflowEnvironmentOf, esflowFromEnvironment } from '@esflow/env-config';
import { disabledBridgeStatus, KafkaBridge } from '@esflow/kafka';
import { EsflowModule, EsflowProjectorModule, ProjectionsService } from '@esflow/nest';
import { KAFKA_BRIDGE, KafkaBridgeModule } from './kafka-bridge/kafka-bridge.module';

@Controller()
class ProjectorStatusController {
  constructor(
    private readonly projections: ProjectionsService,
    @Inject(KAFKA_BRIDGE) private readonly bridge: KafkaBridge | null,
  ) {}

  /** Liveness plus what this process's projections and Kafka bridge are doing. */
  @Get('health')
  health() {
    const projections = this.projections.statuses();
    const kafkaBridge = this.bridge?.status() ?? disabledBridgeStatus();
    const failing =
      projections.some((p) => p.status === 'stopped') ||
      ['stopped', 'fenced'].includes(kafkaBridge.status);
    return {
      status: failing ? 'degraded' : 'ok',
      owner: this.projections.owner,
      projections,
      kafkaBridge,
    };
  }
}

/**
 * The bundled projector: runs every projection of the example workflows (built-in ones and
 * their own) and, when KAFKA_BROKERS is set, the Kafka bridge.
 */
@Module({
  imports: [
    esflowConfigModule(),
    LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        pinoHttp: { level: esflowEnvironmentOf(config).logLevel, autoLogging: false },
      }),
    }),
    EsflowModule.forRootAsync(esflowFromEnvironment()),
    EsflowProjectorModule,
    KafkaBridgeModule,
    OrderFulfillmentModule,
    KycOnboardingModule,
  ],
  controllers: [ProjectorStatusController],
})
export class ProjectorModule {}
