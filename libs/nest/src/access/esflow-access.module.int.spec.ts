import { Controller, Get, HttpCode, INestApplication, Module, Post, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Request } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalOf } from '../rest/http/principal';
import type { EsflowAccessOptions } from './access-options';
import { EsflowAccess } from './esflow-access.decorator';
import { EsflowAccessModule } from './esflow-access.module';

const OPERATOR = 'op-0123456789abcdef';
const READER = 'rd-0123456789abcdef';

@Controller()
class HostController {
  @Get('who')
  who(@Req() request: Request) {
    return principalOf(request);
  }

  @Post('act')
  @HttpCode(200)
  act(@Req() request: Request) {
    return principalOf(request);
  }

  @Post('compute')
  @HttpCode(200)
  @EsflowAccess('reader')
  compute() {
    return { answer: 42 };
  }

  @Get('open')
  @EsflowAccess('public')
  open(@Req() request: Request) {
    return principalOf(request);
  }

  @Get('health/deep')
  health() {
    return { status: 'ok' };
  }

  @Get('metrics')
  metrics() {
    return 'esflow_up 1\n';
  }
}

/** A host app of its own controller only: no global filter, so the guard answers by itself. */
async function hostApp(
  options: EsflowAccessOptions,
): Promise<{ app: INestApplication; url: string }> {
  @Module({ imports: [EsflowAccessModule.forRoot(options)], controllers: [HostController] })
  class HostModule {}
  const app = await NestFactory.create(HostModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return {
    app,
    url: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`,
  };
}

const request = async (url: string, method: string, headers: Record<string, string> = {}) => {
  const response = await fetch(url, { method, headers });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: (await response.json()) as Record<string, unknown>,
  };
};

describe('EsflowAccessModule on', () => {
  let host: { app: INestApplication; url: string };
  beforeAll(async () => {
    host = await hostApp({
      enabled: true,
      apiKeys: [
        { name: 'ops', role: 'operator', key: OPERATOR },
        { name: 'dash', role: 'reader', key: READER },
      ],
      metrics: 'public',
      health: 'reader',
    });
  });
  afterAll(() => host?.app.close());

  it('answers the refusals as problem details without any exception filter', async () => {
    const refused = await request(`${host.url}/who`, 'GET');
    expect(refused).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', status: 401 } });
    expect(refused.type).toMatch(/^application\/problem\+json/);
    const forbidden = await request(`${host.url}/act`, 'POST', { 'x-api-key': READER });
    expect(forbidden).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN', requiredRole: 'operator', roles: ['reader'] },
    });
  });

  it('sets the principal for the handler', async () => {
    expect(await request(`${host.url}/act`, 'POST', { 'x-api-key': OPERATOR })).toMatchObject({
      status: 200,
      body: { id: 'ops', roles: ['reader', 'operator'], via: 'api-key' },
    });
  });

  it('lets a route declare its own need with @EsflowAccess', async () => {
    expect((await request(`${host.url}/compute`, 'POST', { 'x-api-key': READER })).status).toBe(
      200,
    );
    expect((await request(`${host.url}/compute`, 'POST')).status).toBe(401);
    expect(await request(`${host.url}/open`, 'GET')).toMatchObject({
      status: 200,
      body: { id: 'anonymous' },
    });
  });

  it('applies the health and metrics settings to their paths', async () => {
    expect((await request(`${host.url}/health/deep`, 'GET')).status).toBe(401);
    expect((await request(`${host.url}/health/deep`, 'GET', { 'x-api-key': READER })).status).toBe(
      200,
    );
    const metrics = await fetch(`${host.url}/metrics`);
    expect(metrics.status).toBe(200);
  });
});

describe('EsflowAccessModule off', () => {
  let host: { app: INestApplication; url: string };
  beforeAll(async () => {
    host = await hostApp({ enabled: false });
  });
  afterAll(() => host?.app.close());

  it('changes nothing: every route answers, and the principal is anonymous', async () => {
    for (const [path, method] of [
      ['/who', 'GET'],
      ['/act', 'POST'],
      ['/compute', 'POST'],
      ['/health/deep', 'GET'],
    ] as const) {
      const answer = await request(`${host.url}${path}`, method, {
        authorization: 'Bearer nonsense',
      });
      expect(answer.status, path).toBe(200);
    }
    expect((await request(`${host.url}/act`, 'POST')).body).toEqual({
      id: 'anonymous',
      roles: ['reader', 'operator'],
      via: 'anonymous',
    });
  });
});
