import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { EsflowCoreModule, loadConfig } from '@esflow/app-core';
import { HealthController } from './health/health.controller';
import { JsonBodyMiddleware } from './http/json-body.middleware';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { MetricsController } from './metrics/metrics.controller';
import { ProjectionsController } from './projections/projections.controller';
import { WorkflowsController } from './workflows/workflows.controller';

@Module({
  imports: [
    LoggerModule.forRootAsync({
      useFactory: () => ({
        pinoHttp: {
          level: loadConfig().logLevel,
          autoLogging: { ignore: (req) => req.url === '/health' },
        },
      }),
    }),
    EsflowCoreModule,
    TerminusModule,
  ],
  controllers: [WorkflowsController, ProjectionsController, HealthController, MetricsController],
  providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
})
export class ApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyMiddleware).forRoutes('*');
  }
}
