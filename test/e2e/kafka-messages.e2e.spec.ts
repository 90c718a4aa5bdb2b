import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Admin, Kafka, logLevel, Message, Partitioners, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYMENT_SERVICE_SCHEMAS } from '@esflow/example-order-fulfillment';
import { AppProcess, startApp } from '../support/app-process';
import { anOrder } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';
import { KafkaBroker, startKafkaBroker } from '../support/infra/kafka-broker.mjs';
import { SchemaRegistryServer, startSchemaRegistry } from '../support/infra/schema-registry.mjs';
import { uniqueCategory } from '../support/unique';
import { waitFor } from '../support/wait-for';

// The payment service's events on Kafka become orderFulfillment's messages: the built api and
// projector (the inbound consumer runs in the projector) on one data dir (SQLite), against a
// real Kafka broker and a real Confluent-compatible registry (Apicurio). The records are the
// payment service's own Avro schemas, registered and Confluent-framed as that service would.

const WORKFLOW = 'orderFulfillment';
const PARTITIONS = 3;

type Indexed = {
  messageId: string;
  name: string;
  status: string;
  reason: string | null;
  detail: string | null;
  instanceId: string | null;
  source: string;
};
type Details = {
  message: Indexed;
  payload: unknown;
  source: Record<string, unknown>;
  attempts: { trigger: string; outcome: string }[];
};

let broker: KafkaBroker;
let registryServer: SchemaRegistryServer;
let registry: SchemaRegistry;
let admin: Admin;
let producer: Producer;
let api: AppProcess;
let projector: AppProcess;
let http: ReturnType<typeof httpClient>;
const name = uniqueCategory('e2e');
/** The payment service's topic of this run (ESFLOW_PAYMENTS_TOPIC of the projector). */
const topic = `${name}.payments`;
const schemaIds = { captured: 0, declined: 0 };

beforeAll(async () => {
  [broker, registryServer] = await Promise.all([startKafkaBroker(), startSchemaRegistry()]);
  registry = new SchemaRegistry({ host: registryServer.url });
  for (const [kind, file] of [
    ['captured', 'PaymentCaptured.avsc'],
    ['declined', 'PaymentDeclined.avsc'],
  ] as const) {
    const schema = readFileSync(join(PAYMENT_SERVICE_SCHEMAS, file), 'utf8');
    const fullName = `com.example.payments.${file.replace('.avsc', '')}`;
    // The payment service's subjects (topic + record name: two record types on one topic).
    schemaIds[kind] = (
      await registry.register(
        { type: SchemaType.AVRO, schema },
        { subject: `${topic}-${fullName}` },
      )
    ).id;
  }
  const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await Promise.all([admin.connect(), producer.connect()]);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
  });

  const env = {
    SCHEMA_REGISTRY_URL: registryServer.url,
    ESFLOW_PAYMENTS_TOPIC: topic,
    // A restarted projector takes over the message index and correlation service soon.
    ESFLOW_PROJECTION_LEASE_MS: '1500',
  };
  api = await startApp('api', { env });
  projector = await startApp('projector', {
    dataDir: api.dataDir,
    env: {
      ...env,
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_TOPIC_TEMPLATE: `${name}.{workflow}`,
      KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
      KAFKA_CLIENT_ID: name,
      KAFKA_TRANSACTIONAL_ID: `${name}-tx`,
    },
  });
  http = httpClient(api.baseUrl);
}, 240_000);

afterAll(async () => {
  await projector?.dispose();
  await api?.dispose();
  await Promise.all([admin?.disconnect(), producer?.disconnect()]);
  await Promise.all([broker?.stop(), registryServer?.stop()]);
}, 60_000);

/** A PaymentCaptured of the payment service for `orderId`, Confluent-framed. */
const captured = (orderId: string, eventId = uniqueCategory('evt')) =>
  registry.encode(schemaIds.captured, {
    eventId,
    orderId,
    payment: { id: `pay-${orderId}`, amountCents: 4999 },
  });

/** Produces `messages` to the payments topic; where each landed. */
async function produce(...messages: Message[]) {
  const written = await producer.send({ topic, messages });
  return written.map((meta) => ({ partition: meta.partition, offset: meta.baseOffset! }));
}

async function placeOrder(orderId: string) {
  const started = await http.post(`/workflows/${WORKFLOW}`, { input: anOrder(orderId) });
  expect(started.status, `start ${orderId}`).toBe(201);
}

async function stateOf(orderId: string): Promise<string> {
  return (await http.get<{ state: string }>(`/workflows/${WORKFLOW}/${orderId}`)).body.state;
}

async function paymentsReceived(orderId: string): Promise<number> {
  const { status, body } = await http.get<{ events: { type: string }[] }>(
    `/workflows/${WORKFLOW}/${orderId}/history`,
  );
  expect(status, `${orderId}'s history`).toBe(200);
  return body.events.filter((event) => event.type === 'PaymentReceived').length;
}

async function messageOf(messageId: string): Promise<Details | undefined> {
  const { status, body } = await http.get<Details>(`/messages/${messageId}`);
  return status === 200 ? body : undefined;
}

const untilMessage = (messageId: string, status: string, timeoutMs = 15_000) =>
  waitFor(
    async () => {
      const details = await messageOf(messageId);
      return details?.message.status === status && details;
    },
    { timeoutMs, intervalMs: 50, what: `message ${messageId} ${status}` },
  );

const untilState = (orderId: string, state: string, timeoutMs = 15_000) =>
  waitFor(async () => (await stateOf(orderId)) === state, {
    timeoutMs,
    intervalMs: 50,
    what: `${orderId} in ${state}`,
  });

/** The projector's `esflow_inbound_records{kind=...}` gauge (-1 when it is not exported). */
async function inboundRecords(kind: string): Promise<number> {
  const metrics = await httpClient(projector.baseUrl).get<string>('/metrics');
  const line = new RegExp(`^esflow_inbound_records\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(
    metrics.body,
  );
  return line ? Number(line[1]) : -1;
}

/** The projector's inbound group: `<KAFKA_CLIENT_ID>-inbound`, as the bundled projector names it. */
const inboundGroupId = () => `${name}-inbound`;

/** The inbound group's committed offset and the end of each partition of the topic. */
async function consumption() {
  const ends = await admin.fetchTopicOffsets(topic);
  const [group] = await admin.fetchOffsets({ groupId: inboundGroupId(), topics: [topic] });
  return ends.map((end) => ({
    partition: end.partition,
    end: BigInt(end.high),
    // -1: nothing committed (yet), as for a partition nothing was written to.
    committed: BigInt(group!.partitions.find((p) => p.partition === end.partition)?.offset ?? -1),
    empty: end.high === end.low,
  }));
}

/** Waits until the inbound group has committed every partition of the topic to its end. */
async function untilConsumed(timeoutMs = 20_000) {
  let last = '';
  await waitFor(
    async () => {
      const partitions = await consumption();
      last = partitions.map((p) => `${p.partition}: ${p.committed}/${p.end}`).join(', ');
      return partitions.every((p) => p.empty || p.committed >= p.end);
    },
    {
      timeoutMs,
      intervalMs: 100,
      what: `${inboundGroupId()} to commit ${topic} to its end`,
    },
  ).catch((error: Error) => {
    throw new Error(`${error.message} (committed/end: ${last})`);
  });
}

describe('payment events on Kafka become workflow messages (real broker, real registry, built apps)', () => {
  it('delivers a payment to its order, buffers one that comes first, and delivers a redelivered record once', async () => {
    // Placed first: delivered as the record is consumed.
    const paid = uniqueCategory('order');
    await placeOrder(paid);
    const paidEvent = uniqueCategory('evt');
    const record = { key: paid, value: await captured(paid, paidEvent) };
    await produce(record);
    await untilState(paid, 'fetchingGoods');
    const delivered = await untilMessage(paidEvent, 'delivered');
    expect(delivered.message).toMatchObject({ name: 'PaymentReceived', instanceId: paid });

    // The payment before its order: buffered, then delivered once the order is placed.
    const early = uniqueCategory('order');
    const earlyEvent = uniqueCategory('evt');
    await produce({ key: early, value: await captured(early, earlyEvent) });
    const buffered = await untilMessage(earlyEvent, 'buffered');
    expect(buffered.source).toMatchObject({
      kind: 'kafka',
      topic,
      sourceEventType: 'com.example.payments.PaymentCaptured',
    });
    expect(buffered.payload).toEqual({ paymentId: `pay-${early}`, amountCents: 4999 });
    await placeOrder(early);
    await untilState(early, 'fetchingGoods');
    const afterOrder = await untilMessage(earlyEvent, 'delivered');
    expect(afterOrder.attempts.map((a) => a.outcome)).toEqual(['buffered', 'delivered']);

    // The same record again, once it was delivered, and twice in a row for another order.
    const twice = uniqueCategory('order');
    await placeOrder(twice);
    const twiceRecord = { key: twice, value: await captured(twice) };
    const duplicatesBefore = await inboundRecords('duplicates');
    await produce(record, twiceRecord, twiceRecord);
    await untilState(twice, 'fetchingGoods');
    await untilConsumed();
    await waitFor(async () => (await inboundRecords('duplicates')) >= duplicatesBefore + 2, {
      timeoutMs: 10_000,
      what: 'both redelivered records answered duplicate',
    });
    expect(await paymentsReceived(paid), `${paid}: one PaymentReceived`).toBe(1);
    expect(await paymentsReceived(twice), `${twice}: one PaymentReceived`).toBe(1);
    expect(await paymentsReceived(early), `${early}: one PaymentReceived`).toBe(1);
    expect((await messageOf(paidEvent))!.message.status).toBe('delivered');
  });

  it('turns a PaymentDeclined into PaymentFailed, which cancels the order', async () => {
    const orderId = uniqueCategory('order');
    await placeOrder(orderId);
    const eventId = uniqueCategory('evt');
    await produce({
      key: orderId,
      value: await registry.encode(schemaIds.declined, {
        eventId,
        orderId,
        reason: 'card declined',
      }),
    });
    await untilState(orderId, 'cancelled');
    const declined = await untilMessage(eventId, 'delivered');
    expect(declined.message).toMatchObject({ name: 'PaymentFailed', instanceId: orderId });
  });

  it('quarantines a poison record (INVALID_PAYLOAD) and still delivers the next record of its partition', async () => {
    const orderId = uniqueCategory('order');
    await placeOrder(orderId);
    const garbage = Buffer.from('{"eventId":"not avro at all"}');
    // A header named like the mapping's id field: the mapping reads the id from the value
    // (`eventId`, not `header:eventId`), so an unreadable record is named by where it was.
    const [poison] = await produce({
      key: orderId,
      value: garbage,
      headers: { eventId: 'hdr-id' },
    });
    const [good] = await produce({ key: orderId, value: await captured(orderId) });
    expect(good!.partition, 'the same key, the same partition').toBe(poison!.partition);
    await untilState(orderId, 'fetchingGoods');

    const poisonId = `kafka:${topic}:${poison!.partition}:${poison!.offset}`;
    const listed = await waitFor(
      async () =>
        (
          await http.get<{ messages: Indexed[] }>('/messages?status=quarantined&limit=100')
        ).body.messages.find((m) => m.messageId === poisonId),
      { timeoutMs: 15_000, intervalMs: 50, what: `${poisonId} listed as quarantined` },
    );
    expect(listed).toMatchObject({ reason: 'INVALID_PAYLOAD', source: 'kafka', name: '' });
    const details = (await messageOf(poisonId))!;
    expect(details.message.detail).toContain('not in the Confluent wire format');
    expect(details.payload, 'the raw value, base64').toBe(garbage.toString('base64'));
    expect(details.source).toMatchObject({
      kind: 'kafka',
      topic,
      partition: poison!.partition,
      offset: poison!.offset,
    });
    expect((await http.get('/messages/hdr-id')).status).toBe(404);
    expect(await paymentsReceived(orderId)).toBe(1);
  });

  it('loses nothing and delivers nothing twice when the projector is SIGKILLed while consuming', async () => {
    const orders = Array.from({ length: 30 }, () => uniqueCategory('order'));
    for (let i = 0; i < orders.length; i += 10)
      await Promise.all(orders.slice(i, i + 10).map(placeOrder));
    const records = await Promise.all(
      orders.map(async (orderId) => ({ key: orderId, value: await captured(orderId) })),
    );
    const committedBefore = await inboundRecords('committed');
    await produce(...records);
    await waitFor(async () => (await inboundRecords('committed')) >= committedBefore + 3, {
      timeoutMs: 15_000,
      intervalMs: 2,
      what: 'the consumer to commit a few records',
    });
    await projector.kill('SIGKILL');
    const killedAt = Date.now();
    const states = await Promise.all(orders.map(stateOf));
    const paidAtKill = states.filter((state) => state === 'fetchingGoods').length;
    expect(paidAtKill, 'killed while consuming').toBeGreaterThanOrEqual(3);
    expect(paidAtKill, 'killed while consuming').toBeLessThan(orders.length);

    // The restarted consumer gets partitions once the group has dropped the killed member, at
    // the end of its session (kafkajs's default: 30 s); its uncommitted records come again.
    await projector.restart();
    await waitFor(
      async () =>
        (await Promise.all(orders.map(stateOf))).every((state) => state === 'fetchingGoods'),
      { timeoutMs: 60_000, intervalMs: 200, what: 'all 30 orders in fetchingGoods' },
    );
    const caughtUpMs = Date.now() - killedAt;
    await untilConsumed();
    for (const orderId of orders)
      expect(await paymentsReceived(orderId), `${orderId}: one PaymentReceived`).toBe(1);

    const duplicates = await inboundRecords('duplicates');
    expect(duplicates).toBeGreaterThanOrEqual(0);
    const health = await httpClient(projector.baseUrl).get<{
      processors: { kind: string; state: string; failing: boolean }[];
    }>('/health');
    expect(health.body.processors.find((p) => p.kind === 'inboundMessages')).toMatchObject({
      state: 'live',
      failing: false,
    });
    process.stdout.write(
      `kafka-messages e2e: SIGKILL with ${paidAtKill}/30 orders paid; all 30 paid once ${caughtUpMs} ms after the kill; restarted projector: esflow_inbound_records{kind="duplicates"} ${duplicates}, received ${await inboundRecords('received')}, committed ${await inboundRecords('committed')}\n`,
    );
  }, 90_000);
});
