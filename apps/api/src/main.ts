import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { ESFLOW_CONFIG, EsflowConfig, runEsflowProcess } from '@esflow/app-core';
import { ApiModule } from './api.module';

export async function createApiApp(): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule, {
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.set('etag', false);
  app.disable('x-powered-by');
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('esflow')
      .setDescription(
        'Event-sourced workflows: start instances, send them events, read their state and history.',
      )
      .setVersion('1')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

async function main(): Promise<void> {
  const app = await createApiApp();
  const config = app.get<EsflowConfig>(ESFLOW_CONFIG);
  await app.listen(config.port, '0.0.0.0');
  app
    .get(Logger)
    .log(`esflow api listening on http://localhost:${config.port} (data in ${config.dataDir})`);
}

if (require.main === module) void runEsflowProcess('api', main);
