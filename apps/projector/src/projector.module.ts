import { Controller, Get, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { EsflowCoreModule, loadConfig } from '@esflow/app-core';
import { ProjectionsService } from './projections/projections.service';
import { KafkaBridgeModule } from './kafka-bridge/kafka-bridge.module';

@Controller()
class ProjectorStatusController {
  constructor(private readonly projections: ProjectionsService) {}

  /** Liveness plus what this process's projections are doing. */
  @Get('health')
  health() {
    const projections = this.projections.statuses();
    const failing = projections.some((p) => p.status === 'stopped');
    return { status: failing ? 'degraded' : 'ok', owner: this.projections.owner, projections };
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
