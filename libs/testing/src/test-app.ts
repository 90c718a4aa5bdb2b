import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication, Module, ModuleMetadata, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import {
  EsflowFeature,
  EventStore,
  ProjectionDefinition,
  ReadModelStore,
  WorkflowEngine,
} from '@esflow/core';
import {
  EsflowModule,
  EsflowProjectorModule,
  EsflowRestModule,
  EVENT_STORE,
  PROJECTIONS,
  hardenHttpEdge,
  ProblemDetailsFilter,
  READ_MODEL_STORE,
  WORKFLOW_ENGINE,
} from '@esflow/nest';
import {
  createEmbeddedSchemaRegistry,
  createSqliteEventStore,
  createSqliteReadModelStore,
} from '@esflow/sqlite';
import { waitFor } from './support/wait-for';

/** What {@link startTestApp} boots. */
export interface TestAppOptions {
  /** The application's own modules (workflow modules, controllers), as in its root module. */
  readonly imports?: ModuleMetadata['imports'];
  readonly controllers?: ModuleMetadata['controllers'];
  readonly providers?: ModuleMetadata['providers'];
  /** Features registered at the root instead of through modules. */
  readonly features?: readonly EsflowFeature[];
  /** Serve esflow's REST API (default true). */
  readonly rest?: boolean;
  /** Run the projections in the app (default true), so read models follow the writes. */
  readonly projector?: boolean;
  /** Keep the data in this directory (e.g. to restart on it); a new temporary one otherwise. */
  readonly dataDir?: string;
  /** Nest's logger levels (default: errors only). */
  readonly logger?: false | ('error' | 'warn' | 'log' | 'debug' | 'verbose')[];
}

/** A running test application, listening on a free port of 127.0.0.1. */
export interface TestApp {
  readonly app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Where the SQLite files are. */
  readonly dataDir: string;
  readonly engine: WorkflowEngine;
  /** Resolves once every projection has applied every event recorded so far. */
  projectionsCaughtUp(timeoutMs?: number): Promise<void>;
  /** Closes the app; removes the data directory unless it was given. */
  close(): Promise<void>;
}

/**
 * Boots an esflow application for a test, in this process: `EsflowModule` on SQLite files in a
 * temporary directory (event store, embedded registry and read model, as `npm start` runs),
 * the REST API and the projector, with the application's own modules. The app listens on a
 * free port; every failure renders as problem details, as in the bundled api.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'esflow-test-app-'));
  const database = join(dataDir, 'esflow.sqlite');
  const imports: NonNullable<ModuleMetadata['imports']> = [
    EsflowModule.forRoot({
      store: createSqliteEventStore({ filename: database, pollIntervalMs: 20 }),
      registry: createEmbeddedSchemaRegistry({ filename: database }),
      readModel: createSqliteReadModelStore({ filename: join(dataDir, 'readmodel.sqlite') }),
      projections: { leaseMs: 1_000 },
      ...(options.features ? { features: options.features } : {}),
    }),
    ...(options.rest === false ? [] : [EsflowRestModule.forRoot()]),
    ...(options.projector === false ? [] : [EsflowProjectorModule]),
    ...(options.imports ?? []),
  ];
  @Module({
    imports,
    controllers: options.controllers ?? [],
    providers: options.providers ?? [],
  })
  class EsflowTestAppModule {}

  const app = await NestFactory.create<NestExpressApplication>(EsflowTestAppModule as Type, {
    bodyParser: false,
    logger: options.logger ?? ['error'],
    abortOnError: false,
  });
  // The same edge as the bundled api: case-sensitive routes, loopback Host names only, timeouts.
  hardenHttpEdge(app, { listenHost: '127.0.0.1' });
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const address = app.getHttpServer().address() as { port: number };
  const store = app.get<EventStore>(EVENT_STORE);
  const readModel = app.get<ReadModelStore>(READ_MODEL_STORE);
  const projections = app.get<readonly ProjectionDefinition[]>(PROJECTIONS);
  return {
    app,
    baseUrl: `http://127.0.0.1:${address.port}`,
    dataDir,
    engine: app.get<WorkflowEngine>(WORKFLOW_ENGINE),
    projectionsCaughtUp: (timeoutMs = 10_000) =>
      waitFor(
        async () => {
          for (const projection of projections) {
            const record = await readModel.record(projection.name);
            if (!record || record.rebuild) return false;
            const checkpoint = await readModel.checkpoint(projection.name, record.activeGeneration);
            const [ahead] = await store.readAll({
              ...(checkpoint ? { after: checkpoint.position } : {}),
              maxCount: 1,
              ...(projection.filter ? { filter: projection.filter } : {}),
            });
            if (ahead) return false;
          }
          return true;
        },
        { timeoutMs, intervalMs: 20, what: 'every projection to catch up' },
      ).then(() => undefined),
    close: async () => {
      await app.close();
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
