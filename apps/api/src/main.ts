import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { EsflowEnvironment, loadEsflowEnvironment, runEsflowProcess } from '@esflow/env-config';
import {
  accessControlWarning,
  createEsflowOpenApiDocument,
  describeAccessControl,
  ESFLOW_ACCESS_OPTIONS,
  hardenHttpEdge,
  ProblemDetailsFilter,
  ResolvedAccessOptions,
  startEsflowTracing,
} from '@esflow/nest';

/** The api application, configured but not listening (tests and tools may listen themselves). */
export async function createApiApp(
  environment: EsflowEnvironment = loadEsflowEnvironment(),
): Promise<NestExpressApplication> {
  // Loaded here, not at the top: a workflow module that refuses its configuration when it is
  // imported (a bad ORDER_FULFILLMENT_VERSIONS) then fails start-up in one line, like any other.
  const { ApiModule } = await import('./api.module.js');
  const app = await NestFactory.create<NestExpressApplication>(ApiModule, {
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false,
    // A failed start is reported once, by runEsflowProcess, without Nest's stack trace.
    autoFlushLogs: false,
  });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  hardenHttpEdge(app, {
    listenHost: environment.host,
    ...(environment.allowedHosts ? { allowedHosts: environment.allowedHosts } : {}),
  });
  // Unknown routes and the host's own controllers answer problem details too.
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();
  app.set('etag', false);
  app.disable('x-powered-by');
  const document = createEsflowOpenApiDocument(app, {
    title: 'esflow',
    description:
      'Event-sourced workflows: start instances, send them events, read their state and history.',
    license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
    tags: [{ name: 'onboardings', description: "The kycOnboarding example's own read model" }],
  });
  // Access control on: the security schemes, and 401/403 on every operation that needs a role.
  const access = app.get<ResolvedAccessOptions>(ESFLOW_ACCESS_OPTIONS);
  if (access.enabled) describeAccessControl(document, access);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

async function main(): Promise<void> {
  const environment = loadEsflowEnvironment();
  // ESFLOW_TRACING=on: this process's tracer provider, before anything makes a span.
  if (environment.tracing)
    startEsflowTracing({
      serviceName: process.env['OTEL_SERVICE_NAME'] ?? 'esflow-api',
      exporter: environment.tracing.exporter,
    });
  const app = await createApiApp(environment);
  await app.listen(environment.port, environment.host);
  app
    .get(Logger)
    .log(
      `esflow api listening on http://${environment.host}:${environment.port} (data in ${environment.dataDir})`,
    );
  const warning = accessControlWarning({
    enabled: environment.access.enabled,
    listenHost: environment.host,
  });
  if (warning) app.get(Logger).warn(warning);
}

if (require.main === module) void runEsflowProcess('api', main);
