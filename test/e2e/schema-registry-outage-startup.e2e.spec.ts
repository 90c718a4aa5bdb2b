import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, startApp } from '../support/app-process';
import { anOrder } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';
import { waitFor } from '../support/wait-for';
import { startSchemaRegistry } from '../support/infra/schema-registry.mjs';
import type { SchemaRegistryServer } from '../support/infra/schema-registry.d.mts';

// The built api started while its schema registry cannot be reached (a real Apicurio Registry
// 3.0.9, in memory, stopped; a server that accepts connections and never answers), on a store
// that keeps every schema the api registers: it starts, and once the registry is back (empty)
// its check refills it, so consumers resolve the ids of the events written meanwhile.

type History = { events: { type: string; metadata: { schema: { id: number } } }[] };
type Health = {
  status: string;
  details: { schemaRegistry: { status: string; message?: string; restoredIds?: number[] } };
};

describe('the api started while its schema registry cannot be reached', () => {
  let server: SchemaRegistryServer;
  let api: AppProcess | undefined;
  let silent: Server | undefined;
  const sockets: Socket[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'esflow-registry-outage-'));
  const order = anOrder();
  const instance = `/workflows/orderFulfillment/${order.orderId}`;

  beforeAll(async () => {
    server = await startSchemaRegistry();
  }, 120_000);
  afterAll(async () => {
    await api?.dispose();
    sockets.forEach((socket) => socket.destroy());
    silent?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const startApi = async (url: string) => {
    await api?.dispose();
    api = await startApp('api', { dataDir, env: { SCHEMA_REGISTRY_URL: url } });
    return httpClient(api.baseUrl);
  };
  const degraded = async (http: ReturnType<typeof httpClient>, cause: string) => {
    const health = await http.get<Health>('/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.details.schemaRegistry.status).toBe('down');
    expect(health.body.details.schemaRegistry.message).toContain(`(SCHEMA_REGISTRY_URL) ${cause}`);
    expect(api!.output()).toContain('started without the schema registry');
  };

  it('starts on a stopped registry when every schema is kept, writes under the kept ids, and refills the registry once it is back, wiped', async () => {
    let http = await startApi(server.url);
    expect((await http.post('/workflows/orderFulfillment', { input: order })).status).toBe(201);

    await server.stop();
    http = await startApi(server.url);
    await degraded(http, 'refused the connection');
    const paid = await http.post(`${instance}/events`, {
      type: 'PaymentReceived',
      payload: { paymentId: 'pay-1', amountCents: 4999 },
    });
    expect(paid.status).toBe(200);
    const history = (await http.get<History>(`${instance}/history`)).body;
    expect(history.events.map((e) => e.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'PaymentReceived',
      'TimerCancelled',
    ]);
    const paidId = history.events[2]!.metadata.schema.id;

    // Back, empty: the api's check puts every kept id back and registers its schemas.
    server = await startSchemaRegistry({ port: server.port });
    const up = await waitFor(
      async () => {
        const health = await http.get<Health>('/health');
        return health.body.details.schemaRegistry.status === 'up' && health.body;
      },
      { timeoutMs: 20_000, what: '/health to report the registry refilled' },
    );
    expect(up.status).toBe('ok');
    expect(up.details.schemaRegistry.restoredIds).toContain(paidId);
    for (const event of history.events) {
      const found = await fetch(`${server.url}/schemas/ids/${event.metadata.schema.id}`);
      expect(found.status, `id ${event.metadata.schema.id}`).toBe(200);
      const { schema } = (await found.json()) as { schema: string };
      expect(JSON.parse(schema).name).toContain(event.type);
    }
    const latest = await fetch(
      `${server.url}/subjects/esflow.orderFulfillment.PaymentReceived/versions/latest`,
    );
    expect(((await latest.json()) as { id: number }).id).toBe(paidId);
  });

  it('starts on a registry that never answers, within the timeouts', async () => {
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((listening) => silent!.listen(0, '127.0.0.1', listening));
    const hanging = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const started = Date.now();
    const http = await startApi(hanging);
    // A first call (5 s) and the kept ids (5 s) time out; then the api answers.
    expect(Date.now() - started).toBeLessThan(25_000);
    await degraded(http, 'did not answer within 5000 ms');
    const goods = await http.post(`${instance}/events`, {
      type: 'GoodsFetched',
      payload: { warehouseId: 'wh-1' },
    });
    expect(goods.status).toBe(200);
    const history = (await http.get<History>(`${instance}/history`)).body;
    expect(history.events.map((e) => e.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'PaymentReceived',
      'TimerCancelled',
      'GoodsFetched',
    ]);
    const goodsId = history.events[4]!.metadata.schema.id;
    const found = await fetch(`${server.url}/schemas/ids/${goodsId}`);
    expect(found.status, 'written under an id the registry holds').toBe(200);
  }, 60_000);
});
