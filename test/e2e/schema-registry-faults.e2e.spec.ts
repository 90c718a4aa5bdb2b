import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, runToExit, startApp } from '../support/app-process';
import { anOrder } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';
import { waitFor } from '../support/wait-for';
import { startSchemaRegistry } from '../support/infra/schema-registry.mjs';
import type { SchemaRegistryServer } from '../support/infra/schema-registry.d.mts';

// The built api (and the `esflow` command) against a real Apicurio Registry 3.0.9 that goes down,
// is wiped (restarted: it keeps its data in memory), or is wiped and taken by another client.
// Four registry restarts in all.

const REPO = resolve(__dirname, '../..');
const API = join(REPO, 'apps/api/dist/main.js');
const CLI = join(REPO, 'apps/cli/dist/main.js');

const run = runToExit;

type History = { events: { type: string; data: unknown; metadata: { schema: { id: number } } }[] };
type Health = {
  status: string;
  details: Record<
    'eventStore' | 'schemaRegistry',
    { status: string; message?: string; restoredIds?: number[] }
  >;
};

describe('the api on a schema registry that goes down, is wiped, or is taken', () => {
  let server: SchemaRegistryServer;
  let api: AppProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'esflow-registry-faults-'));

  beforeAll(async () => {
    server = await startSchemaRegistry();
  }, 120_000);
  afterAll(async () => {
    await api?.dispose();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const wipe = async () => {
    const { port } = server;
    await server.stop();
    server = await startSchemaRegistry({ port });
  };
  const register = (subject: string, schema: object) =>
    fetch(`${server.url}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify(schema) }),
    }).then((response) => response.json() as Promise<{ id: number }>);
  const apiEnv = () => ({ SCHEMA_REGISTRY_URL: server.url });
  /** Consumers resolve the ids in the stored events to the events' schemas. */
  const expectResolvable = async (history: History) => {
    for (const event of history.events) {
      const found = await fetch(`${server.url}/schemas/ids/${event.metadata.schema.id}`);
      const { schema } = (await found.json()) as { schema: string };
      expect(JSON.parse(schema).name, `id ${event.metadata.schema.id}`).toContain(event.type);
    }
  };

  let orderId: string;
  let before: History;

  it('keeps serving while the registry is down, refills it once it is back empty, and reads every instance after a restart on a wiped registry', async () => {
    api = await startApp('api', { dataDir, env: apiEnv() });
    let http = httpClient(api.baseUrl);
    const order = anOrder();
    orderId = order.orderId;
    expect((await http.post('/workflows/orderFulfillment', { input: order })).status).toBe(201);

    // Down: writes and reads go on; /health says the registry is down, and why.
    await server.stop();
    const paid = await http.post(`/workflows/orderFulfillment/${orderId}/events`, {
      type: 'PaymentReceived',
      payload: { paymentId: 'pay-1', amountCents: 4999 },
    });
    expect(paid.status).toBe(200);
    before = (await http.get<History>(`/workflows/orderFulfillment/${orderId}/history`)).body;
    expect(before.events.map((event) => event.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'PaymentReceived',
      'TimerCancelled',
    ]);
    const down = await waitFor(
      async () => {
        const health = await http.get<Health>('/health');
        return health.body.details.schemaRegistry.status === 'down' && health;
      },
      { what: '/health to report the registry down' },
    );
    expect(down.status).toBe(200);
    expect(down.body.status).toBe('degraded');
    expect(down.body.details.schemaRegistry.message).toContain(
      '(SCHEMA_REGISTRY_URL) refused the connection',
    );

    // Back, empty: the api's next check puts every kept id back under its own number.
    server = await startSchemaRegistry({ port: server.port });
    const refilled = await waitFor(
      async () => {
        const health = await http.get<Health>('/health');
        return health.body.details.schemaRegistry.status === 'up' && health.body;
      },
      { timeoutMs: 15_000, what: '/health to report the registry refilled' },
    );
    expect(refilled.status).toBe('ok');
    expect(refilled.details.schemaRegistry.restoredIds?.length).toBeGreaterThan(0);
    await expectResolvable(before);

    // Restarted on a wiped registry: the start-up check restores the ids; history reads as before.
    await api.kill();
    await wipe();
    await api.restart();
    http = httpClient(api.baseUrl);
    const history = await http.get<History>(`/workflows/orderFulfillment/${orderId}/history`);
    expect(history.status).toBe(200);
    expect(history.body).toEqual(before);
    const goods = await http.post(`/workflows/orderFulfillment/${orderId}/events`, {
      type: 'GoodsFetched',
      payload: { warehouseId: 'wh-1' },
    });
    expect(goods.status).toBe(200);
    await expectResolvable(before);
    expect((await http.get<Health>('/health')).body).toMatchObject({
      status: 'ok',
      details: { eventStore: { status: 'up' }, schemaRegistry: { status: 'up' } },
    });
  });

  it('refuses to start, in one line, once another client took the ids of a wiped registry; `esflow schemas restore-ids` into an empty registry repairs it', async () => {
    await api!.kill();
    await wipe();
    const intruder = await register('other.Intruder', {
      type: 'record',
      name: 'Intruder',
      namespace: 'other',
      fields: [],
    });
    expect(intruder.id).toBe(1);
    const refused = run(API, { ESFLOW_DATA_DIR: dataDir, ...apiEnv() });
    expect(refused.status).toBe(1);
    expect(refused.lines).toHaveLength(1);
    const [line] = refused.lines;
    expect(line).toMatch(
      /^esflow api: cannot start: the schema registry at \S+ \(SCHEMA_REGISTRY_URL\) answers schema ids that esflow's stored events were written under with other schemas: id 1 \(esflow\.\S+ v1\) is now other\.Intruder\./,
    );
    expect(line).toContain('esflow schemas restore-ids');

    await wipe();
    const restored = run(CLI, { ESFLOW_DATA_DIR: dataDir, ...apiEnv() }, [
      'schemas',
      'restore-ids',
    ]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/answers all \d+ kept ids with their schemas \(\d+ restored\)/);
    expect(restored.stdout).not.toContain('STILL MISSING');

    await api!.restart();
    const history = await httpClient(api!.baseUrl).get<History>(
      `/workflows/orderFulfillment/${orderId}/history`,
    );
    expect(history.status).toBe(200);
    expect(history.body.events.map((event) => event.type)).toEqual([
      ...before.events.map((event) => event.type),
      'GoodsFetched',
    ]);
  });
});
