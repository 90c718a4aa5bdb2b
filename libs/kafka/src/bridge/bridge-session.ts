import { Admin, Kafka, Partitioners, Producer } from 'kafkajs';
import { CheckpointedHandler, GlobalPosition, RecordedEvent } from '@esflow/core';
import { produceRequests } from '../batching';
import { BridgeCheckpoint, encodeCheckpoint } from '../checkpoint';
import { topicFor, workflowOfStream } from '../event-headers';
import { BridgePublishTracing } from '../tracing/publish-tracing';
import {
  CHECKPOINT_TOPIC_CONFIG,
  createKafkaClient,
  ensureTopics,
  KafkaLogger,
  readCommittedCheckpoint,
} from '../kafka-client';

/** What a bridge session connects with. */
export interface BridgeSessionOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly transactionalId: string;
  readonly topicTemplate: string;
  readonly topicPartitions: number;
  readonly workflowTopics: readonly string[];
  readonly checkpointTopic: string;
  readonly transactionTimeoutMs: number;
  /** Most estimated bytes in one produce request (see `BatchLimits.maxRequestBytes`). */
  readonly maxRequestBytes: number;
  readonly logger: KafkaLogger;
  readonly now: () => number;
  /** Told of each transaction, to trace it (see {@link BridgePublishTracing}). */
  readonly tracing?: BridgePublishTracing;
  /** Told of each transaction when it ends (see `KafkaBridgeOptions.onTransaction`). */
  readonly onTransaction?: (transaction: BridgeTransaction) => void;
}

/** One Kafka transaction of the bridge: the events it carried, how long it took, its end. */
export interface BridgeTransaction {
  readonly events: number;
  readonly durationMs: number;
  readonly committed: boolean;
}

/** What the session is doing, for the translation of a failure (`operation`, transaction age). */
export interface SessionActivity {
  operation: string;
  transactionAgeMs: number | undefined;
}

/**
 * One connection to Kafka, from producer initialisation to the first failure or stop, and the
 * bridge's {@link CheckpointedHandler}: each batch is produced to its workflow topics together
 * with the new checkpoint, in one Kafka transaction (in produce requests of at most
 * `maxRequestBytes`, one after the other).
 */
export class BridgeSession implements CheckpointedHandler {
  readonly activity: SessionActivity = {
    operation: 'connect to Kafka',
    transactionAgeMs: undefined,
  };
  private kafka: Kafka | undefined;
  private admin: Admin | undefined;
  private producer: Producer | undefined;
  private committed: BridgeCheckpoint | undefined;
  /** Topic per workflow, computed once. */
  private readonly topics = new Map<string, string>();

  constructor(
    private readonly options: BridgeSessionOptions,
    /** Called after each committed transaction with the checkpoint it committed. */
    private readonly onCommitted: (checkpoint: BridgeCheckpoint, events: number) => void,
  ) {}

  /**
   * Connects, creates missing topics while it initialises the transactional producer (which
   * fences any older bridge with the same transactional id and aborts its open transaction),
   * then reads the last committed checkpoint. Resolves to it (undefined before the first).
   */
  async open(): Promise<BridgeCheckpoint | undefined> {
    const { options, activity } = this;
    this.kafka = createKafkaClient({
      clientId: options.clientId,
      brokers: options.brokers,
      logger: options.logger,
    });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({
      transactionalId: options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: options.transactionTimeoutMs,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Whole sessions are retried from the committed checkpoint: no endless inner retries.
      // A short first back-off matters: the broker answers CONCURRENT_TRANSACTIONS to the
      // next transaction until the previous one's markers are written (a few ms); kafkajs's
      // default 300 ms back-off there caps a bridge at ~4 transactions per second.
      retry: { retries: 6, initialRetryTime: 10, maxRetryTime: 1_000 },
    });
    const admin = this.admin;
    const producer = this.producer;

    // Both at once, neither needs the other: the topics, and the transactional producer. A
    // failure is reported with the step of the side that failed.
    let topicsStep = 'connect to Kafka';
    let producerStep = 'connect to Kafka';
    const topics = (async () => {
      await admin.connect();
      topicsStep = 'create topics';
      const created = await ensureTopics(admin, [
        ...options.workflowTopics.map((topic) => ({
          topic,
          numPartitions: options.topicPartitions,
        })),
        {
          topic: options.checkpointTopic,
          numPartitions: 1,
          configEntries: CHECKPOINT_TOPIC_CONFIG,
        },
      ]);
      if (created.length) options.logger.info(`created topics ${created.join(', ')}`);
    })();
    const initialised = (async () => {
      await producer.connect();
      producerStep = 'initialise the transactional producer';
      // kafkajs sends InitProducerId with the first transaction: this fences older bridges
      // with our transactional id and waits until their open transaction is aborted.
      const init = await producer.transaction();
      await init.abort();
    })();
    // Both settled before going on or failing: nothing left running behind a failure.
    const [topicsDone, initDone] = await Promise.allSettled([topics, initialised]);
    if (topicsDone.status === 'rejected') {
      activity.operation = topicsStep;
      throw topicsDone.reason;
    }
    if (initDone.status === 'rejected') {
      activity.operation = producerStep;
      throw initDone.reason;
    }

    activity.operation = 'read the checkpoint';
    this.committed = await readCommittedCheckpoint({
      kafka: this.kafka,
      admin: this.admin,
      topic: options.checkpointTopic,
      key: options.transactionalId,
      timeoutMs: 30_000,
    });
    activity.operation = 'read the store';
    return this.committed;
  }

  async checkpoint(): Promise<GlobalPosition | undefined> {
    return this.committed?.position;
  }

  async apply(batch: readonly RecordedEvent[]): Promise<void> {
    const { options, activity } = this;
    activity.operation = `publish ${batch.length} event${batch.length === 1 ? '' : 's'}`;
    const last = batch[batch.length - 1]!;
    const checkpoint: BridgeCheckpoint = {
      position: last.position,
      eventId: last.eventId,
      published: (this.committed?.published ?? 0) + batch.length,
      writtenAt: new Date(options.now()).toISOString(),
    };
    // The checkpoint goes with the first request: the transaction is all or nothing either
    // way, and its partition is added to the transaction with the first records' partitions.
    const topicOf = (event: RecordedEvent) => this.topicOf(event);
    const trace = options.tracing?.publishing(batch, topicOf);
    const requests = produceRequests(
      batch,
      topicOf,
      options.maxRequestBytes,
      trace ? (event) => trace.contextOf(event) : undefined,
    );
    requests[0]!.push({
      topic: options.checkpointTopic,
      messages: [
        {
          key: options.transactionalId,
          value: encodeCheckpoint(checkpoint),
          headers: { 'content-type': 'application/json' },
        },
      ],
    });

    const startedAt = options.now();
    const transaction = await this.producer!.transaction();
    try {
      // One request at a time: the idempotent producer numbers each partition's records in
      // the order they are sent, and the broker appends them in that order.
      for (const topicMessages of requests)
        await transaction.sendBatch({ topicMessages, acks: -1 });
      await transaction.commit();
    } catch (error) {
      trace?.end(error);
      activity.transactionAgeMs = options.now() - startedAt;
      options.onTransaction?.({
        events: batch.length,
        durationMs: activity.transactionAgeMs,
        committed: false,
      });
      // Best effort: leaving it open would hold back read_committed consumers until the
      // transaction timeout (the next session's initialisation aborts it anyway).
      if (transaction.isActive()) await withTimeout(transaction.abort(), 5_000).catch(() => {});
      throw error;
    }
    trace?.end();
    options.onTransaction?.({
      events: batch.length,
      durationMs: options.now() - startedAt,
      committed: true,
    });
    this.committed = checkpoint;
    this.onCommitted(checkpoint, batch.length);
  }

  private topicOf(event: RecordedEvent): string {
    const workflow = workflowOfStream(event.streamName);
    let topic = this.topics.get(workflow);
    if (topic === undefined) {
      topic = topicFor(this.options.topicTemplate, workflow);
      this.topics.set(workflow, topic);
    }
    return topic;
  }

  /** Disconnects; a transaction in flight fails. Never throws. */
  async close(): Promise<void> {
    await withTimeout(this.producer?.disconnect() ?? Promise.resolve(), 5_000).catch(() => {});
    await withTimeout(this.admin?.disconnect() ?? Promise.resolve(), 5_000).catch(() => {});
  }
}

/** `promise`, or a rejection after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
