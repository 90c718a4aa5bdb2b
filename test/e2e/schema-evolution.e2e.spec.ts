import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineFeature } from '@esflow/core';
import {
  ORDER_FULFILLMENT_SCHEMAS,
  orderFulfillment,
  OrderFulfillmentModule,
} from '@esflow/example-order-fulfillment';
import { unframe } from '@esflow/schemas';
import { createSqliteEventStore } from '@esflow/sqlite';
import { startTestApp } from '@esflow/testing';
import { anOrder } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';

const LOCK_FILE = resolve(__dirname, '../../schemas/avro/schemas.lock.json');
const temp: string[] = [];
afterAll(() => temp.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** orderFulfillment's schemas as they were when PaymentReceived v1 was the latest release. */
function schemasAtPaymentReceivedV1(): string {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-schemas-v1-'));
  temp.push(dir);
  cpSync(ORDER_FULFILLMENT_SCHEMAS, dir, { recursive: true });
  const lock = JSON.parse(readFileSync(LOCK_FILE, 'utf8'));
  const v1 = JSON.parse(
    lock.subjects['esflow.orderFulfillment.PaymentReceived'].versions[0].schema,
  );
  writeFileSync(join(dir, 'PaymentReceived.avsc'), JSON.stringify(v1, null, 2));
  return dir;
}

describe('schema evolution: PaymentReceived v1 → v2', () => {
  it('reads events written under v1 with code on v2, from the store and through the history endpoint', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'esflow-evolution-'));
    temp.push(dataDir);
    const order = anOrder();

    // Yesterday's deployment, on v1: the same workflow with the schemas of back then.
    const old = await startTestApp({
      dataDir,
      projector: false,
      features: [
        defineFeature({ workflows: [orderFulfillment], schemas: schemasAtPaymentReceivedV1() }),
      ],
    });
    const oldHttp = httpClient(old.baseUrl);
    expect((await oldHttp.post('/workflows/orderFulfillment', { input: order })).status).toBe(201);
    // v1 has no `method`: sending it is refused, naming the field.
    const withMethod = await oldHttp.post(`/workflows/orderFulfillment/${order.orderId}/events`, {
      type: 'PaymentReceived',
      payload: { paymentId: 'x', amountCents: 1, method: 'card' },
    });
    expect(withMethod.status).toBe(400);
    expect(withMethod.body['errors']).toEqual([
      expect.objectContaining({ path: 'payload.method' }),
    ]);
    const paid = await oldHttp.post(`/workflows/orderFulfillment/${order.orderId}/events`, {
      type: 'PaymentReceived',
      payload: { paymentId: 'pay-v1', amountCents: 4999 },
    });
    expect(paid.status).toBe(200);
    await old.close();

    // Today's deployment, on v2 (the module's own schemas).
    const current = await startTestApp({
      dataDir,
      projector: false,
      imports: [OrderFulfillmentModule],
    });
    const http = httpClient(current.baseUrl);
    let v1SchemaId: number;
    try {
      const history = await http.get<{
        events: {
          type: string;
          data: Record<string, unknown>;
          metadata: { schema: { version: number; id: number } };
        }[];
      }>(`/workflows/orderFulfillment/${order.orderId}/history`);
      const payment = history.body.events.find((e) => e.type === 'PaymentReceived')!;
      expect(payment.data).toEqual({ paymentId: 'pay-v1', amountCents: 4999, method: null });
      expect(payment.metadata.schema.version).toBe(1);
      v1SchemaId = payment.metadata.schema.id;

      // New events are written under v2, with the new field, and both read side by side.
      const next = anOrder();
      await http.post('/workflows/orderFulfillment', { input: next });
      const v2 = await http.post(`/workflows/orderFulfillment/${next.orderId}/events`, {
        type: 'PaymentReceived',
        payload: { paymentId: 'pay-v2', amountCents: 10, method: 'card' },
      });
      expect(v2.status).toBe(200);
      const nextHistory = await http.get<{
        events: {
          type: string;
          data: Record<string, unknown>;
          metadata: { schema: { version: number; id: number } };
        }[];
      }>(`/workflows/orderFulfillment/${next.orderId}/history`);
      const newPayment = nextHistory.body.events.find((e) => e.type === 'PaymentReceived')!;
      expect(newPayment.data).toEqual({ paymentId: 'pay-v2', amountCents: 10, method: 'card' });
      expect(newPayment.metadata.schema.version).toBe(2);
      expect(newPayment.metadata.schema.id).not.toBe(payment.metadata.schema.id);
    } finally {
      await current.close();
    }

    // In the store itself: the v1 event still carries the v1 registry id in its wire header.
    const store = createSqliteEventStore({ filename: join(dataDir, 'esflow.sqlite') });
    // OrderPlaced (0), TimerScheduled (1), then the payment (2):
    const [, , stored] = await store.readStream(`orderFulfillment-${order.orderId}`);
    expect(stored!.type).toBe('PaymentReceived');
    expect(unframe(stored!.data).schemaId).toBe(v1SchemaId);
    await store.close();
  });
});
