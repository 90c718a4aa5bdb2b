import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExpectedRevision, formatPosition, RecordedEvent, WorkflowEngine } from '@esflow/core';
import { createSqliteEventStore, SqliteEventStore } from '@esflow/sqlite';
import {
  createKafkaBridge,
  encodeCheckpoint,
  KafkaBridge,
  KafkaBridgeOptions,
  KafkaErrorCode,
  topicFor,
  workflowStreamFilter,
} from '@esflow/kafka';
import { readTopicsToEnd } from '@esflow/kafka/testing';
import { anOrder, COMPLETED_ORDER_EVENTS, createTestEngine } from '../support/engine-fixture';
import { KafkaBroker, startKafkaBroker } from '../support/infra/kafka-broker.mjs';
import { uniqueCategory } from '../support/unique';
import { waitFor } from '../support/wait-for';

// The bridge library against a real Kafka 3.9 broker (one per file), over a real SQLite store
// with events recorded by the real engine (embedded registry: ids need not resolve here).

const WORKFLOW = 'orderFulfillment';
let broker: KafkaBroker;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  broker = await startKafkaBroker();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await broker?.stop();
});

/** A store in its own temp dir, an engine over it, and unique Kafka names for one test. */
async function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-kafka-int-'));
  const store = createSqliteEventStore({ filename: join(dir, 'esflow.sqlite') });
  const { engine } = await createTestEngine({ store });
  cleanups.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const name = uniqueCategory('kb');
  const options: KafkaBridgeOptions = {
    store,
    workflows: [WORKFLOW],
    brokers: broker.brokers,
    clientId: name,
    transactionalId: `${name}-tx`,
    topicTemplate: `${name}.{workflow}`,
    topicPartitions: 3,
    backoff: { initialMs: 100, maxMs: 1_000 },
    lagRefreshMs: 200,
  };
  const bridges: KafkaBridge[] = [];
  const bridge = (overrides: Partial<KafkaBridgeOptions> = {}) => {
    const created = createKafkaBridge({ ...options, ...overrides });
    bridges.push(created);
    return created;
  };
  cleanups.push(async () => {
    await Promise.all(bridges.map((b) => b.stop()));
  });
  return { store, engine, options, bridge, topic: topicFor(options.topicTemplate, WORKFLOW) };
}

/**
 * Runs `count` orders through payment and shipment: 7 events each (OrderPlaced, TimerScheduled,
 * PaymentReceived, TimerCancelled, GoodsFetched, ShipmentDispatched, WorkflowCompleted).
 */
async function runOrders(engine: WorkflowEngine, count: number, prefix = 'o'): Promise<void> {
  for (let i = 0; i < count; i++) {
    const order = anOrder(`${prefix}-${i}`);
    const started = await engine.startWorkflow.handle({ workflow: WORKFLOW, input: order });
    expect(started.ok).toBe(true);
    for (const [type, payload] of [
      ['PaymentReceived', { paymentId: `p-${i}`, amountCents: 4999 }],
      ['GoodsFetched', { warehouseId: 'w-1' }],
      ['ShipmentDispatched', { trackingId: `t-${i}` }],
    ] as const) {
      const sent = await engine.sendEvent.handle({
        workflow: WORKFLOW,
        id: order.orderId,
        type,
        payload,
      });
      expect(sent.ok, `${type} for ${order.orderId}`).toBe(true);
    }
  }
}

async function workflowEvents(store: SqliteEventStore): Promise<RecordedEvent[]> {
  return store.readAll({ filter: workflowStreamFilter([WORKFLOW]), maxCount: 1_000_000 });
}

/** Waits until the bridge has committed the store's last workflow event. */
async function untilPublished(bridge: KafkaBridge, store: SqliteEventStore): Promise<void> {
  const events = await workflowEvents(store);
  const head = formatPosition(events[events.length - 1]!.position);
  await waitFor(() => bridge.status().position === head, {
    timeoutMs: 60_000,
    intervalMs: 50,
    what: `the bridge to commit ${head} (status ${JSON.stringify(bridge.status())})`,
  });
}

/** Asserts the topic holds each stored event exactly once, in revision order per key. */
async function expectExactlyOnce(topic: string, store: SqliteEventStore) {
  const expected = await workflowEvents(store);
  // The bridge's commit returns before the broker has written the transaction markers to every
  // partition; until it has, read_committed readers see less. Poll until all is visible.
  const records = await waitFor(
    async () => {
      const read = await readTopicsToEnd({ brokers: broker.brokers, topics: [topic] });
      return read.length >= expected.length && read;
    },
    {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: `${expected.length} committed records on ${topic}`,
    },
  );
  const ids = records.map((r) => r.headers['esflow-event-id']);
  expect(new Set(ids).size, 'no duplicates').toBe(ids.length);
  expect(ids.sort()).toEqual(expected.map((e) => e.eventId).sort());
  const revisions = new Map<string, number[]>();
  for (const record of [...records].sort((a, b) => Number(a.offset - b.offset)))
    revisions.set(record.key!, [
      ...(revisions.get(record.key!) ?? []),
      Number(record.headers['esflow-revision']),
    ]);
  for (const [key, list] of revisions)
    expect(list, key).toEqual(list.map((_, revision) => revision));
  return records;
}

describe('Kafka bridge (real broker)', () => {
  it('publishes every workflow event once: topic per workflow, key, bytes and headers', async () => {
    const { store, engine, bridge, topic, options } = await fixture();
    await runOrders(engine, 4);
    // A stream of no known workflow is not bridged.
    await store.append(
      'otherThing-1',
      [{ eventId: crypto.randomUUID(), type: 'Noise', data: new Uint8Array([1]), metadata: {} }],
      { expectedRevision: ExpectedRevision.NoStream },
    );
    const running = bridge();
    running.start();
    await untilPublished(running, store);
    await waitFor(() => running.status().status === 'running', { what: 'running' });

    const records = await expectExactlyOnce(topic, store);
    expect(records).toHaveLength(28);
    // The framework's facts travel with the workflow's events, in stream order.
    const firstOrder = records
      .filter((record) => record.key === 'o-0')
      .sort((a, b) => Number(a.offset - b.offset))
      .map((record) => record.headers['esflow-event-type']);
    expect(firstOrder).toEqual(COMPLETED_ORDER_EVENTS);
    const stored = new Map((await workflowEvents(store)).map((e) => [e.eventId, e]));
    for (const record of records) {
      const event = stored.get(record.headers['esflow-event-id']!)!;
      expect(Buffer.compare(record.value!, Buffer.from(event.data)), 'bytes unchanged').toBe(0);
      expect(record.value![0], 'Confluent magic byte').toBe(0);
      expect(record.key).toBe(event.streamName.slice(WORKFLOW.length + 1));
      expect(record.headers).toMatchObject({
        'content-type': 'application/vnd.esflow.avro',
        'esflow-event-type': event.type,
        'esflow-stream': event.streamName,
        'esflow-revision': String(event.revision),
        'esflow-correlation-id': event.metadata['correlationId'],
        'esflow-causation-id': event.metadata['causationId'],
      });
    }

    const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(topics[0]!.partitions).toHaveLength(options.topicPartitions);
      const checkpointTopic = running.status().checkpointTopic!;
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: checkpointTopic, configNames: ['cleanup.policy'] }],
      });
      expect(configs.resources[0]!.configEntries[0]!.configValue).toBe('compact');
    } finally {
      await admin.disconnect();
    }
    expect(running.status()).toMatchObject({
      status: 'running',
      publishedEvents: 28,
      lag: { events: 0 },
    });
  });

  it('resumes strictly after its committed checkpoint', async () => {
    const { store, engine, bridge, topic } = await fixture();
    await runOrders(engine, 3, 'first');
    const first = bridge();
    first.start();
    await untilPublished(first, store);
    await first.stop();
    expect(first.status().status).toBe('stopped');

    await runOrders(engine, 2, 'second');
    const second = bridge();
    second.start();
    await untilPublished(second, store);
    expect(second.status().publishedEvents, 'only the events after the checkpoint').toBe(14);
    await expectExactlyOnce(topic, store);
  });

  it('aborts the transaction a crashed bridge left open and resumes from the last committed checkpoint', async () => {
    const { store, engine, bridge, topic, options } = await fixture();
    await runOrders(engine, 2, 'before');
    const first = bridge();
    first.start();
    await untilPublished(first, store);
    await first.stop();
    await runOrders(engine, 2, 'after');

    // A bridge "killed" mid-transaction: records and a checkpoint far ahead, never committed.
    const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const crashed = kafka.producer({
      transactionalId: options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await crashed.connect();
    const open = await crashed.transaction();
    await open.send({
      topic,
      messages: [
        {
          key: 'ghost',
          value: Buffer.from([0, 0, 0, 0, 1]),
          headers: { 'esflow-event-id': 'ghost' },
        },
      ],
    });
    await open.send({
      topic: first.status().checkpointTopic!,
      messages: [
        {
          key: options.transactionalId,
          value: encodeCheckpoint({
            position: { commit: 1_000_000n, prepare: 1_000_000n },
            eventId: 'ghost',
            published: 1_000_000,
            writtenAt: new Date().toISOString(),
          }),
        },
      ],
    });
    const uncommitted = kafka.consumer({
      groupId: `${options.clientId}-peek`,
      readUncommitted: true,
    });
    await uncommitted.connect();
    await uncommitted.subscribe({ topic, fromBeginning: true });
    let ghostWritten = false;
    await uncommitted.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() === 'ghost') ghostWritten = true;
      },
    });
    await waitFor(() => ghostWritten, {
      timeoutMs: 30_000,
      what: 'the open transaction on the topic',
    });
    await uncommitted.disconnect();
    await crashed.disconnect(); // a disconnect does not end the transaction: it stays open

    const second = bridge();
    second.start();
    await untilPublished(second, store);
    expect(second.status().publishedEvents, 'resumed after the committed checkpoint').toBe(14);
    await expectExactlyOnce(topic, store);
  });

  it('is fenced by a second bridge with the same transactional id, and writes nothing more', async () => {
    const { store, engine, bridge, topic } = await fixture();
    await runOrders(engine, 2, 'before');
    const first = bridge();
    first.start();
    await untilPublished(first, store);

    const second = bridge();
    second.start();
    await waitFor(() => second.status().status === 'running', {
      timeoutMs: 30_000,
      what: 'the second bridge to take over',
    });
    // New events reach both: the first one's next transaction is refused.
    await runOrders(engine, 2, 'after');
    await waitFor(() => first.status().status === 'fenced', {
      timeoutMs: 30_000,
      what: `the first bridge to be fenced (${JSON.stringify(first.status())})`,
    });
    const fenced = first.status();
    expect(fenced.lastError).toMatchObject({ code: KafkaErrorCode.Fenced, retriable: false });
    expect(fenced.lastError!.message).toMatch(/same transactional id/);
    await untilPublished(second, store);

    await runOrders(engine, 1, 'later');
    await untilPublished(second, store);
    expect(first.status(), 'the fenced bridge stays stopped').toMatchObject({
      status: 'fenced',
      publishedEvents: fenced.publishedEvents,
      transactions: fenced.transactions,
    });
    await expectExactlyOnce(topic, store);
  });

  it('reports Kafka as unavailable and retries with back-off when it cannot connect', async () => {
    const { bridge, engine } = await fixture();
    await runOrders(engine, 1);
    const offline = bridge({ brokers: ['127.0.0.1:1'] });
    offline.start();
    const status = await waitFor(
      () => {
        const s = offline.status();
        return s.status === 'retrying' && s.lag.events === 7 && s;
      },
      { timeoutMs: 30_000, what: 'the bridge to retry' },
    );
    expect(status.lastError).toMatchObject({ code: KafkaErrorCode.Unavailable, retriable: true });
    expect(status.position).toBeNull();
    expect(status.lag.seconds).toBeGreaterThanOrEqual(0);
    await offline.stop();
    expect(offline.status().status).toBe('stopped');
  });
});
