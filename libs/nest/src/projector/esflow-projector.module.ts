import { DynamicModule, FactoryProvider, Module, ModuleMetadata } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Processor } from '@esflow/core';
import { PROJECTOR_PROCESSORS, ProjectorService } from './projector.service';

/** What the projector runs besides the projections. */
export interface EsflowProjectorOptions {
  /** Processors started and stopped with the projector (e.g. `kafkaBridgeProcessor(bridge)`). */
  readonly processors?: readonly Processor[];
}

/**
 * Runs the application's projections in this process, and the processors it adds (the bundled
 * projector host imports it; a small service may import it beside `EsflowRestModule`). Needs
 * `EsflowModule.forRoot`. Import the class itself for the projections only, or `forRoot` /
 * `forRootAsync` to add processors; inject {@link ProjectorService} for their status.
 */
@Module({ imports: [DiscoveryModule], providers: [ProjectorService], exports: [ProjectorService] })
export class EsflowProjectorModule {
  /** The projections and these processors. */
  static forRoot(options: EsflowProjectorOptions = {}): DynamicModule {
    return {
      module: EsflowProjectorModule,
      providers: [{ provide: PROJECTOR_PROCESSORS, useValue: options.processors ?? [] }],
    };
  }

  /** The projections and the processors a factory makes (e.g. from `ConfigService`). */
  static forRootAsync(options: {
    readonly imports?: ModuleMetadata['imports'];
    readonly inject?: FactoryProvider['inject'];
    readonly useFactory: (
      ...args: never[]
    ) => EsflowProjectorOptions | Promise<EsflowProjectorOptions>;
  }): DynamicModule {
    return {
      module: EsflowProjectorModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: PROJECTOR_PROCESSORS,
          inject: [...(options.inject ?? [])],
          useFactory: async (...args: never[]) =>
            (await options.useFactory(...args)).processors ?? [],
        },
      ],
    };
  }
}
