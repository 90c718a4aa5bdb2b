import { DynamicModule, FactoryProvider, Module, ModuleMetadata } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ESFLOW_ACCESS_OPTIONS, EsflowAccessOptions, resolveAccessOptions } from './access-options';
import { EsflowAccessGuard } from './esflow-access.guard';

/**
 * Access control for every route of the app, esflow's REST API and the host's own controllers
 * alike (health, metrics, the UI, those added later): {@link EsflowAccessGuard} as a global
 * guard. Off (`enabled: false`), nothing changes. On, reads (GET, HEAD) need the `reader` role
 * and every state-changing call (starting instances, sending events and messages, the external
 * workers' lease/complete/fail, retries, resolves, discards, rebuilds) the `operator` role;
 * `/health` is public and `/metrics` needs `reader` unless configured otherwise; a route may
 * declare its own need with `@EsflowAccess`. Import it once, in the root module.
 */
@Module({})
export class EsflowAccessModule {
  /** Access control with these options (checked: a bad one stops start-up). */
  static forRoot(options: EsflowAccessOptions): DynamicModule {
    return EsflowAccessModule.create({
      provide: ESFLOW_ACCESS_OPTIONS,
      useFactory: () => resolveAccessOptions(options),
    });
  }

  /** Access control with options made by a factory, e.g. from `ConfigService`. */
  static forRootAsync(options: {
    readonly imports?: ModuleMetadata['imports'];
    readonly inject?: FactoryProvider['inject'];
    readonly useFactory: (...args: never[]) => EsflowAccessOptions | Promise<EsflowAccessOptions>;
  }): DynamicModule {
    return EsflowAccessModule.create(
      {
        provide: ESFLOW_ACCESS_OPTIONS,
        inject: [...(options.inject ?? [])],
        useFactory: async (...args: never[]) =>
          resolveAccessOptions(await options.useFactory(...args)),
      },
      options.imports,
    );
  }

  private static create(
    options: FactoryProvider,
    imports: ModuleMetadata['imports'] = [],
  ): DynamicModule {
    return {
      module: EsflowAccessModule,
      imports,
      providers: [options, { provide: APP_GUARD, useClass: EsflowAccessGuard }],
      exports: [options],
    };
  }
}
