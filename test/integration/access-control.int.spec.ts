import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { INestApplication } from '@nestjs/common';
import { lintFromString, loadConfig } from '@redocly/openapi-core';
import { NestFactory } from '@nestjs/core';
import { CryptoKey, exportJWK, generateKeyPair, JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemDetailsFilter } from '@esflow/nest';
import { AppRoute, call, routesOf } from '../support/access-routes';
import { anOrder } from '../support/engine-fixture';

/**
 * Access control on, in the bundled api and projector apps (in this process, on a temporary
 * SQLite directory), configured as an operator would: ESFLOW_API_KEYS and JWTs signed by an
 * issuer whose key set is served over HTTP here. Every route the apps serve is read from their
 * routers, so a route added later is covered without changing this suite.
 */

const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'esflow-api';
const KID = 'test-key-1';
const OPERATOR_KEY = 'op-0123456789abcdef-secret';
const READER_KEY = 'rd-0123456789abcdef-secret';

const savedEnv = { ...process.env };
let dataDir: string;
let jwks: Server;
let api: INestApplication;
let projector: INestApplication;
let apiUrl: string;
let projectorUrl: string;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;

const urlOf = (app: INestApplication | Server) =>
  `http://127.0.0.1:${((app instanceof Server ? app : app.getHttpServer()).address() as { port: number }).port}`;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('RS256')).privateKey;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  jwks = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  dataDir = mkdtempSync(join(tmpdir(), 'esflow-access-'));
  Object.assign(process.env, {
    ESFLOW_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ESFLOW_AUTH: 'on',
    ESFLOW_API_KEYS: `ops:operator:${OPERATOR_KEY},dashboard:reader:${READER_KEY}`,
    ESFLOW_JWT_ISSUER: ISSUER,
    ESFLOW_JWT_AUDIENCE: AUDIENCE,
    ESFLOW_JWT_JWKS_URL: `${urlOf(jwks)}/.well-known/jwks.json`,
  });
  // The hosts' config modules read the environment when their modules are declared.
  const { createApiApp } = await import('../../apps/api/src/main');
  const { ProjectorModule } = await import('../../apps/projector/src/projector.module');
  api = await createApiApp();
  await api.listen(0, '127.0.0.1');
  apiUrl = urlOf(api);
  projector = await NestFactory.create(ProjectorModule, { logger: false, abortOnError: false });
  projector.useGlobalFilters(new ProblemDetailsFilter());
  await projector.listen(0, '127.0.0.1');
  projectorUrl = urlOf(projector);
});

afterAll(async () => {
  await projector?.close();
  await api?.close();
  await new Promise((resolve) => jwks?.close(resolve));
  process.env = savedEnv;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A JWT of the configured issuer (or as `claims` and `key` make it otherwise). */
async function token(
  claims: JWTPayload & { roles?: unknown } = {},
  options: {
    key?: CryptoKey;
    exp?: number | string | null;
    issuer?: string;
    audience?: string;
  } = {},
): Promise<string> {
  let jwt = new SignJWT({ roles: ['reader'], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: KID })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject(claims.sub ?? 'alice')
    .setIssuedAt();
  if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? '5m');
  return jwt.sign(options.key ?? signingKey);
}

const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

/**
 * What a route needs by the documented rule: /docs public, /health public, the UI's sign-in page
 * and its two assets public, /metrics reader, else by method.
 */
function needs(route: AppRoute): 'public' | 'reader' | 'operator' {
  if (route.pattern === '/docs' || route.pattern.startsWith('/docs')) return 'public';
  if (route.pattern === '/health' || route.pattern.startsWith('/health/')) return 'public';
  if (route.pattern === '/ui/login' || route.pattern.startsWith('/ui/assets/')) return 'public';
  if (route.pattern === '/metrics') return 'reader';
  return route.method === 'GET' || route.method === 'HEAD' ? 'reader' : 'operator';
}

function expectRefused(
  answer: Awaited<ReturnType<typeof call>>,
  status: 401 | 403,
  what: string,
): void {
  expect(answer.status, `${what}: ${JSON.stringify(answer.body).slice(0, 300)}`).toBe(status);
  expect(answer.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
  expect(answer.body, what).toMatchObject({
    status,
    code: status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN',
  });
  if (status === 401)
    expect(answer.headers.get('www-authenticate'), what).toMatch(/^Bearer realm="esflow"/);
}

function expectAdmitted(answer: Awaited<ReturnType<typeof call>>, what: string): void {
  expect(
    [401, 403],
    `${what}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`,
  ).not.toContain(answer.status);
}

describe('every route of the api and the projector, with access control on', () => {
  const apps = () => [
    { name: 'api', url: apiUrl, routes: routesOf(api) },
    { name: 'projector', url: projectorUrl, routes: routesOf(projector) },
  ];

  it('finds the routes in the apps themselves', () => {
    const [apiRoutes, projectorRoutes] = apps().map((app) =>
      app.routes.map((r) => `${r.method} ${r.pattern}`),
    );
    expect(apiRoutes).toEqual(
      expect.arrayContaining([
        'POST /workflows/:workflow',
        'POST /workflows/:workflow/:id/events',
        'POST /workflows/:workflow/:id/migrate',
        'POST /workflows/:workflow/migrations',
        'GET /migrations/:migrationId',
        'GET /workflows/:workflow/:id',
        'POST /commands/lease',
        'POST /incidents/:incidentId/retry',
        'POST /messages/:messageId/discard',
        'POST /projections/:name/rebuild',
        'GET /metrics',
        'GET /health',
      ]),
    );
    expect(apiRoutes!.length).toBeGreaterThan(25);
    expect(projectorRoutes).toEqual(expect.arrayContaining(['GET /kafka-bridge', 'GET /metrics']));
  });

  it('refuses every route that needs a role without credentials: 401 with a Bearer challenge', async () => {
    let refused = 0;
    for (const app of apps())
      for (const route of app.routes) {
        const what = `${app.name} ${route.method} ${route.pattern}`;
        const answer = await call(app.url, route);
        if (needs(route) === 'public') expectAdmitted(answer, what);
        else {
          expectRefused(answer, 401, what);
          refused += 1;
        }
      }
    expect(refused).toBeGreaterThan(25);
  });

  it('refuses unknown, malformed and foreign credentials on every route that needs a role', async () => {
    const wrong = [
      { 'x-api-key': 'not-a-key-0123456789' },
      bearer('not-a-key-0123456789'),
      { authorization: `Basic ${Buffer.from(`ops:${OPERATOR_KEY}`).toString('base64')}` },
      bearer(await token({ roles: ['operator'] }, { key: strangerKey })),
    ];
    for (const app of apps())
      for (const route of app.routes.filter((r) => needs(r) !== 'public'))
        for (const headers of wrong)
          expectRefused(
            await call(app.url, route, headers),
            401,
            `${app.name} ${route.method} ${route.pattern} with ${JSON.stringify(headers).slice(0, 40)}`,
          );
  });

  it('answers a reader 403 on every operator route and lets it read everything else', async () => {
    const readers = [
      { 'x-api-key': READER_KEY },
      bearer(READER_KEY),
      bearer(await token({ roles: ['reader'] })),
    ];
    let forbidden = 0;
    for (const app of apps())
      for (const route of app.routes)
        for (const headers of readers) {
          const what = `${app.name} ${route.method} ${route.pattern} as a reader`;
          const answer = await call(app.url, route, headers);
          if (needs(route) === 'operator') {
            expectRefused(answer, 403, what);
            expect(answer.body).toMatchObject({ requiredRole: 'operator', roles: ['reader'] });
            forbidden += 1;
          } else expectAdmitted(answer, what);
        }
    // Starting, sending, messages, the workers' calls, retries, resolves, discards, rebuilds...
    expect(forbidden).toBeGreaterThan(3 * 12);
  });

  it('lets an operator call every route, by API key or by JWT', async () => {
    const operators = [
      { 'x-api-key': OPERATOR_KEY },
      bearer(OPERATOR_KEY),
      bearer(await token({ roles: ['operator'] })),
      // A space-separated claim counts too.
      bearer(await token({ roles: 'reader operator' })),
    ];
    for (const app of apps())
      for (const route of app.routes)
        for (const headers of operators)
          expectAdmitted(
            await call(app.url, route, headers),
            `${app.name} ${route.method} ${route.pattern} as an operator`,
          );
  });

  it('answers a JWT without an esflow role 403 on every route that needs one', async () => {
    const nobody = bearer(await token({ roles: ['admin'] }));
    for (const route of routesOf(api).filter((r) => needs(r) !== 'public'))
      expectRefused(await call(apiUrl, route, nobody), 403, `${route.method} ${route.pattern}`);
  });

  it('refuses HEAD like GET', async () => {
    const route = { method: 'HEAD', pattern: '/workflows', path: '/workflows' };
    const refused = await fetch(`${apiUrl}/workflows`, { method: 'HEAD' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expectAdmitted(await call(apiUrl, route, bearer(READER_KEY)), 'HEAD as a reader');
  });
});

describe('JWTs', () => {
  const route: AppRoute = { method: 'GET', pattern: '/workflows', path: '/workflows' };
  const refusal = async (jwt: string) => {
    const answer = await call(apiUrl, route, bearer(jwt));
    expectRefused(answer, 401, 'a refused JWT');
    expect(answer.headers.get('www-authenticate')).toContain('error="invalid_token"');
    return (answer.body as { detail: string }).detail;
  };

  it('refuses a token from another issuer', async () => {
    expect(await refusal(await token({}, { issuer: 'https://elsewhere.test/' }))).toContain(
      'not issued by the expected issuer',
    );
  });

  it('refuses a token for another audience', async () => {
    expect(await refusal(await token({}, { audience: 'another-api' }))).toContain(
      'not meant for this audience',
    );
  });

  it('refuses an expired token, and one that never expires', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    expect(await refusal(await token({}, { exp: past }))).toContain('expired');
    expect(await refusal(await token({}, { exp: null }))).toContain('"exp"');
  });

  it('refuses a token signed by another key, or not signed at all', async () => {
    expect(await refusal(await token({}, { key: strangerKey }))).toContain('signature');
    const [header, payload] = (await token()).split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
    expect(header).toBeDefined();
    const answer = await call(apiUrl, route, bearer(unsigned));
    expectRefused(answer, 401, 'an unsigned JWT');
  });

  it('accepts a valid one, and records its subject as the actor of what it does', async () => {
    const order = anOrder();
    const started = await fetch(`${apiUrl}/workflows/orderFulfillment`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...bearer(await token({ sub: 'alice', roles: ['operator'] })),
      },
      body: JSON.stringify({ input: order }),
    });
    expect(started.status, await started.clone().text()).toBe(201);
    const history = await call(
      apiUrl,
      {
        method: 'GET',
        pattern: '',
        path: `/workflows/orderFulfillment/${order.orderId}/history`,
      },
      bearer(await token({ roles: ['reader'] })),
    );
    expect(history.status).toBe(200);
    const events = (history.body as { events: { metadata: { actor?: string } }[] }).events;
    expect(events[0]!.metadata.actor).toBe('alice');
  });
});

describe('API keys', () => {
  it("record the key's name as the actor", async () => {
    const order = anOrder();
    const started = await fetch(`${apiUrl}/workflows/orderFulfillment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': OPERATOR_KEY },
      body: JSON.stringify({ input: order }),
    });
    expect(started.status).toBe(201);
    const history = await fetch(`${apiUrl}/workflows/orderFulfillment/${order.orderId}/history`, {
      headers: { 'x-api-key': READER_KEY },
    });
    const body = (await history.json()) as { events: { metadata: { actor?: string } }[] };
    expect(body.events[0]!.metadata.actor).toBe('ops');
  });

  it('refuse a start by a reader, and record nothing', async () => {
    const order = anOrder();
    const refused = await fetch(`${apiUrl}/workflows/orderFulfillment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': READER_KEY },
      body: JSON.stringify({ input: order }),
    });
    expect(refused.status).toBe(403);
    const read = await fetch(`${apiUrl}/workflows/orderFulfillment/${order.orderId}`, {
      headers: { 'x-api-key': READER_KEY },
    });
    expect(read.status).toBe(404);
  });
});

describe('the OpenAPI document, with access control on', () => {
  it("is valid OpenAPI and passes Redocly's recommended rules", async () => {
    const document = (await (await fetch(`${apiUrl}/docs/openapi.json`)).json()) as object;
    await SwaggerParser.validate(structuredClone(document) as never);
    const repo = resolve(__dirname, '../..');
    const problems = await lintFromString({
      source: JSON.stringify(document, null, 2),
      absoluteRef: join(repo, 'openapi.json'),
      config: await loadConfig({ configPath: join(repo, 'redocly.yaml') }),
    });
    expect(
      problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`),
    ).toEqual([]);
  });

  it('declares the security schemes, and 401/403 on every operation that needs a role', async () => {
    const document = (await (await fetch(`${apiUrl}/docs/openapi.json`)).json()) as {
      components: { securitySchemes?: Record<string, unknown> };
      paths: Record<
        string,
        Record<string, { security?: unknown[]; responses: Record<string, unknown> }>
      >;
    };
    expect(Object.keys(document.components.securitySchemes ?? {}).sort()).toEqual([
      'apiKey',
      'bearer',
    ]);
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThan(20);
    for (const { path, method, operation } of operations) {
      if (path.startsWith('/health')) {
        expect(operation.security, `${method} ${path}`).toEqual([]);
        continue;
      }
      expect(operation.security, `${method} ${path}`).toEqual([{ bearer: [] }, { apiKey: [] }]);
      expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(
        expect.arrayContaining(['401', '403']),
      );
    }
  });
});
