import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAMEWORK_RECORD_TYPES } from '@esflow/core';
import { freePort, runToExit } from '../support/app-process';
import { startSchemaRegistry } from '../support/infra/schema-registry.mjs';
import type { SchemaRegistryServer } from '../support/infra/schema-registry.d.mts';

// The built api, started on a schema registry it cannot use: nothing listening, a server that
// accepts connections and never answers, and a real Apicurio Registry at the wrong base path.

const REPO = resolve(__dirname, '../..');
const API = join(REPO, 'apps/api/dist/main.js');

/** Runs the built api to its exit, as an operator would start it. */
const run = (env: Record<string, string>) => runToExit(API, env);

describe('the api on a schema registry it cannot use', () => {
  let server: SchemaRegistryServer;
  const sockets: Socket[] = [];
  let silent: Server | undefined;

  beforeAll(async () => {
    server = await startSchemaRegistry();
  }, 120_000);
  afterAll(async () => {
    sockets.forEach((socket) => socket.destroy());
    silent?.close();
    await server?.stop();
  });

  // A store that keeps no schema id yet: every subject needs an id only the registry hands out.
  // Subjects are listed in order, the framework's first (every fact of @esflow/core), the first
  // ten by name and the rest counted.
  const FRAMEWORK_SUBJECTS = [...FRAMEWORK_RECORD_TYPES]
    .sort()
    .slice(0, 10)
    .map((type) => `esflow\\.framework\\.${type}`)
    .join(', ');
  const needsIds = (registry: string, cause: string) =>
    new RegExp(
      `^esflow api: cannot start: the schema registry at ${registry.replace(/[.]/g, '\\.')} \\(SCHEMA_REGISTRY_URL\\) ${cause} \\(POST /subjects/esflow\\.framework\\.\\w+/versions\\)\\. esflow needs it to start: ${FRAMEWORK_SUBJECTS}(?:, \\S+)* and \\d+ more have no schema id kept in the event store yet, and only the registry can hand one out \\(once every current schema has a kept id, esflow starts without the registry\\)$`,
    );

  it('fails to start in one line naming SCHEMA_REGISTRY_URL, the URL, the cause and the subjects that need it: refused, timed out; not a registry API', async () => {
    const port = await freePort();
    const elsewhere = { ESFLOW_DATA_DIR: mkdtempSync(join(tmpdir(), 'esflow-no-registry-')) };
    const refused = run({ ...elsewhere, SCHEMA_REGISTRY_URL: `http://127.0.0.1:${port}` });
    expect(refused.status).toBe(1);
    expect(refused.lines).toHaveLength(1);
    expect(refused.lines[0]).toMatch(
      needsIds(`http://127.0.0.1:${port}`, 'refused the connection \\(nothing listens there\\)'),
    );

    // Accepts connections, never answers.
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((listening) => silent!.listen(0, '127.0.0.1', listening));
    const hanging = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const timedOut = run({ ...elsewhere, SCHEMA_REGISTRY_URL: hanging });
    expect(timedOut.status).toBe(1);
    expect(timedOut.seconds).toBeLessThan(20);
    expect(timedOut.lines).toHaveLength(1);
    expect(timedOut.lines[0]).toMatch(needsIds(hanging, 'did not answer within 5000 ms'));

    const wrongPath = run({ ...elsewhere, SCHEMA_REGISTRY_URL: server.baseUrl });
    expect(wrongPath.status).toBe(1);
    expect(wrongPath.lines).toHaveLength(1);
    expect(wrongPath.lines[0]).toContain(
      `the schema registry at ${server.baseUrl} (SCHEMA_REGISTRY_URL) is not a Confluent-compatible schema registry API at that path`,
    );
    rmSync(elsewhere.ESFLOW_DATA_DIR, { recursive: true, force: true });
  });
});
