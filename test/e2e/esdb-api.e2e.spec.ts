/**
 * The built api as a real process on the EventStoreDB adapter (ESDB_CONNECTION_STRING), end to
 * end over REST. The server here is the esdb-wire-double, a TEST DOUBLE of EventStoreDB's gRPC
 * protocol run in this process (test/doubles/esdb/README.md), reached through the real client.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStoreDBClient, StreamNotFoundError } from '@eventstore/db-client';
import { EsdbWireDouble, startEsdbWireDouble } from '../doubles/esdb/esdb-wire-double';
import { AppProcess, freePort, startApp } from '../support/app-process';
import { anOrder, COMPLETED_ORDER_EVENTS } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';

const REPO = resolve(__dirname, '../..');

let double: EsdbWireDouble;
let api: AppProcess;
let http: ReturnType<typeof httpClient>;

beforeAll(async () => {
  double = await startEsdbWireDouble();
  api = await startApp('api', { env: { ESDB_CONNECTION_STRING: double.connectionString } });
  http = httpClient(api.baseUrl);
});
afterAll(async () => {
  await api?.dispose();
  await double?.stop();
});

const start = (order = anOrder()) => http.post('/workflows/orderFulfillment', { input: order });
const send = (id: string, type: string, payload: unknown) =>
  http.post(`/workflows/orderFulfillment/${id}/events`, { type, payload });

/** What EventStoreDB holds for a stream, read with the client itself (not through the api). */
async function storedTypes(streamName: string): Promise<string[]> {
  const client = EventStoreDBClient.connectionString(double.connectionString);
  const types: string[] = [];
  try {
    for await (const resolved of client.readStream(streamName)) types.push(resolved.event!.type);
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  } finally {
    await client.dispose();
  }
  return types;
}

describe('the api on EventStoreDB (ESDB_CONNECTION_STRING)', () => {
  it('runs an order from OrderPlaced to completed, with its history', async () => {
    const order = anOrder();
    const started = await start(order);
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body).toMatchObject({ state: 'awaitingPayment', revision: 1 });
    expect(
      (await send(order.orderId, 'PaymentReceived', { paymentId: 'pay-1', amountCents: 4999 }))
        .body,
    ).toMatchObject({ state: 'fetchingGoods', revision: 3 });
    expect((await send(order.orderId, 'GoodsFetched', { warehouseId: 'wh-1' })).body).toMatchObject(
      { state: 'shipping', revision: 4 },
    );
    const done = await send(order.orderId, 'ShipmentDispatched', { trackingId: 'trk-1' });
    expect(done.body).toMatchObject({ state: 'completed', status: 'completed', revision: 6 });

    const read = await http.get(`/workflows/orderFulfillment/${order.orderId}`);
    expect(read.headers.get('etag')).toBe('"6"');
    expect(read.body).toMatchObject({ status: 'completed', context: { trackingId: 'trk-1' } });

    const history = await http.get<{
      events: {
        revision: number;
        type: string;
        data: unknown;
        metadata: Record<string, unknown>;
      }[];
    }>(`/workflows/orderFulfillment/${order.orderId}/history`);
    expect(history.status).toBe(200);
    expect(history.body.events.map((e) => [e.revision, e.type])).toEqual([
      [0, 'OrderPlaced'],
      [1, 'TimerScheduled'],
      [2, 'PaymentReceived'],
      [3, 'TimerCancelled'],
      [4, 'GoodsFetched'],
      [5, 'ShipmentDispatched'],
      [6, 'WorkflowCompleted'],
    ]);
    expect(history.body.events[0]!.data).toEqual({ ...order, paymentWindowSeconds: null });
    expect(history.body.events[2]!.metadata).toMatchObject({
      stateBefore: 'awaitingPayment',
      stateAfter: 'fetchingGoods',
    });
    // The events are in EventStoreDB, in the instance's own stream `<workflow>-<id>`.
    expect(await storedTypes(`orderFulfillment-${order.orderId}`)).toEqual(COMPLETED_ORDER_EVENTS);
  });

  it('409 for a duplicate start and 422 for an event the state does not accept; nothing written', async () => {
    const order = anOrder();
    expect((await start(order)).status).toBe(201);
    const duplicate = await start(order);
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ code: 'INSTANCE_ALREADY_EXISTS' });
    const early = await send(order.orderId, 'ShipmentDispatched', { trackingId: 't' });
    expect(early.status).toBe(422);
    expect(early.body).toMatchObject({ code: 'EVENT_NOT_ACCEPTED', state: 'awaitingPayment' });
    expect(await storedTypes(`orderFulfillment-${order.orderId}`)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
    ]);
  });
});

describe('the api with ESDB_CONNECTION_STRING pointing where nothing listens', () => {
  it('exits with a message that names ESDB_CONNECTION_STRING', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'esflow-api-esdb-down-'));
    const nowhere = `esdb://127.0.0.1:${await freePort()}?tls=false`;
    try {
      const child = spawn(process.execPath, [join(REPO, 'apps/api/dist/main.js')], {
        cwd: REPO,
        env: {
          ...process.env,
          ESFLOW_DATA_DIR: dataDir,
          LOG_LEVEL: 'warn',
          PORT: String(await freePort()),
          ESDB_CONNECTION_STRING: nowhere,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolveExit) =>
        child.once('exit', resolveExit),
      );
      expect(code, output).not.toBe(0);
      expect(output).toContain(nowhere);
      // The operator must learn which setting to fix (the message is composed in app-core).
      expect(output, output).toContain('ESDB_CONNECTION_STRING');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
