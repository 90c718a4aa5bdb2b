import { createServer, AddressInfo } from 'node:net';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Admin, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  EsflowError,
  InboundMessageMapping,
  IncomingMessage,
  MessageIntake,
  MessageOutcome,
  ok,
  Result,
  UnreadableMessage,
} from '@esflow/core';
import {
  createInboundMessageConsumer,
  InboundMessageConsumer,
  InboundMessageConsumerOptions,
} from '@esflow/kafka';
import { KafkaBroker, startKafkaBroker } from '../support/infra/kafka-broker.mjs';
import { SchemaRegistryServer, startSchemaRegistry } from '../support/infra/schema-registry.mjs';
import { uniqueCategory } from '../support/unique';
import { waitFor } from '../support/wait-for';

// The inbound consumer against a real Kafka 3.9 broker and a real Confluent-compatible registry
// (Apicurio), both started for this file: real Avro schemas registered, real Confluent-framed
// records produced. The intake is a small recording one (an inbox by message id), because this
// is a test of the consumer, not of correlation.

const PAYMENT_CAPTURED = {
  type: 'record',
  name: 'PaymentCaptured',
  namespace: 'com.acme.payments',
  fields: [
    { name: 'eventId', type: 'string' },
    {
      name: 'order',
      type: { type: 'record', name: 'OrderRef', fields: [{ name: 'id', type: 'string' }] },
    },
    {
      name: 'payment',
      type: {
        type: 'record',
        name: 'Payment',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'amountCents', type: 'long' },
        ],
      },
    },
    { name: 'receipt', type: 'bytes' },
  ],
};

const PAYMENT_FAILED = {
  type: 'record',
  name: 'PaymentFailed',
  namespace: 'com.acme.payments',
  fields: [
    { name: 'eventId', type: 'string' },
    { name: 'orderId', type: 'string' },
  ],
};

let broker: KafkaBroker;
let registryServer: SchemaRegistryServer;
let registry: SchemaRegistry;
let admin: Admin;
let producer: Producer;
const schemaIds = { captured: 0, failed: 0 };
const consumers: InboundMessageConsumer[] = [];

beforeAll(async () => {
  [broker, registryServer] = await Promise.all([startKafkaBroker(), startSchemaRegistry()]);
  registry = new SchemaRegistry({ host: registryServer.url });
  const subject = uniqueCategory('payments');
  schemaIds.captured = (
    await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(PAYMENT_CAPTURED) },
      { subject: `${subject}-captured` },
    )
  ).id;
  schemaIds.failed = (
    await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(PAYMENT_FAILED) },
      { subject: `${subject}-failed` },
    )
  ).id;
  const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await Promise.all([admin.connect(), producer.connect()]);
}, 180_000);

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
});

afterAll(async () => {
  await Promise.all([admin?.disconnect(), producer?.disconnect()]);
  await Promise.all([broker?.stop(), registryServer?.stop()]);
}, 60_000);

/**
 * An intake that records what it is given and answers like an inbox: `delivered` for a new
 * message id, `duplicate` for a known one. `hold(id)` keeps its calls for `id` pending until
 * released; `failNext(id, n)` makes the next `n` calls for `id` throw, as a store that is down.
 */
class RecordingIntake implements MessageIntake {
  readonly received: IncomingMessage[] = [];
  readonly answers: MessageOutcome[] = [];
  readonly quarantined: UnreadableMessage[] = [];
  private readonly known = new Set<string>();
  private readonly holds = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, number>();

  hold(messageId: string): () => void {
    let release: () => void = () => {};
    this.holds.set(
      messageId,
      new Promise<void>((resolve) => {
        release = () => {
          this.holds.delete(messageId);
          resolve();
        };
      }),
    );
    return () => release();
  }

  failNext(messageId: string, times: number): void {
    this.failures.set(messageId, times);
  }

  receivedIds(): string[] {
    return this.received.map((message) => message.messageId);
  }

  async receive(message: IncomingMessage): Promise<Result<MessageOutcome>> {
    this.received.push(message);
    const failures = this.failures.get(message.messageId) ?? 0;
    if (failures > 0) {
      this.failures.set(message.messageId, failures - 1);
      throw new EsflowError(ErrorCode.StoreUnavailable, 'the store is down', { retriable: true });
    }
    await this.holds.get(message.messageId);
    const duplicate = this.known.has(message.messageId);
    this.known.add(message.messageId);
    const outcome: MessageOutcome = {
      outcome: duplicate ? 'duplicate' : 'delivered',
      messageId: message.messageId,
      name: message.name,
      workflow: 'orderFulfillment',
      correlationKey: message.correlationKey,
      instanceId: message.correlationKey,
      ...(duplicate ? { firstOutcome: 'delivered' as const } : { revision: 3 }),
    };
    this.answers.push(outcome);
    return ok(outcome);
  }

  async quarantineUnreadable(message: UnreadableMessage): Promise<MessageOutcome> {
    this.quarantined.push(message);
    const duplicate = this.known.has(message.messageId);
    this.known.add(message.messageId);
    return {
      outcome: duplicate ? 'duplicate' : 'quarantined',
      messageId: message.messageId,
      name: message.name,
      workflow: '',
      correlationKey: message.correlationKey,
      reason: 'INVALID_PAYLOAD',
    };
  }
}

/** A one-partition topic of its own, the mappings onto it, and a consumer factory. */
async function fixture() {
  const topic = uniqueCategory('inbound');
  const groupId = `${topic}-group`;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
  });
  const mappings: InboundMessageMapping[] = [
    {
      topic,
      sourceEventType: 'PaymentCaptured',
      message: 'PaymentReceived',
      correlationKeyPath: 'order.id',
      sourceEventId: 'eventId',
      payload: {
        paymentId: 'payment.id',
        amountCents: 'payment.amountCents',
        receipt: 'receipt',
      },
      ttlSeconds: 300,
    },
    {
      topic,
      sourceEventType: 'payment.refunded',
      typeHeader: 'ce-type',
      message: 'PaymentRefunded',
      correlationKeyPath: 'order.id',
      sourceEventId: 'header:ce-id',
      payload: { paymentId: 'payment.id' },
    },
  ];
  const intake = new RecordingIntake();
  const consumer = (overrides: Partial<InboundMessageConsumerOptions> = {}) => {
    const created = createInboundMessageConsumer({
      brokers: broker.brokers,
      groupId,
      registryUrl: registryServer.url,
      mappings,
      intake,
      backoff: { initialMs: 50, maxMs: 200 },
      lagRefreshMs: 200,
      stopTimeoutMs: 200,
      ...overrides,
    });
    consumers.push(created);
    created.start();
    return created;
  };
  /** The group's committed offset of partition 0 (-1: none). */
  const committed = async () => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(offsets!.partitions.find((p) => p.partition === 0)!.offset);
  };
  const produce = (
    ...records: { value: Buffer; headers?: Record<string, string>; key?: string }[]
  ) => producer.send({ topic, messages: records.map((record) => ({ key: 'k', ...record })) });
  return { topic, groupId, intake, consumer, committed, produce };
}

const captured = (eventId: string, orderId = 'o-1') =>
  registry.encode(schemaIds.captured, {
    eventId,
    order: { id: orderId },
    payment: { id: `p-${eventId}`, amountCents: 4999 },
    receipt: Buffer.from([0xde, 0xad]),
  });

const until = <T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 20_000,
) => waitFor(probe, { timeoutMs, intervalMs: 20, what });

describe('inbound Kafka consumer (real broker, real registry)', () => {
  it('turns a mapped record into the message its mapping declares', async () => {
    const { topic, intake, consumer, committed, produce } = await fixture();
    await produce(
      { value: await captured('evt-1') },
      {
        value: await captured('ignored-id', 'o-2'),
        headers: { 'ce-type': 'payment.refunded', 'ce-id': 'refund-1' },
      },
    );
    const running = consumer();
    await until(() => intake.received.length === 2, 'two messages');
    expect(intake.received[0]).toEqual({
      name: 'PaymentReceived',
      correlationKey: 'o-1',
      messageId: 'evt-1',
      payload: { paymentId: 'p-evt-1', amountCents: 4999, receipt: '3q0=' },
      ttlSeconds: 300,
      source: {
        kind: 'kafka',
        topic,
        partition: 0,
        offset: '0',
        sourceEventType: 'com.acme.payments.PaymentCaptured',
      },
    });
    expect(intake.received[1]).toEqual({
      name: 'PaymentRefunded',
      correlationKey: 'o-2',
      messageId: 'refund-1',
      payload: { paymentId: 'p-ignored-id' },
      source: {
        kind: 'kafka',
        topic,
        partition: 0,
        offset: '1',
        sourceEventType: 'payment.refunded',
      },
    });
    await until(async () => (await committed()) === 2, 'both offsets committed');
    expect(running.stats()).toMatchObject({ received: 2, committed: 2 });
    expect(running.stats().outcomes.delivered).toBe(2);
    expect(running.status()).toMatchObject({
      name: 'kafka-inbound',
      kind: 'inboundMessages',
      state: 'live',
      failing: false,
    });
  });

  it('skips a type no mapping names and commits its offset', async () => {
    const { intake, consumer, committed, produce } = await fixture();
    await produce(
      { value: await registry.encode(schemaIds.failed, { eventId: 'f-1', orderId: 'o-1' }) },
      { value: await captured('evt-2') },
    );
    const running = consumer();
    await until(() => intake.received.length === 1, 'the mapped record');
    await until(async () => (await committed()) === 2, 'both offsets committed');
    expect(intake.receivedIds()).toEqual(['evt-2']);
    expect(intake.quarantined).toEqual([]);
    expect(running.stats()).toMatchObject({ received: 2, skipped: 1, committed: 2 });
  });

  it('quarantines poison records and goes on with the next records of the partition', async () => {
    const { topic, intake, consumer, committed, produce } = await fixture();
    const garbage = Buffer.from('definitely not avro');
    const unknownSchema = Buffer.from([0, 0x7f, 0xff, 0xff, 0xfe, 1, 2, 3]);
    const notFitting = await registry.encode(schemaIds.captured, {
      eventId: '',
      order: { id: 'o-1' },
      payment: { id: 'p', amountCents: 1 },
      receipt: Buffer.alloc(0),
    });
    await produce(
      { value: garbage, headers: { 'ce-id': 'poison-1' } },
      { value: unknownSchema },
      { value: notFitting },
      { value: await captured('evt-3') },
    );
    const running = consumer();
    await until(() => intake.received.length === 1, 'the record after the poison');
    await until(async () => (await committed()) === 4, 'all four offsets committed');
    expect(intake.receivedIds()).toEqual(['evt-3']);
    expect(intake.quarantined).toEqual([
      {
        name: '',
        correlationKey: '',
        messageId: 'poison-1',
        rawPayload: garbage.toString('base64'),
        problem: expect.stringContaining('not in the Confluent wire format'),
        source: { kind: 'kafka', topic, partition: 0, offset: '0', sourceEventType: '' },
      },
      expect.objectContaining({
        messageId: `kafka:${topic}:0:1`,
        rawPayload: unknownSchema.toString('base64'),
        problem: `schema id ${0x7ffffffe} is unknown to the schema registry`,
      }),
      {
        name: 'PaymentReceived',
        correlationKey: 'o-1',
        messageId: `kafka:${topic}:0:2`,
        rawPayload: JSON.stringify({
          eventId: '',
          order: { id: 'o-1' },
          payment: { id: 'p', amountCents: 1 },
          receipt: '',
        }),
        problem:
          'the record does not fit the mapping PaymentCaptured → PaymentReceived: source event id (eventId) is an empty string, not a non-empty string or a number',
        source: {
          kind: 'kafka',
          topic,
          partition: 0,
          offset: '2',
          sourceEventType: 'com.acme.payments.PaymentCaptured',
        },
      },
    ]);
    expect(running.stats()).toMatchObject({ received: 4, quarantined: 3, committed: 4 });
  });

  it('hands a redelivered record to the intake again and counts its duplicate answer', async () => {
    const { intake, consumer, committed, produce } = await fixture();
    await produce({ value: await captured('evt-4') }, { value: await captured('evt-4') });
    const running = consumer();
    await until(async () => (await committed()) === 2, 'both offsets committed');
    expect(intake.receivedIds()).toEqual(['evt-4', 'evt-4']);
    expect(intake.answers.map((answer) => answer.outcome)).toEqual(['delivered', 'duplicate']);
    expect(running.stats()).toMatchObject({ received: 2, duplicates: 1 });
    expect(running.stats().outcomes).toMatchObject({ delivered: 1, duplicate: 1 });
  });

  it('commits an offset only after the intake resolved: a record left pending comes again', async () => {
    const { intake, consumer, committed, produce } = await fixture();
    const release = intake.hold('evt-5');
    await produce({ value: await captured('evt-5') });
    const first = consumer();
    await until(() => intake.received.length === 1, 'the record to reach the intake');
    await first.stop();
    expect(first.status().state).toBe('stopped');
    expect(await committed(), 'nothing committed while the intake had not answered').toBe(-1);
    // The abandoned call completes after all (its outcome is durable): the next one is a duplicate.
    release();
    await until(() => intake.answers.length === 1, 'the held call to complete');

    const second = consumer();
    await until(async () => (await committed()) === 1, 'the offset committed by the new consumer');
    expect(intake.receivedIds()).toEqual(['evt-5', 'evt-5']);
    expect(intake.answers.map((answer) => answer.outcome)).toEqual(['delivered', 'duplicate']);
    expect(second.stats()).toMatchObject({ received: 1, duplicates: 1, committed: 1 });
  });

  it('holds the partition while the intake throws, and goes on once it answers', async () => {
    const { intake, consumer, committed, produce } = await fixture();
    intake.failNext('evt-6', 5);
    await produce({ value: await captured('evt-6') }, { value: await captured('evt-7') });
    const running = consumer();
    await until(
      () => running.status().state === 'retrying' && running.status(),
      'the consumer to retry',
    );
    expect(running.status()).toMatchObject({
      failing: false,
      lastError: { code: 'STORE_UNAVAILABLE', message: 'the store is down' },
    });
    await until(async () => (await committed()) === 2, 'both offsets committed');
    expect(intake.receivedIds()).toEqual([...Array(6).fill('evt-6'), 'evt-7']);
    expect(running.status().state).toBe('live');
    expect(running.stats()).toMatchObject({ received: 2, committed: 2 });
  });

  it('reports its lag: high watermark − committed offset over its partitions', async () => {
    const { intake, consumer, committed, produce } = await fixture();
    const release = intake.hold('evt-8');
    await produce(
      { value: await captured('evt-8') },
      { value: await captured('evt-9') },
      { value: await captured('evt-10') },
    );
    const running = consumer();
    const behind = await until(
      () => (running.status().lag?.events === 3 ? running.status().lag : undefined),
      'a lag of 3',
    );
    expect(behind!.seconds).toBeGreaterThanOrEqual(0);
    release();
    await until(() => running.status().lag?.events === 0, 'a lag of 0');
    expect(await committed()).toBe(3);
    expect(running.status()).toMatchObject({ state: 'live', lag: { events: 0, seconds: 0 } });
  });

  it('retries brokers it cannot reach, and stops promptly, also while connecting', async () => {
    const { consumer } = await fixture();
    const refused = consumer({ brokers: ['127.0.0.1:1'] });
    const status = await until(
      () => refused.status().state === 'retrying' && refused.status(),
      'the consumer to retry',
    );
    expect(status).toMatchObject({ failing: false, lastError: { code: 'KAFKA_UNAVAILABLE' } });
    await refused.stop();
    expect(refused.status().state).toBe('stopped');

    // A broker that accepts connections and never answers: stop() does not wait for timeouts.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const hanging = consumer({ brokers: [`127.0.0.1:${port}`] });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(hanging.status().state).toBe('connecting');
      const stopping = Date.now();
      await hanging.stop();
      expect(Date.now() - stopping).toBeLessThan(2_000);
      expect(hanging.status().state).toBe('stopped');
    } finally {
      silent.close();
    }
  });
});
