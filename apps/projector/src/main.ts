import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { loadEsflowEnvironment, runEsflowProcess } from '@esflow/env-config';
import {
  accessControlWarning,
  hardenHttpEdge,
  ProblemDetailsFilter,
  startEsflowTracing,
} from '@esflow/nest';

async function main(): Promise<void> {
  const environment = loadEsflowEnvironment();
  // ESFLOW_TRACING=on: this process's tracer provider, before anything makes a span.
  if (environment.tracing)
    startEsflowTracing({
      serviceName: process.env['OTEL_SERVICE_NAME'] ?? 'esflow-projector',
      exporter: environment.tracing.exporter,
    });
  // A failed start is reported once, by runEsflowProcess, without Nest's stack trace.
  // Loaded here, not at the top: a workflow module that refuses its configuration when it is
  // imported then fails start-up in one line, like any other.
  const { ProjectorModule } = await import('./projector.module.js');
  const app = await NestFactory.create(ProjectorModule, {
    bufferLogs: true,
    abortOnError: false,
    autoFlushLogs: false,
  });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.useGlobalFilters(new ProblemDetailsFilter());
  hardenHttpEdge(app, {
    listenHost: environment.host,
    ...(environment.allowedHosts ? { allowedHosts: environment.allowedHosts } : {}),
  });
  app.enableShutdownHooks();
  await app.listen(environment.projectorPort, environment.host);
  app
    .get(Logger)
    .log(`esflow projector listening on http://${environment.host}:${environment.projectorPort}`);
  const warning = accessControlWarning({
    enabled: environment.access.enabled,
    listenHost: environment.host,
  });
  if (warning) app.get(Logger).warn(warning);
}

void runEsflowProcess('projector', main);
