import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Admin, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defineFeature,
  InboundMessageMapping,
  MessageCorrelator,
  MessageIntake,
} from '@esflow/core';
import {
  ORDER_FULFILLMENT_SCHEMAS,
  orderFulfillment,
  PAYMENT_SERVICE_SCHEMAS,
} from '@esflow/example-order-fulfillment';
import { createInboundMessageConsumer, InboundMessageConsumer } from '@esflow/kafka';
import { MESSAGE_CORRELATOR } from '@esflow/nest';
import { startTestApp, TestApp } from '@esflow/testing';
import { httpClient } from '../support/http-client';
import { KafkaBroker, startKafkaBroker } from '../support/infra/kafka-broker.mjs';
import { SchemaRegistryServer, startSchemaRegistry } from '../support/infra/schema-registry.mjs';
import { uniqueCategory } from '../support/unique';
import { waitFor } from '../support/wait-for';

// Every outcome of a message, reached through Kafka: the orderFulfillment workflow in an
// application (its correlation service in the same process), an inbound consumer over a real
// broker and a real registry (Apicurio) feeding the application's correlator, and the records
// the payment service and a support desk would publish. Each outcome is then read where an
// operator reads it: GET /messages.

/** The support desk's event (its own schema): a customer asked to cancel their unpaid order. */
const CANCELLATION_REQUESTED = {
  type: 'record',
  name: 'CancellationRequested',
  namespace: 'com.example.support',
  fields: [
    { name: 'eventId', type: 'string' },
    { name: 'customerId', type: 'string' },
    { name: 'reason', type: 'string' },
  ],
};

let broker: KafkaBroker;
let registryServer: SchemaRegistryServer;
let registry: SchemaRegistry;
let admin: Admin;
let producer: Producer;
let app: TestApp;
let consumer: InboundMessageConsumer;
const schemaIds = { captured: 0, cancellation: 0 };
const topic = uniqueCategory('payments');

const mappings: InboundMessageMapping[] = [
  {
    topic,
    sourceEventType: 'com.example.payments.PaymentCaptured',
    message: 'PaymentReceived',
    correlationKeyPath: 'orderId',
    sourceEventId: 'eventId',
    payload: { paymentId: 'payment.id', amountCents: 'payment.amountCents' },
    // Short, so that an unmatched payment is quarantined within the test.
    ttlSeconds: 2,
  },
  {
    topic,
    sourceEventType: 'com.example.support.CancellationRequested',
    message: 'OrderCancelled',
    correlationKeyPath: 'customerId',
    sourceEventId: 'eventId',
    payload: { reason: 'reason' },
  },
];

beforeAll(async () => {
  [broker, registryServer] = await Promise.all([startKafkaBroker(), startSchemaRegistry()]);
  registry = new SchemaRegistry({ host: registryServer.url });
  const captured = readFileSync(join(PAYMENT_SERVICE_SCHEMAS, 'PaymentCaptured.avsc'), 'utf8');
  schemaIds.captured = (
    await registry.register(
      { type: SchemaType.AVRO, schema: captured },
      { subject: `${topic}-captured` },
    )
  ).id;
  schemaIds.cancellation = (
    await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(CANCELLATION_REQUESTED) },
      { subject: `${topic}-cancellation` },
    )
  ).id;
  const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await Promise.all([admin.connect(), producer.connect()]);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
  });
  app = await startTestApp({
    features: [
      defineFeature({
        workflows: [orderFulfillment],
        schemas: ORDER_FULFILLMENT_SCHEMAS,
        inbound: mappings,
      }),
    ],
  });
  consumer = createInboundMessageConsumer({
    brokers: broker.brokers,
    groupId: `${topic}-group`,
    registryUrl: registryServer.url,
    mappings,
    intake: app.app.get<MessageCorrelator>(MESSAGE_CORRELATOR),
  });
  consumer.start();
}, 240_000);

afterAll(async () => {
  await consumer?.stop();
  await app?.close();
  await Promise.all([admin?.disconnect(), producer?.disconnect()]);
  await Promise.all([broker?.stop(), registryServer?.stop()]);
}, 60_000);

type Details = {
  message: { status: string; reason: string | null; instanceId: string | null };
  source: { kind: string; topic?: string };
  payload: unknown;
};

const http = () => httpClient(app.baseUrl);

async function produce(key: string, value: Buffer): Promise<void> {
  await producer.send({ topic, messages: [{ key, value }] });
}

const captured = (eventId: string, orderId: string) =>
  registry.encode(schemaIds.captured, {
    eventId,
    orderId,
    payment: { id: `pay-${orderId}`, amountCents: 4999 },
  });

async function placeOrder(orderId: string, extra: Record<string, unknown> = {}) {
  const placed = await http().post('/workflows/orderFulfillment', {
    input: {
      orderId,
      customerId: `c-${orderId}`,
      amountCents: 4999,
      currency: 'EUR',
      items: [{ sku: 'SKU-1', quantity: 1 }],
      ...extra,
    },
  });
  expect(placed.status).toBe(201);
}

const stateOf = async (orderId: string) =>
  (await http().get<{ state: string }>(`/workflows/orderFulfillment/${orderId}`)).body.state;

/** The message as GET /messages/{id} shows it, once it has `status`. */
async function settled(messageId: string, status: string): Promise<Details> {
  return waitFor(
    async () => {
      const { status: code, body } = await http().get<Details>(`/messages/${messageId}`);
      return code === 200 && body.message.status === status ? body : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 50, what: `message ${messageId} ${status}` },
  );
}

describe('message outcomes through Kafka', () => {
  it('delivers a captured payment to its waiting order, once, however often the record comes', async () => {
    const orderId = uniqueCategory('order');
    await placeOrder(orderId);
    const record = await captured(`evt-${orderId}`, orderId);
    await produce(orderId, record);
    await produce(orderId, record);
    const details = await settled(`evt-${orderId}`, 'delivered');
    expect(details.message.instanceId).toBe(orderId);
    expect(await stateOf(orderId)).toBe('fetchingGoods');
    await waitFor(async () => consumer.stats().duplicates >= 1, { what: 'the redelivery seen' });
    const { body } = await http().get<{ events: { type: string }[] }>(
      `/workflows/orderFulfillment/${orderId}/history`,
    );
    expect(body.events.filter((e) => e.type === 'PaymentReceived')).toHaveLength(1);
  });

  it('buffers a payment for an order not placed yet, and quarantines it NO_MATCHING_INSTANCE when its time runs out', async () => {
    const orderId = uniqueCategory('nobody');
    await produce(orderId, await captured(`evt-${orderId}`, orderId));
    await settled(`evt-${orderId}`, 'buffered');
    const details = await settled(`evt-${orderId}`, 'quarantined');
    expect(details.message.reason).toBe('NO_MATCHING_INSTANCE');
    expect(details.source).toMatchObject({ kind: 'kafka', topic });
    const listed = await http().get<{ messages: { messageId: string }[] }>(
      `/messages?status=quarantined&correlationKey=${orderId}`,
    );
    expect(listed.body.messages.map((m) => m.messageId)).toEqual([`evt-${orderId}`]);
  });

  it('quarantines a cancellation two unpaid orders of one customer accept (AMBIGUOUS_CORRELATION)', async () => {
    const customerId = uniqueCategory('customer');
    const [first, second] = [uniqueCategory('order'), uniqueCategory('order')];
    await placeOrder(first, { customerId });
    await placeOrder(second, { customerId });
    const eventId = `cancel-${customerId}`;
    const record = await registry.encode(schemaIds.cancellation, {
      eventId,
      customerId,
      reason: 'changed my mind',
    });
    await produce(customerId, record);
    const details = await settled(eventId, 'quarantined');
    expect(details.message.reason).toBe('AMBIGUOUS_CORRELATION');
    expect([await stateOf(first), await stateOf(second)]).toEqual([
      'awaitingPayment',
      'awaitingPayment',
    ]);
  });

  it('quarantines a payment that comes after the payment window cancelled its order (LATE_MESSAGE)', async () => {
    const orderId = uniqueCategory('order');
    await placeOrder(orderId, { paymentWindowSeconds: 1 });
    await waitFor(async () => (await stateOf(orderId)) === 'cancelled', {
      timeoutMs: 15_000,
      what: 'the payment window timer cancelling the order',
    });
    await produce(orderId, await captured(`evt-${orderId}`, orderId));
    const details = await settled(`evt-${orderId}`, 'quarantined');
    expect(details.message).toMatchObject({ reason: 'LATE_MESSAGE', instanceId: orderId });
  });

  it('quarantines a poison record INVALID_PAYLOAD, and the next record on its partition still gets through', async () => {
    const orderId = uniqueCategory('order');
    await placeOrder(orderId);
    // The same key: the same partition, the poison record first.
    await producer.send({
      topic,
      messages: [
        { key: orderId, value: Buffer.from('not avro at all') },
        { key: orderId, value: await captured(`evt-${orderId}`, orderId) },
      ],
    });
    await settled(`evt-${orderId}`, 'delivered');
    const poison = await waitFor(
      async () => {
        const { body } = await http().get<{
          messages: { messageId: string; reason: string | null; source: string }[];
        }>(`/messages?status=quarantined&limit=1000`);
        return body.messages.find(
          (m) => m.reason === 'INVALID_PAYLOAD' && m.messageId.startsWith(`kafka:${topic}:`),
        );
      },
      { timeoutMs: 20_000, what: 'the poison record quarantined' },
    );
    const details = (await http().get<Details>(`/messages/${poison.messageId}`)).body;
    expect(details.source).toMatchObject({ kind: 'kafka', topic });
    expect(JSON.stringify(details.payload)).toContain(
      Buffer.from('not avro at all').toString('base64'),
    );
  });

  it('a crash between the durable outcome and the offset commit: the record comes again, as a duplicate, and is delivered once', async () => {
    // A topic and group of their own; the first consumer's intake records the outcome and then
    // never answers, as a process killed right after its append and before its commit.
    const crashTopic = uniqueCategory('crash');
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: crashTopic, numPartitions: 1, replicationFactor: 1 }],
    });
    const crashMappings = mappings.map((mapping) => ({ ...mapping, topic: crashTopic }));
    const correlator = app.app.get<MessageCorrelator>(MESSAGE_CORRELATOR);
    const outcomes: string[] = [];
    const dying: MessageIntake = {
      receive: async (message) => {
        const result = await correlator.receive(message);
        if (result.ok) outcomes.push(result.value.outcome);
        return new Promise(() => undefined);
      },
      quarantineUnreadable: (message) => correlator.quarantineUnreadable(message),
    };
    const groupId = `${crashTopic}-group`;
    const consumerOf = (intake: MessageIntake) =>
      createInboundMessageConsumer({
        brokers: broker.brokers,
        groupId,
        registryUrl: registryServer.url,
        mappings: crashMappings,
        intake,
        stopTimeoutMs: 100,
      });
    const orderId = uniqueCategory('order');
    await placeOrder(orderId);
    const first = consumerOf(dying);
    first.start();
    await producer.send({
      topic: crashTopic,
      messages: [{ key: orderId, value: await captured(`evt-${orderId}`, orderId) }],
    });
    await waitFor(async () => (await stateOf(orderId)) === 'fetchingGoods', {
      timeoutMs: 20_000,
      what: 'the payment delivered by the consumer that then dies',
    });
    await first.stop();
    expect(first.stats().committed).toBe(0);
    const second = consumerOf(correlator);
    second.start();
    try {
      await waitFor(async () => second.stats().duplicates === 1 && second.stats().committed === 1, {
        timeoutMs: 30_000,
        what: 'the redelivered record answered as a duplicate and committed',
      });
    } finally {
      await second.stop();
    }
    expect(outcomes).toEqual(['delivered']);
    const { body } = await http().get<{ events: { type: string }[] }>(
      `/workflows/orderFulfillment/${orderId}/history`,
    );
    expect(body.events.filter((e) => e.type === 'PaymentReceived')).toHaveLength(1);
  });
});
