import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, routesOf } from '../support/access-routes';
import { anOrder } from '../support/engine-fixture';

/**
 * Access control off, as the embedded default runs (no ESFLOW_AUTH, no credentials configured):
 * the same calls as access-control.int.spec.ts, on every route of the bundled api, answer as they
 * always did — no 401, no 403, whatever credentials they carry — and what a request does is
 * recorded as done by `anonymous`.
 */

const savedEnv = { ...process.env };
let dataDir: string;
let api: INestApplication;
let apiUrl: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'esflow-access-off-'));
  for (const name of Object.keys(process.env))
    if (
      name.startsWith('ESFLOW_AUTH') ||
      name.startsWith('ESFLOW_JWT') ||
      name.startsWith('ESFLOW_API_KEYS')
    )
      delete process.env[name];
  Object.assign(process.env, { ESFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const { createApiApp } = await import('../../apps/api/src/main');
  api = await createApiApp();
  await api.listen(0, '127.0.0.1');
  apiUrl = `http://127.0.0.1:${(api.getHttpServer().address() as { port: number }).port}`;
});

afterAll(async () => {
  await api?.close();
  process.env = savedEnv;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('access control off', () => {
  it('answers every route without credentials, and with any, as before: never 401 or 403', async () => {
    const routes = routesOf(api);
    expect(routes.length).toBeGreaterThan(25);
    const credentials: Record<string, string>[] = [
      {},
      { 'x-api-key': 'whatever-0123456789' },
      { authorization: 'Bearer x.y.z' },
    ];
    for (const route of routes)
      for (const headers of credentials) {
        const answer = await call(apiUrl, route, headers);
        expect([401, 403], `${route.method} ${route.pattern}: ${answer.status}`).not.toContain(
          answer.status,
        );
        expect(answer.headers.get('www-authenticate')).toBeNull();
      }
  });

  it('records what a request does as done by anonymous', async () => {
    const order = anOrder();
    const started = await fetch(`${apiUrl}/workflows/orderFulfillment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: order }),
    });
    expect(started.status).toBe(201);
    const history = (await (
      await fetch(`${apiUrl}/workflows/orderFulfillment/${order.orderId}/history`)
    ).json()) as { events: { metadata: { actor?: string } }[] };
    expect(history.events[0]!.metadata.actor).toBe('anonymous');
  });

  it('publishes an OpenAPI document without security schemes', async () => {
    const document = (await (await fetch(`${apiUrl}/docs/openapi.json`)).json()) as {
      security: unknown[];
      components: { securitySchemes?: unknown };
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(document.security).toEqual([]);
    expect(document.components.securitySchemes).toBeUndefined();
    const statuses = Object.values(document.paths).flatMap((item) =>
      Object.values(item).flatMap((operation) => Object.keys(operation.responses)),
    );
    expect(statuses).not.toContain('401');
    expect(statuses).not.toContain('403');
  });
});
