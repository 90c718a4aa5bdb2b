import * as avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '@esflow/core';
import { ORDER_FULFILLMENT_SCHEMAS } from '@esflow/example-order-fulfillment';
import { createEmbeddedSchemaRegistry } from '@esflow/sqlite';
import { AvroPayloadCodec } from './avro-payload-codec';
import { withFrameworkSchemas } from './framework-schemas';
import { validatePayload } from './payload-validator';
import { SchemaCatalog } from './schema-catalog';
import { frame, unframe } from './wire-format';

const catalog = SchemaCatalog.load(withFrameworkSchemas([ORDER_FULFILLMENT_SCHEMAS]));

describe('schema catalog', () => {
  it('loads every .avsc of several directories as named records, resolving types named in other files', () => {
    expect(catalog.names()).toContain('esflow.orderFulfillment.OrderPlaced');
    expect(catalog.names()).toContain('esflow.framework.CommandDispatched');
    const placed = catalog.get('esflow.orderFulfillment.OrderPlaced')!;
    expect(JSON.parse(placed.expanded).fields[4].type.items.name).toBe(
      'esflow.orderFulfillment.OrderItem',
    );
  });
});

describe('payload validation', () => {
  const type = catalog.get('esflow.orderFulfillment.OrderPlaced')!.type;
  it('accepts a valid payload', () => {
    expect(
      validatePayload(type, {
        orderId: 'o',
        customerId: 'c',
        amountCents: 1,
        currency: 'EUR',
        items: [],
      }),
    ).toEqual([]);
  });
  it('names every broken field and the rule', () => {
    expect(
      validatePayload(type, {
        orderId: 7,
        amountCents: 2 ** 60,
        currency: 'EUR',
        items: [{ sku: 's', quantity: 'x' }],
        extra: 1,
      }),
    ).toEqual([
      { path: 'orderId', message: 'must be a string, got 7' },
      { path: 'customerId', message: 'is required: must be a string' },
      { path: 'amountCents', message: expect.stringContaining('integer (long)') },
      { path: 'items.0.quantity', message: 'must be a 32-bit integer, got "x"' },
      {
        path: 'extra',
        message: expect.stringContaining('is not a field of esflow.orderFulfillment.OrderPlaced'),
      },
    ]);
    expect(validatePayload(type, null)).toEqual([
      { path: '', message: 'must be an object (esflow.orderFulfillment.OrderPlaced)' },
    ]);
  });
  it('accepts a missing field that has a default, and checks optional unions', () => {
    const withOptional = avro.Type.forSchema({
      type: 'record',
      name: 'T',
      fields: [{ name: 'note', type: ['null', 'string'], default: null }],
    });
    expect(validatePayload(withOptional, {})).toEqual([]);
    expect(validatePayload(withOptional, { note: 3 })).toEqual([
      { path: 'note', message: 'must be a string, got 3' },
    ]);
  });
});

describe('Confluent wire format', () => {
  it('frames as magic byte 0, big-endian schema id, payload (golden bytes)', () => {
    expect(Array.from(frame(258, new Uint8Array([9, 8])))).toEqual([0, 0, 0, 1, 2, 9, 8]);
    expect(unframe(new Uint8Array([0, 0, 0, 1, 2, 9, 8]))).toEqual({
      schemaId: 258,
      payload: new Uint8Array([9, 8]),
    });
    expect(() => unframe(new Uint8Array([1, 0, 0, 0, 1]))).toThrow(/wire format/);
  });
});

describe('Avro codec and embedded registry', () => {
  it('registers each schema once, encodes with its id and decodes older writer versions', async () => {
    const registry = createEmbeddedSchemaRegistry({ filename: ':memory:' });
    const store = createMemoryEventStore();
    const codec = await AvroPayloadCodec.create({ catalog, registry, store });
    const again = await AvroPayloadCodec.create({ catalog, registry, store });
    const encoded = await codec.encode('esflow.orderFulfillment.PaymentReceived', {
      paymentId: 'p',
      amountCents: 5,
    });
    const reEncoded = await again.encode('esflow.orderFulfillment.PaymentReceived', {
      paymentId: 'p',
      amountCents: 5,
    });
    expect(reEncoded.schema).toEqual(encoded.schema);
    expect(encoded.schema.version).toBe(1);
    expect(unframe(encoded.data).schemaId).toBe(encoded.schema.id);
    expect(await codec.decode('esflow.orderFulfillment.PaymentReceived', encoded.data)).toEqual({
      paymentId: 'p',
      amountCents: 5,
      method: null,
    });

    // An event written under an older schema (no `amountCents` yet) is read with the current one.
    const v0 = {
      type: 'record',
      name: 'PaymentReceived',
      namespace: 'esflow.orderFulfillment',
      fields: [{ name: 'paymentId', type: 'string' }],
    };
    const old = await registry.register('legacy-subject', JSON.stringify(v0));
    const oldBytes = frame(
      old.id,
      avro.Type.forSchema(v0 as avro.Schema).toBuffer({ paymentId: 'old' }),
    );
    await expect(codec.decode('esflow.orderFulfillment.PaymentReceived', oldBytes)).rejects.toThrow(
      /amountCents/,
    );
    expect(old.version).toBe(1);
  });

  it('gives an identical schema the same global id under another subject and counts versions per subject', async () => {
    const registry = createEmbeddedSchemaRegistry({ filename: ':memory:' });
    const schema = JSON.stringify({
      type: 'record',
      name: 'A',
      fields: [{ name: 'x', type: 'int' }],
    });
    const a = await registry.register('s1', schema);
    const b = await registry.register('s2', schema);
    const v2 = await registry.register(
      's1',
      JSON.stringify({
        type: 'record',
        name: 'A',
        fields: [
          { name: 'x', type: 'int' },
          { name: 'y', type: 'int', default: 0 },
        ],
      }),
    );
    expect(b.id).toBe(a.id);
    expect([a.version, b.version, v2.version]).toEqual([1, 1, 2]);
    expect(await registry.latest('s1')).toMatchObject({ version: 2, id: v2.id });
    await expect(registry.schemaById(999)).rejects.toMatchObject({ code: 'SCHEMA_NOT_FOUND' });
  });
});
