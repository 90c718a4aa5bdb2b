import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { loadEsflowEnvironment, runEsflowProcess } from '@esflow/env-config';
import { ProjectorModule } from './projector.module';

async function main(): Promise<void> {
  const environment = loadEsflowEnvironment();
  const app = await NestFactory.create(ProjectorModule, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.listen(environment.projectorPort, '0.0.0.0');
  app
    .get(Logger)
    .log(`esflow projector listening on http://localhost:${environment.projectorPort}`);
}

void runEsflowProcess('projector', main);
