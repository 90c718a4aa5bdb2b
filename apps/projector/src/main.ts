import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ESFLOW_CONFIG, EsflowConfig, runEsflowProcess } from '@esflow/app-core';
import { ProjectorModule } from './projector.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(ProjectorModule, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  const config = app.get<EsflowConfig>(ESFLOW_CONFIG);
  await app.listen(config.projectorPort, '0.0.0.0');
  app.get(Logger).log(`esflow projector listening on http://localhost:${config.projectorPort}`);
}

void runEsflowProcess('projector', main);
