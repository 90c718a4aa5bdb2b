import { Controller, Get, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { EsflowCoreModule, loadConfig } from '@esflow/app-core';
import { StoreFollower } from './store-follower';

@Controller()
class ProjectorStatusController {
  constructor(private readonly follower: StoreFollower) {}

  @Get('health')
  health() {
    const follower = this.follower.status();
    return { status: follower.status === 'stopped' ? 'error' : 'ok', follower };
  }
}

@Module({
  imports: [
    LoggerModule.forRootAsync({
      useFactory: () => ({ pinoHttp: { level: loadConfig().logLevel, autoLogging: false } }),
    }),
    EsflowCoreModule,
  ],
  controllers: [ProjectorStatusController],
  providers: [StoreFollower],
})
export class ProjectorModule {}
