import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { KycOnboardingModule } from '@esflow/example-kyc-onboarding';
import { OrderFulfillmentModule } from '@esflow/example-order-fulfillment';
import { esflowConfigModule, esflowEnvironmentOf, esflowFromEnvironment } from '@esflow/env-config';
import {
  activeTraceIds,
  EsflowAccessModule,
  EsflowHealthModule,
  EsflowModule,
  EsflowRestModule,
  ProjectionStatuses,
} from '@esflow/nest';
import { EsflowUiModule } from '@esflow/ui';
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
        pinoHttp: {
          level: esflowEnvironmentOf(config).logLevel,
          autoLogging: false,
          // Tracing on: every line logged in a span carries its trace_id and span_id.
          ...(esflowEnvironmentOf(config).tracing ? { mixin: activeTraceIds } : {}),
        },
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
    EsflowHealthModule,
    // The debugger UI under /ui (its actions call the REST API).
    EsflowUiModule,
    // Access control (ESFLOW_AUTH, ESFLOW_API_KEYS, ESFLOW_JWT_*): a global guard on every route.
    EsflowAccessModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => esflowEnvironmentOf(config).access,
    }),
  ],
  controllers: [HealthController, MetricsController],
  // The projections' lag on /metrics, measured against the log like GET /projections does.
  providers: [ProjectionStatuses],
})
export class ApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AccessLogMiddleware).forRoutes('*');
  }
}
