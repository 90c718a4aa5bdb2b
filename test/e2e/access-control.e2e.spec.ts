import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppProcess, runToExit, startApp } from '../support/app-process';
import { waitFor } from '../support/wait-for';

/**
 * Access control as an operator switches it on, against the built api and projector processes:
 * the start-up warning when it is off beyond localhost, a bad configuration that stops start-up
 * naming its variable, and the processes refusing and admitting by role. Every route, one by
 * one, is checked in test/integration/access-control.int.spec.ts.
 */

const OPERATOR = 'op-e2e-0123456789abcdef';
const READER = 'rd-e2e-0123456789abcdef';
const WARNING = /access control is off and esflow listens on 0\.0\.0\.0/;

const running: AppProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((app) => app.dispose()));
});

async function started(app: 'api' | 'projector', env: Record<string, string>, dataDir?: string) {
  const child = await startApp(app, { env, ...(dataDir ? { dataDir } : {}) });
  running.push(child);
  return child;
}

describe('the start-up warning', () => {
  it('is logged when access control is off and the api and projector listen beyond localhost', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'esflow-access-e2e-'));
    try {
      const env = { ESFLOW_HOST: '0.0.0.0' };
      const api = await started('api', env, dataDir);
      const projector = await started('projector', env, dataDir);
      await waitFor(() => WARNING.test(api.output()) && WARNING.test(projector.output()), {
        timeoutMs: 10_000,
        intervalMs: 50,
        what: 'the warnings',
      });
      expect(api.output()).toMatch(/"level":40/);
    } finally {
      for (const app of running.splice(0)) await app.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('is not logged when access control is on, nor on loopback', async () => {
    const on = await started('api', {
      LOG_LEVEL: 'info',
      ESFLOW_HOST: '0.0.0.0',
      ESFLOW_API_KEYS: `ops:operator:${OPERATOR}`,
    });
    const loopback = await started('api', { LOG_LEVEL: 'info' });
    // The warning would be the line right after "listening on": wait for that line.
    for (const app of [on, loopback]) {
      await waitFor(() => /esflow api listening on/.test(app.output()), {
        timeoutMs: 10_000,
        intervalMs: 50,
        what: 'the listening line',
      });
      expect(app.output()).not.toMatch(/access control is off/);
    }
  });
});

describe('a bad access configuration', () => {
  it('stops the api at start-up naming each bad variable', () => {
    const run = runToExit('apps/api/dist/main.js', {
      ESFLOW_AUTH: 'on',
      ESFLOW_API_KEYS: 'ops:operator:short',
      ESFLOW_JWT_SECRET: 'a-shared-secret-of-at-least-32-bytes!',
    });
    expect(run.status).not.toBe(0);
    const output = `${run.stdout}${run.stderr}`;
    // runEsflowProcess prints INVALID_CONFIGURATION's message: every bad variable, one a line.
    expect(output).toMatch(/cannot start: invalid configuration:/);
    expect(output).toMatch(/ESFLOW_API_KEYS: entry 1 \(ops\): the key must be at least 16/);
    expect(output).toMatch(/ESFLOW_JWT_ISSUER/);
    expect(output).not.toContain('ops:operator:short');
  });
});

describe('the built api and projector with access control on', () => {
  it('refuse without credentials and admit by role', async () => {
    const env = {
      ESFLOW_AUTH: 'on',
      ESFLOW_API_KEYS: `ops:operator:${OPERATOR},dash:reader:${READER}`,
    };
    const dataDir = mkdtempSync(join(tmpdir(), 'esflow-access-e2e-'));
    try {
      const api = await started('api', env, dataDir);
      const projector = await started('projector', env, dataDir);
      const anonymous = await fetch(`${api.baseUrl}/workflows`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="esflow"');
      expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect((await fetch(`${api.baseUrl}/metrics`)).status).toBe(401);
      expect(
        (await fetch(`${api.baseUrl}/metrics`, { headers: { 'x-api-key': READER } })).status,
      ).toBe(200);
      const rebuild = (key: string) =>
        fetch(`${api.baseUrl}/projections/instances/rebuild`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        });
      const forbidden = await rebuild(READER);
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toMatchObject({ code: 'FORBIDDEN', requiredRole: 'operator' });
      expect([401, 403]).not.toContain((await rebuild(OPERATOR)).status);
      expect((await fetch(`${projector.baseUrl}/kafka-bridge`)).status).toBe(401);
      expect(
        (await fetch(`${projector.baseUrl}/kafka-bridge`, { headers: { 'x-api-key': READER } }))
          .status,
      ).toBe(200);
      expect((await fetch(`${projector.baseUrl}/health`)).status).toBe(200);
    } finally {
      for (const app of running.splice(0)) await app.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
