import { Controller, Get, Inject, Module } from '@nestjs/common';
import { disabledBridgeStatus, KafkaBridge } from '@esflow/kafka';
import { LoggerModule } from 'nestjs-pino';
import { EsflowCoreModule, loadConfig } from '@esflow/app-core';
import { ProjectionsService } from './projections/projections.service';
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

@Module({
  imports: [
    LoggerModule.forRootAsync({
      useFactory: () => ({ pinoHttp: { level: loadConfig().logLevel, autoLogging: false } }),
    }),
    EsflowCoreModule,
    KafkaBridgeModule,
  ],
  controllers: [ProjectorStatusController],
  providers: [ProjectionsService],
})
export class ProjectorModule {}
