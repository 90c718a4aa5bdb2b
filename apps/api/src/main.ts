import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { loadEsflowEnvironment, runEsflowProcess } from '@esflow/env-config';
import { ProblemDetailsFilter } from '@esflow/nest';
import { ApiModule } from './api.module';

/** The api application, configured but not listening (tests and tools may listen themselves). */
export async function createApiApp(): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule, {
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  // Unknown routes and the host's own controllers answer problem details too.
  app.useGlobalFilters(new ProblemDetailsFilter());
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
  const environment = loadEsflowEnvironment();
  const app = await createApiApp();
  await app.listen(environment.port, '0.0.0.0');
  app
    .get(Logger)
    .log(
      `esflow api listening on http://localhost:${environment.port} (data in ${environment.dataDir})`,
    );
}

if (require.main === module) void runEsflowProcess('api', main);
