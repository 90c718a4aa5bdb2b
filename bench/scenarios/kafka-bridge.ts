import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { ExpectedRevision, EventToAppend, RecordedEvent } from '@esflow/core';
import { createSqliteEventStore, SqliteEventStore } from '@esflow/sqlite';
import {
  createKafkaBridge,
  DEFAULT_BATCH_LIMITS,
  toOutgoingRecord,
  topicFor,
  workflowStreamFilter,
} from '@esflow/kafka';
import { watchTopics } from '@esflow/kafka/testing';

const REPO = resolve(__dirname, '..', '..', '..');
const WORKFLOW = 'orderFulfillment';
const EVENTS_PER_INSTANCE = 5;
const PARTITIONS = 3;

export interface KafkaThroughput {
  /** End to end: from start (the bridge's connection and checkpoint read included) to the last record seen. */
  readonly eventsPerSecond: number;
  readonly seconds: number;
  /** From the first record the consumer saw to the last: the steady rate, start-up excluded. */
  readonly steadyEventsPerSecond: number;
  readonly firstRecordAfterSeconds: number;
}

export interface KafkaBridgeBenchResult {
  readonly events: number;
  readonly partitions: number;
  readonly batchEvents: number;
  /** The bridge: store → topic, one Kafka transaction per batch with its checkpoint. */
  readonly exactlyOnce: KafkaThroughput & { readonly transactions: number };
  /** A plain kafkajs producer (no transactions, no idempotence) sending the same records. */
  readonly plainProducer: KafkaThroughput;
  readonly exactlyOnceVsPlain: number;
  readonly exactlyOnceVsPlainSteady: number;
}

interface BrokerHandle {
  readonly brokers: string[];
  stop(): Promise<void>;
}

/**
 * `events` events (Confluent-framed, ~200-byte payloads, 5 per instance) are put in a SQLite
 * store first; then each contender runs until a read_committed consumer has seen them all:
 * the bridge with exactly-once on, and, as the baseline in the same run, a plain producer
 * reading the same store pages and sending the same records (key, value, headers) in batches
 * of the same size, one at a time. Starts its own Kafka broker; resolves `{ skipped }` with
 * the reason when none can start (no Java, no Maven, ...).
 */
export async function measureKafkaBridge(
  events: number,
): Promise<KafkaBridgeBenchResult | { readonly skipped: string }> {
  let broker: BrokerHandle;
  try {
    const helper = (await import(join(REPO, 'test/support/infra/kafka-broker.mjs'))) as {
      startKafkaBroker(): Promise<BrokerHandle>;
    };
    broker = await helper.startKafkaBroker();
  } catch (error) {
    const line = (error as Error).message.split('\n')[0] ?? '';
    const reason = line.length > 200 ? `${line.slice(0, 90)} … ${line.slice(-90)}` : line;
    return { skipped: `no Kafka broker could start: ${reason}` };
  }
  const dir = mkdtempSync(join(tmpdir(), 'esflow-bench-kafka-'));
  const store = createSqliteEventStore({ filename: join(dir, 'esflow.sqlite') });
  try {
    await fill(store, events);
    const name = `bench${randomUUID().slice(0, 8)}`;
    // Warm the JVM up (C1 only) so neither contender pays for it alone; the exactly-once
    // warm-up also has the new broker create its transaction log (__transaction_state) and
    // load its transaction coordinator, a one-off of a new cluster (~0.6 s here) that the
    // measured bridge would otherwise pay alone.
    await plainProducer(broker.brokers, store, `${name}warmup`, Math.min(events, 2_000));
    await exactlyOnceBridge(broker.brokers, store, `${name}eoswarmup`, Math.min(events, 2_000));
    const plain = await plainProducer(broker.brokers, store, `${name}plain`, events);
    const eos = await exactlyOnceBridge(broker.brokers, store, `${name}eos`, events);
    return {
      events,
      partitions: PARTITIONS,
      batchEvents: DEFAULT_BATCH_LIMITS.maxEvents,
      exactlyOnce: eos,
      plainProducer: plain,
      exactlyOnceVsPlain: eos.eventsPerSecond / plain.eventsPerSecond,
      exactlyOnceVsPlainSteady: eos.steadyEventsPerSecond / plain.steadyEventsPerSecond,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    await broker.stop();
  }
}

async function fill(store: SqliteEventStore, events: number): Promise<void> {
  const payload = new Uint8Array(205).fill(42);
  payload.set([0, 0, 0, 0, 1]); // Confluent frame: magic byte 0, schema id 1
  const instances = Math.ceil(events / EVENTS_PER_INSTANCE);
  let next = 0;
  const writer = async () => {
    while (next < instances) {
      const instanceId = `bench-${next++}`;
      const batch: EventToAppend[] = Array.from({ length: EVENTS_PER_INSTANCE }, (_, i) => {
        const eventId = randomUUID();
        return {
          eventId,
          type: i === 0 ? 'OrderPlaced' : 'PaymentReceived',
          data: payload,
          metadata: {
            eventId,
            workflow: WORKFLOW,
            instanceId,
            correlationId: instanceId,
            causationId: eventId,
            schema: { subject: `esflow.${WORKFLOW}.OrderPlaced`, version: 1, id: 1 },
          },
        };
      });
      await store.append(`${WORKFLOW}-${instanceId}`, batch, {
        expectedRevision: ExpectedRevision.NoStream,
      });
    }
  };
  await Promise.all(Array.from({ length: 32 }, writer));
}

/** Resolves when a read_committed consumer of `topic` has seen `events` records. */
async function consumerSeeing(brokers: string[], topic: string, events: number) {
  let seen = 0;
  let firstAt = 0;
  let done: (lastAt: number) => void = () => {};
  const all = new Promise<number>((resolve) => (done = resolve));
  const watcher = await watchTopics({
    brokers,
    topics: [topic],
    onRecord: () => {
      if (seen++ === 0) firstAt = performance.now();
      if (seen >= events) done(performance.now());
    },
  });
  /** The figures of a run that started at `started` (performance.now()). */
  const throughput = async (started: number): Promise<KafkaThroughput> => {
    const lastAt = await all;
    const seconds = (lastAt - started) / 1000;
    return {
      eventsPerSecond: events / seconds,
      seconds,
      steadyEventsPerSecond: (events - 1) / ((lastAt - firstAt) / 1000),
      firstRecordAfterSeconds: (firstAt - started) / 1000,
    };
  };
  return { throughput, stop: () => watcher.stop() };
}

async function createTopic(brokers: string[], topic: string): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
}

async function exactlyOnceBridge(
  brokers: string[],
  store: SqliteEventStore,
  name: string,
  events: number,
): Promise<KafkaThroughput & { transactions: number }> {
  const topicTemplate = `${name}.{workflow}`;
  const topic = topicFor(topicTemplate, WORKFLOW);
  await createTopic(brokers, topic);
  const consumer = await consumerSeeing(brokers, topic, events);
  const bridge = createKafkaBridge({
    store,
    workflows: [WORKFLOW],
    brokers,
    clientId: name,
    transactionalId: `${name}-tx`,
    topicTemplate,
    topicPartitions: PARTITIONS,
  });
  const started = performance.now();
  bridge.start();
  const throughput = await consumer.throughput(started);
  const { transactions } = bridge.status();
  await bridge.stop();
  await consumer.stop();
  return { ...throughput, transactions };
}

async function plainProducer(
  brokers: string[],
  store: SqliteEventStore,
  name: string,
  events: number,
): Promise<KafkaThroughput> {
  const topicTemplate = `${name}.{workflow}`;
  const topic = topicFor(topicTemplate, WORKFLOW);
  await createTopic(brokers, topic);
  const consumer = await consumerSeeing(brokers, topic, events);
  const producer = new Kafka({ brokers, clientId: name, logLevel: logLevel.NOTHING }).producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const started = performance.now();
  let after: RecordedEvent['position'] | undefined;
  for (let sent = 0; sent < events; ) {
    const page = await store.readAll({
      ...(after ? { after } : {}),
      filter: workflowStreamFilter([WORKFLOW]),
      maxCount: Math.min(DEFAULT_BATCH_LIMITS.maxEvents, events - sent),
    });
    if (page.length === 0) break;
    after = page[page.length - 1]!.position;
    await producer.send({
      topic,
      acks: -1,
      messages: page.map((event) => {
        const { key, value, headers } = toOutgoingRecord(event, topicTemplate);
        return { key, value, headers };
      }),
    });
    sent += page.length;
  }
  const throughput = await consumer.throughput(started);
  await producer.disconnect();
  await consumer.stop();
  return throughput;
}
