import { Admin, Kafka, Partitioners, Producer } from 'kafkajs';
import {
  AllStreamFilter,
  comparePositions,
  EventStore,
  EventStoreSubscription,
  formatPosition,
  GlobalPosition,
  isEsflowError,
  RecordedEvent,
} from '@esflow/core';
import {
  BackoffPolicy,
  backoffDelay,
  BatchLimits,
  DEFAULT_BACKOFF,
  DEFAULT_BATCH_LIMITS,
  groupByTopic,
  lagOf,
  nextBatchSize,
} from './batching';
import { BridgeCheckpoint, checkpointTopicFor, encodeCheckpoint } from './checkpoint';
import { topicFor, toOutgoingRecord } from './event-headers';
import {
  CHECKPOINT_TOPIC_CONFIG,
  createKafkaClient,
  ensureTopics,
  KafkaLogger,
  readCommittedCheckpoint,
  silentLogger,
} from './kafka-client';
import { KafkaErrorCode, translateKafkaError } from './kafka-errors';

/**
 * The bridge's lifecycle states, as {@link KafkaBridgeStatus} reports them. `retrying` recovers by
 * itself; after `fenced`, or `stopped` by a non-retriable error, the bridge publishes nothing more
 * until it is stopped and started again.
 */
export const KafkaBridgeState = {
  /** Caught up with the store; publishing new events as they are committed. */
  Running: 'running',
  /** Connected and publishing a backlog (after start or after an outage). */
  CatchingUp: 'catchingUp',
  /** The last attempt failed with a retriable error; waiting to try again. */
  Retrying: 'retrying',
  /** Not started, stopped, or stopped by a non-retriable error (see lastError). */
  Stopped: 'stopped',
  /** Another bridge with the same transactional id took over; this one stopped for good. */
  Fenced: 'fenced',
  /** Kafka is not configured (KAFKA_BROKERS unset). */
  Disabled: 'disabled',
} as const;
export type KafkaBridgeState = (typeof KafkaBridgeState)[keyof typeof KafkaBridgeState];

/**
 * A snapshot of a bridge for health checks and metrics: its state, the store position last
 * committed to Kafka, its lag, the last error (with its stable `code`) and this process's counters.
 */
export interface KafkaBridgeStatus {
  readonly status: KafkaBridgeState;
  /** Store position of the last event committed to Kafka (`commit/prepare`), null if none. */
  readonly position: string | null;
  /**
   * How far Kafka is behind the store: matching events after `position` (counted up to
   * {@link LAG_COUNT_LIMIT}) and the age in seconds of the oldest of them. Refreshed every
   * second, also while Kafka is down.
   */
  readonly lag: { readonly events: number; readonly seconds: number };
  readonly lastError?: {
    readonly code: string;
    readonly message: string;
    readonly retriable: boolean;
    readonly at: string;
  };
  /** Events this process has committed to Kafka since it started. */
  readonly publishedEvents: number;
  /** Committed transactions (batches) of this process. */
  readonly transactions: number;
  readonly transactionalId?: string;
  readonly checkpointTopic?: string;
}

/** Lag counts stop here: reading further would cost more than the number is worth. */
export const LAG_COUNT_LIMIT = 10_000;

/**
 * Options of {@link createKafkaBridge}: the store to read, the workflows to publish, the Kafka
 * connection and transactional id, the topic layout, and tuning (batch limits, back-off,
 * transaction timeout, read-ahead, lag refresh every second by default).
 */
export interface KafkaBridgeOptions {
  readonly store: EventStore;
  /** The workflows whose streams (`<workflow>-<instanceId>`) are published. */
  readonly workflows: readonly string[];
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** One per deployment. A second bridge with the same id fences the first. */
  readonly transactionalId: string;
  /** Topic per workflow; `{workflow}` is replaced by its name (`esflow.{workflow}`). */
  readonly topicTemplate: string;
  /** Partitions of the workflow topics the bridge creates (existing topics are left alone). */
  readonly topicPartitions: number;
  /** Compacted checkpoint topic; default {@link checkpointTopicFor}(transactionalId). */
  readonly checkpointTopic?: string;
  readonly batch?: Partial<BatchLimits>;
  readonly backoff?: Partial<BackoffPolicy>;
  /** Kafka aborts a transaction left open longer than this (a crashed bridge's). Default 30 s. */
  readonly transactionTimeoutMs?: number;
  /** Events read ahead of Kafka, at most. Default 5000. */
  readonly readAheadEvents?: number;
  readonly lagRefreshMs?: number;
  readonly logger?: KafkaLogger;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * The Kafka bridge: publishes every event of the workflow streams, in store order, to one
 * topic per workflow (key = instance id, value = the stored Confluent-framed Avro bytes,
 * headers: see {@link EsflowHeader}), exactly once for read_committed consumers.
 *
 * Guarantees:
 * - each batch and the checkpoint (the store position of its last event) are produced in one
 *   Kafka transaction, so a consumer reading committed data sees a batch entirely or not at all,
 *   and the checkpoint never runs ahead of or behind what was published;
 * - on start (and after any failure) it initialises its transactional producer first, which
 *   fences any older producer with the same transactional id and aborts its open transaction,
 *   then reads the last committed checkpoint and resumes strictly after it;
 * - a bridge that is fenced stops (status `fenced`) and writes nothing more;
 * - retriable failures (Kafka down, timeouts, leader moves) restart the session after an
 *   exponential back-off; nothing is lost, because the next session resumes from Kafka's
 *   own committed checkpoint.
 */
export interface KafkaBridge {
  /** Starts publishing in the background. Idempotent. */
  start(): void;
  /** Finishes the transaction in flight (if any), disconnects and resolves. Idempotent. */
  stop(): Promise<void>;
  status(): KafkaBridgeStatus;
}

/** The status of a process where Kafka is not configured. */
export function disabledBridgeStatus(): KafkaBridgeStatus {
  return {
    status: KafkaBridgeState.Disabled,
    position: null,
    lag: { events: 0, seconds: 0 },
    publishedEvents: 0,
    transactions: 0,
  };
}

/** The store filter of the workflow streams: prefixes `<workflow>-`. */
export function workflowStreamFilter(workflows: readonly string[]): AllStreamFilter {
  return { streamNamePrefixes: workflows.map((workflow) => `${workflow}-`) };
}

interface FailureSummary {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}

/**
 * Creates a {@link KafkaBridge} with the guarantees stated there. Nothing connects until `start()`,
 * and `start()` never throws: connection and publishing failures show in `status()` as `lastError`,
 * with a {@link KafkaErrorCode}.
 */
export function createKafkaBridge(options: KafkaBridgeOptions): KafkaBridge {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silentLogger;
  const limits: BatchLimits = { ...DEFAULT_BATCH_LIMITS, ...options.batch };
  const backoff: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.backoff };
  const transactionTimeoutMs = options.transactionTimeoutMs ?? 30_000;
  const readAhead = Math.max(options.readAheadEvents ?? 5_000, limits.maxEvents);
  const checkpointTopic = options.checkpointTopic ?? checkpointTopicFor(options.transactionalId);
  const filter = workflowStreamFilter(options.workflows);
  const workflowTopics = [...new Set(options.workflows)].map((workflow) =>
    topicFor(options.topicTemplate, workflow),
  );

  let state: KafkaBridgeState = KafkaBridgeState.Stopped;
  let committed: GlobalPosition | undefined;
  let totalPublished = 0;
  let publishedEvents = 0;
  let transactions = 0;
  let lag = { events: 0, seconds: 0 };
  let lastError: KafkaBridgeStatus['lastError'];
  let running: Promise<void> | undefined;
  let stopping = false;
  let wakeSleeper: (() => void) | undefined;
  let current: Session | undefined;
  let lagTimer: NodeJS.Timeout | undefined;
  let lagBusy = false;

  const describe = (error: unknown, session: Session | undefined): FailureSummary => {
    if (isEsflowError(error))
      return { code: error.code, message: error.message, retriable: error.retriable };
    const translated = translateKafkaError(error, {
      operation: session?.operation ?? 'run the bridge',
      ...(session?.transactionAgeMs === undefined
        ? {}
        : { transactionAgeMs: session.transactionAgeMs, transactionTimeoutMs }),
    });
    return {
      code: translated.code,
      message: translated.message,
      retriable: translated.retriable,
    };
  };

  async function refreshLag(): Promise<void> {
    if (lagBusy) return;
    lagBusy = true;
    try {
      const pending = await options.store.readAll({
        ...(committed ? { after: committed } : {}),
        filter,
        maxCount: LAG_COUNT_LIMIT,
      });
      lag = lagOf(pending, now());
    } catch {
      // the store is down too: keep the last figures
    } finally {
      lagBusy = false;
    }
  }

  /** One connection to Kafka, from producer initialisation to the first failure or stop. */
  class Session {
    operation = 'connect to Kafka';
    transactionAgeMs: number | undefined;
    private kafka: Kafka | undefined;
    private admin: Admin | undefined;
    private producer: Producer | undefined;
    private subscription: EventStoreSubscription | undefined;
    private readonly pending: RecordedEvent[] = [];
    private readerDone = false;
    private readerError: unknown;
    private wake: (() => void) | undefined;
    private spaceFreed: (() => void) | undefined;
    private closed = false;

    async run(): Promise<void> {
      this.kafka = createKafkaClient({
        clientId: options.clientId,
        brokers: options.brokers,
        logger,
      });
      this.admin = this.kafka.admin();
      await this.admin.connect();

      this.operation = 'create topics';
      const created = await ensureTopics(this.admin, [
        ...workflowTopics.map((topic) => ({ topic, numPartitions: options.topicPartitions })),
        { topic: checkpointTopic, numPartitions: 1, configEntries: CHECKPOINT_TOPIC_CONFIG },
      ]);
      if (created.length) logger.info(`created topics ${created.join(', ')}`);

      this.operation = 'initialise the transactional producer';
      this.producer = this.kafka.producer({
        transactionalId: options.transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: transactionTimeoutMs,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        // Whole sessions are retried from the committed checkpoint: no endless inner retries.
        // A short first back-off matters: the broker answers CONCURRENT_TRANSACTIONS to the
        // next transaction until the previous one's markers are written (a few ms); kafkajs's
        // default 300 ms back-off there caps a bridge at ~4 transactions per second.
        retry: { retries: 6, initialRetryTime: 10, maxRetryTime: 1_000 },
      });
      await this.producer.connect();
      // kafkajs sends InitProducerId with the first transaction: this fences older bridges
      // with our transactional id and waits until their open transaction is aborted.
      const init = await this.producer.transaction();
      await init.abort();
      if (this.closed) return;

      this.operation = 'read the checkpoint';
      const checkpoint = await readCommittedCheckpoint({
        kafka: this.kafka,
        admin: this.admin,
        topic: checkpointTopic,
        key: options.transactionalId,
        timeoutMs: 30_000,
      });
      committed = checkpoint?.position;
      totalPublished = checkpoint?.published ?? 0;
      logger.info(
        checkpoint
          ? `resuming after ${formatPosition(checkpoint.position)} (${checkpoint.published} events published so far)`
          : 'no checkpoint yet: publishing from the start of the store',
      );

      this.operation = 'read the store';
      const [head] = await options.store.readAll({ direction: 'backwards', maxCount: 1, filter });
      const caughtUp = () =>
        !head || (committed !== undefined && comparePositions(committed, head.position) >= 0);
      state = caughtUp() ? KafkaBridgeState.Running : KafkaBridgeState.CatchingUp;
      void refreshLag();
      this.subscription = options.store.subscribeToAll({
        ...(committed ? { after: committed } : {}),
        filter,
      });
      void this.read(this.subscription);

      for (;;) {
        await this.nextPending();
        if (this.closed || stopping) return;
        if (this.readerError !== undefined) throw this.readerError;
        if (this.pending.length === 0) {
          if (this.readerDone) throw new Error('the store subscription ended unexpectedly');
          continue;
        }
        // Let the reader finish the store page it is handing over, so that a batch is not cut
        // at whatever had arrived when the loop woke up (often a single event).
        if (this.pending.length < limits.maxEvents)
          await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.closed || stopping) return;
        const size = nextBatchSize(this.pending, limits);
        const batch = this.pending.slice(0, size);
        await this.publish(batch);
        this.pending.splice(0, size);
        this.spaceFreed?.();
        if (state === KafkaBridgeState.CatchingUp && caughtUp()) {
          state = KafkaBridgeState.Running;
          logger.info(`caught up at ${formatPosition(committed!)}`);
        }
        if (state === KafkaBridgeState.Running && this.pending.length === 0)
          lag = { events: 0, seconds: 0 };
      }
    }

    private async read(subscription: EventStoreSubscription): Promise<void> {
      try {
        for await (const event of subscription) {
          this.pending.push(event);
          this.wake?.();
          while (this.pending.length >= readAhead && !this.closed)
            await new Promise<void>((resolve) => (this.spaceFreed = resolve));
          if (this.closed) break;
        }
      } catch (error) {
        this.readerError = error;
      } finally {
        this.readerDone = true;
        this.wake?.();
      }
    }

    private nextPending(): Promise<void> {
      if (
        this.pending.length > 0 ||
        this.readerDone ||
        this.readerError !== undefined ||
        this.closed ||
        stopping
      )
        return Promise.resolve();
      return new Promise<void>((resolve) => (this.wake = resolve));
    }

    private async publish(batch: RecordedEvent[]): Promise<void> {
      this.operation = `publish ${batch.length} event${batch.length === 1 ? '' : 's'}`;
      const last = batch[batch.length - 1]!;
      const checkpoint: BridgeCheckpoint = {
        position: last.position,
        eventId: last.eventId,
        published: totalPublished + batch.length,
        writtenAt: new Date(now()).toISOString(),
      };
      const topicMessages = groupByTopic(
        batch.map((event) => toOutgoingRecord(event, options.topicTemplate)),
      ).map(({ topic, records }) => ({
        topic,
        messages: records.map(({ key, value, headers }) => ({ key, value, headers })),
      }));
      topicMessages.push({
        topic: checkpointTopic,
        messages: [
          {
            key: options.transactionalId,
            value: encodeCheckpoint(checkpoint),
            headers: { 'content-type': 'application/json' },
          },
        ],
      });

      const startedAt = now();
      const transaction = await this.producer!.transaction();
      try {
        await transaction.sendBatch({ topicMessages, acks: -1 });
        await transaction.commit();
      } catch (error) {
        this.transactionAgeMs = now() - startedAt;
        // Best effort: leaving it open would hold back read_committed consumers until the
        // transaction timeout (the next session's initialisation aborts it anyway).
        if (transaction.isActive()) await withTimeout(transaction.abort(), 5_000).catch(() => {});
        throw error;
      }
      committed = checkpoint.position;
      totalPublished = checkpoint.published;
      publishedEvents += batch.length;
      transactions++;
    }

    /** Ends the session: stops reading the store and disconnects from Kafka. */
    async close(): Promise<void> {
      this.closed = true;
      this.wake?.();
      this.spaceFreed?.();
      await this.subscription?.close().catch(() => {});
      await withTimeout(this.producer?.disconnect() ?? Promise.resolve(), 5_000).catch(() => {});
      await withTimeout(this.admin?.disconnect() ?? Promise.resolve(), 5_000).catch(() => {});
    }

    /** Lets the loop return after the transaction in flight. */
    interrupt(): void {
      this.wake?.();
    }
  }

  async function loop(): Promise<void> {
    let attempt = 0;
    while (!stopping) {
      const session = new Session();
      current = session;
      const publishedBefore = publishedEvents;
      let failure: FailureSummary | undefined;
      try {
        await session.run();
      } catch (error) {
        failure = describe(error, session);
      }
      await session.close();
      current = undefined;
      if (stopping) break;
      if (!failure) continue;
      lastError = { ...failure, at: new Date(now()).toISOString() };
      if (failure.code === KafkaErrorCode.Fenced) {
        state = KafkaBridgeState.Fenced;
        logger.error(`fenced, stopping: ${failure.message}`);
        return;
      }
      if (!failure.retriable) {
        state = KafkaBridgeState.Stopped;
        logger.error(`stopped by a non-retriable error [${failure.code}]: ${failure.message}`);
        return;
      }
      attempt = publishedEvents > publishedBefore ? 1 : attempt + 1;
      state = KafkaBridgeState.Retrying;
      const delay = backoffDelay(attempt, backoff, random);
      logger.warn(`[${failure.code}] ${failure.message}; retrying in ${delay} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wakeSleeper = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeSleeper = undefined;
    }
    state = KafkaBridgeState.Stopped;
  }

  return {
    start() {
      if (running) return;
      stopping = false;
      state = KafkaBridgeState.CatchingUp;
      lagTimer = setInterval(() => void refreshLag(), options.lagRefreshMs ?? 1_000);
      lagTimer.unref();
      running = loop().finally(() => {
        if (lagTimer) clearInterval(lagTimer);
      });
    },

    async stop() {
      if (!running) return;
      stopping = true;
      wakeSleeper?.();
      current?.interrupt();
      // Give the transaction in flight a moment to finish, then cut the connection.
      const settled = await withTimeout(running, 10_000).then(
        () => true,
        () => false,
      );
      if (!settled) await current?.close();
      await running;
      running = undefined;
    },

    status(): KafkaBridgeStatus {
      return {
        status: state,
        position: committed ? formatPosition(committed) : null,
        lag,
        ...(lastError ? { lastError } : {}),
        publishedEvents,
        transactions,
        transactionalId: options.transactionalId,
        checkpointTopic,
      };
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
