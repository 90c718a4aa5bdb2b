import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { KycOnboardingModule } from '@esflow/example-kyc-onboarding';
import { OrderFulfillmentModule } from '@esflow/example-order-fulfillment';
import { esflowConfigModule, esflowEnvironmentOf, esflowFromEnvironment } from '@esflow/env-config';
import { EsflowModule, EsflowRestModule } from '@esflow/nest';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { AccessLogMiddleware } from './access-log.middleware';

/**
 * The bundled api: esflow's REST API over the adapters the environment selects, serving the
 * example workflows, plus health and metrics. A team's own service looks the same, with its
 * own workflow modules.
 */
@Module({
  imports: [
    esflowConfigModule(),
    LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        pinoHttp: { level: esflowEnvironmentOf(config).logLevel, autoLogging: false },
        // No per-request logger: AccessLogMiddleware logs each request without one.
        exclude: [{ path: '{*all}', method: RequestMethod.ALL }],
      }),
    }),
    EsflowModule.forRootAsync(esflowFromEnvironment()),
    EsflowRestModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => {
        const environment = esflowEnvironmentOf(config);
        return {
          bodyLimitBytes: environment.bodyLimitBytes,
          rebuildCooldownMs: environment.rebuildCooldownMs,
        };
      },
    }),
    OrderFulfillmentModule,
    KycOnboardingModule,
  ],
  controllers: [HealthController, MetricsController],
})
export class ApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AccessLogMiddleware).forRoutes('*');
  }
}
