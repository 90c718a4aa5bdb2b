import {
  DynamicModule,
  FactoryProvider,
  MiddlewareConsumer,
  Module,
  ModuleMetadata,
  NestModule,
} from '@nestjs/common';
import {
  ErrorCode,
  EsflowError,
  MessageIndex,
  ReadModelQueries,
  WorkflowEngine,
} from '@esflow/core';
import { MigrationBatches } from '../migrations/migration-batches';
import type { EsflowRuntime } from '../runtime/esflow-runtime';
import { ESFLOW_RUNTIME, MESSAGE_INDEX, READ_MODEL_QUERIES, WORKFLOW_ENGINE } from '../tokens';
import { CommandsController } from './commands/commands.controller';
import { JsonBodyMiddleware } from './http/json-body.middleware';
import { EsflowTracingMiddleware } from '../tracing/tracing.middleware';
import { IncidentsController } from './incidents/incidents.controller';
import { MessagesController } from './messages/messages.controller';
import { ProjectionsController } from './projections/projections.controller';
import { ProjectionStatuses } from '../projections/projection-statuses';
import { HttpMetricsMiddleware } from '../metrics/http-metrics.middleware';
import { EsflowRestOptions, ESFLOW_REST_OPTIONS, ResolvedRestOptions } from './rest-options';
import { TimersController } from './timers/timers.controller';
import { MigrationsController } from './workflows/migrations.controller';
import { WorkflowsController } from './workflows/workflows.controller';

/** Applies defaults; a bad option is INVALID_CONFIGURATION. */
function resolveRestOptions(options: EsflowRestOptions): ResolvedRestOptions {
  const limit = options.bodyLimitBytes ?? 1024 * 1024;
  if (!Number.isInteger(limit) || limit < 1)
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `EsflowRestModule: bodyLimitBytes must be a positive whole number, got ${String(limit)}`,
    );
  const cooldown = options.rebuildCooldownMs ?? 30_000;
  if (!Number.isInteger(cooldown) || cooldown < 0)
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `EsflowRestModule: rebuildCooldownMs must be a whole number of ms, got ${String(cooldown)}`,
    );
  return { bodyLimitBytes: limit, rebuildCooldownMs: cooldown };
}

/**
 * The REST API, contract v1: `POST /workflows/{workflow}`, `POST /workflows/{workflow}/{id}/events`,
 * `/terminate` and `/migrate`, batch migrations (`POST /workflows/{workflow}/migrations`,
 * `GET /migrations/{migrationId}`), `GET /workflows/{workflow}/{id}` and `/history`, `GET /workflows`, `GET /stats`,
 * `GET /projections` and the projection operator calls, `GET /timers`, the external-worker calls
 * (`POST /commands/lease`, `/commands/{commandId}/complete` and `/fail`, `GET /commands`) and the
 * incidents (`GET /incidents`, `POST /incidents/{incidentId}/retry` and `/resolve`). Every failure is an RFC 9457 problem
 * with a stable `code`, and nothing is written by a request that fails. Needs
 * `EsflowModule.forRoot`; serves every registered workflow. Create the app with
 * `bodyParser: false` so that esflow's own JSON parser (with its limit) reads the bodies.
 */
@Module({})
export class EsflowRestModule implements NestModule {
  /** The REST controllers with these options (validated; a bad one stops start-up). */
  static forRoot(options: EsflowRestOptions = {}): DynamicModule {
    return EsflowRestModule.create({
      provide: ESFLOW_REST_OPTIONS,
      useFactory: () => resolveRestOptions(options),
    });
  }

  /** The REST controllers with options made by a factory, e.g. from `ConfigService`. */
  static forRootAsync(options: {
    readonly imports?: ModuleMetadata['imports'];
    readonly inject?: FactoryProvider['inject'];
    readonly useFactory: (...args: never[]) => EsflowRestOptions | Promise<EsflowRestOptions>;
  }): DynamicModule {
    return EsflowRestModule.create(
      {
        provide: ESFLOW_REST_OPTIONS,
        inject: [...(options.inject ?? [])],
        useFactory: async (...args: never[]) =>
          resolveRestOptions(await options.useFactory(...args)),
      },
      options.imports,
    );
  }

  private static create(
    options: FactoryProvider,
    imports: ModuleMetadata['imports'] = [],
  ): DynamicModule {
    return {
      module: EsflowRestModule,
      imports,
      controllers: [
        WorkflowsController,
        MigrationsController,
        ProjectionsController,
        TimersController,
        CommandsController,
        IncidentsController,
        MessagesController,
      ],
      providers: [
        options,
        JsonBodyMiddleware,
        EsflowTracingMiddleware,
        HttpMetricsMiddleware,
        ProjectionStatuses,
        {
          provide: MigrationBatches,
          inject: [WORKFLOW_ENGINE, MESSAGE_INDEX, READ_MODEL_QUERIES, ESFLOW_RUNTIME],
          useFactory: (
            engine: WorkflowEngine,
            messageIndex: MessageIndex,
            instances: ReadModelQueries,
            runtime: EsflowRuntime,
          ) =>
            new MigrationBatches({
              engine,
              messageIndex,
              instances,
              clock: runtime.clock,
              ids: runtime.ids,
            }),
        },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // Every route's request span (tracing on), before the body is read.
    consumer.apply(EsflowTracingMiddleware, HttpMetricsMiddleware).forRoutes('*');
    consumer
      .apply(JsonBodyMiddleware)
      .forRoutes(
        WorkflowsController,
        MigrationsController,
        ProjectionsController,
        CommandsController,
        IncidentsController,
        MessagesController,
      );
  }
}
