import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineFeature, ErrorCode, EsflowFeature, EventStore, WorkflowEngine } from '@esflow/core';
import {
  ORDER_FULFILLMENT_SCHEMAS,
  orderFulfillment,
  orderFulfillmentFeature,
} from '@esflow/example-order-fulfillment';
import { createEsflowRuntime, EsflowRuntime } from '@esflow/nest';
import {
  createConfluentHttpRegistry,
  restoreKeptIds,
  schemaFingerprint,
  unframe,
} from '@esflow/schemas';
import { createSqliteEventStore } from '@esflow/sqlite';
import { anOrder } from '../support/engine-fixture';
import { startSchemaRegistry } from '../support/infra/schema-registry.mjs';
import type { SchemaRegistryServer } from '../support/infra/schema-registry.d.mts';

// A real Apicurio Registry 3.0.9 (in memory), restarted on the same port to wipe it, against
// esflow on a SQLite store. Three restarts in all.

const PAYMENT = 'esflow.orderFulfillment.PaymentReceived';
const LOCK_FILE = resolve(__dirname, '../../schemas/avro/schemas.lock.json');
const temp: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
};

/** orderFulfillment as deployed when PaymentReceived v1 was its latest schema. */
function featureAtPaymentV1(): EsflowFeature {
  const dir = tempDir('esflow-schemas-v1-');
  cpSync(ORDER_FULFILLMENT_SCHEMAS, dir, { recursive: true });
  const lock = JSON.parse(readFileSync(LOCK_FILE, 'utf8'));
  writeFileSync(join(dir, 'PaymentReceived.avsc'), lock.subjects[PAYMENT].versions[0].schema);
  return defineFeature({ workflows: [orderFulfillment], schemas: dir });
}

describe('writer schemas against a real Apicurio Registry: wiped, down, shifted', () => {
  let server: SchemaRegistryServer;
  let store: EventStore;
  const runtimes: EsflowRuntime[] = [];
  const registries: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    server = await startSchemaRegistry();
    store = createSqliteEventStore({ filename: join(tempDir('esflow-kept-'), 'esflow.sqlite') });
  });
  afterAll(async () => {
    await store?.close();
    await Promise.all(registries.map((registry) => registry.close()));
    await server?.stop();
    temp.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });

  /** Stops the registry and starts an empty one on the same port: the in-memory data is gone. */
  const wipe = async () => {
    const { port } = server;
    await server.stop();
    server = await startSchemaRegistry({ port });
  };
  const registry = () => {
    const created = createConfluentHttpRegistry({
      url: server.url,
      configuredBy: 'SCHEMA_REGISTRY_URL',
      timeoutMs: 2_000,
    });
    registries.push(created);
    return created;
  };
  const start = async (feature: EsflowFeature = orderFulfillmentFeature) => {
    const runtime = await createEsflowRuntime({
      store,
      registry: registry(),
      features: [{ feature, registeredBy: 'writer-schemas int' }],
    });
    runtimes.push(runtime);
    return runtime;
  };
  const ccompat = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${server.url}${path}`, init);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const order = async (engine: WorkflowEngine, payment: Record<string, unknown>) => {
    const placed = anOrder();
    await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: placed });
    const paid = await engine.sendEvent.handle({
      workflow: 'orderFulfillment',
      id: placed.orderId,
      type: 'PaymentReceived',
      payload: payment,
    });
    expect(paid.ok).toBe(true);
    return placed.orderId;
  };
  const paymentIn = async (engine: WorkflowEngine, id: string) => {
    const history = await engine.queries.history('orderFulfillment', id);
    if (!history.ok) throw new Error(history.rejection.message);
    return history.value.find((event) => event.type === 'PaymentReceived')!.data;
  };

  let v1Order: string;
  let v2Order: string;
  let running: EsflowRuntime;

  it('keeps running while the registry is down, and refills it under the original ids once it is back, wiped', async () => {
    const v1 = await start(featureAtPaymentV1());
    v1Order = await order(v1.engine, { paymentId: 'pay-v1', amountCents: 100 });
    running = await start();
    v2Order = await order(running.engine, {
      paymentId: 'pay-v2',
      amountCents: 200,
      method: 'card',
    });
    const kept = new Map(running.codec.writerSchemas.keptSchemas());
    const v1Id = [...kept.values()].find((s) => s.subject === PAYMENT && s.version === 1)!.id;
    // OrderPlaced, TimerScheduled, then the payment:
    const [, , stored] = await store.readStream(`orderFulfillment-${v1Order}`);
    expect(stored!.type).toBe('PaymentReceived');
    expect(unframe(stored!.data).schemaId).toBe(v1Id);

    // Down: esflow writes and reads as before; the check says why the registry is down.
    await server.stop();
    const third = await order(running.engine, { paymentId: 'pay-3', amountCents: 3 });
    expect(await paymentIn(running.engine, v1Order)).toEqual({
      paymentId: 'pay-v1',
      amountCents: 100,
      method: null,
    });
    expect(await paymentIn(running.engine, third)).toMatchObject({ paymentId: 'pay-3' });
    const down = await running.codec.writerSchemas.check();
    expect(down.status).toBe('down');
    expect(down.reason).toMatch(
      /^the schema registry at http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7 \(SCHEMA_REGISTRY_URL\) refused the connection/,
    );

    // Back, but empty: the next check puts every kept id back under its own number.
    server = await startSchemaRegistry({ port: server.port });
    const refilled = await running.codec.writerSchemas.check();
    expect(refilled).toMatchObject({ status: 'up', restoredIds: [...kept.keys()] });
    for (const [id, schema] of kept) {
      const { body } = await ccompat(`/schemas/ids/${id}`);
      expect(schemaFingerprint(body['schema'] as string), `id ${id}`).toBe(schema.fingerprint);
    }
    expect((await ccompat(`/subjects/${PAYMENT}/versions`)).body).toEqual([1, 2]);
    expect((await ccompat(`/subjects/${PAYMENT}/versions/1`)).body).toMatchObject({ id: v1Id });
    // New registrations do not reuse the restored ids.
    const other = await ccompat('/subjects/other.Late/versions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: '{"type":"record","name":"Late","fields":[]}' }),
    });
    expect(other.body['id']).toBeGreaterThan(Math.max(...kept.keys()));
  });

  it('refuses to start when the wiped registry gave its ids to another client first; restore-ids into an empty registry repairs it', async () => {
    await wipe();
    for (const name of ['Intruder', 'Squatter'])
      await ccompat(`/subjects/other.${name}/versions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({
          schema: JSON.stringify({ type: 'record', name, namespace: 'other', fields: [] }),
        }),
      });
    const refused = await start().then(
      () => undefined,
      (error: { code: string; message: string }) => error,
    );
    expect(refused?.code).toBe(ErrorCode.InvalidConfiguration);
    expect(refused?.message).toContain(
      `the schema registry at ${server.url} (SCHEMA_REGISTRY_URL)`,
    );
    expect(refused?.message).toMatch(/id 1 \(esflow\.\S+ v1\) is now other\.Intruder/);
    expect(refused?.message).toMatch(/id 2 \(esflow\.\S+ v1\) is now other\.Squatter/);
    expect(refused?.message).toContain('esflow schemas restore-ids');

    await wipe();
    const report = await restoreKeptIds(store, registry());
    expect(report).toMatchObject({ missing: [], mismatched: [], present: [] });
    expect(report.restored).toEqual(report.kept.map((schema) => schema.id));
    const repaired = await start();
    expect(repaired.codec.writerSchemas.status).toMatchObject({ status: 'up', restoredIds: [] });
    expect(await paymentIn(repaired.engine, v1Order)).toMatchObject({ paymentId: 'pay-v1' });
    expect(await paymentIn(repaired.engine, v2Order)).toMatchObject({ method: 'card' });
  });
});
