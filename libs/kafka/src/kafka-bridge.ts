import {
  AllStreamFilter,
  EventSource,
  EventStore,
  formatPosition,
  isEsflowError,
  liveEventSource,
  Processor,
  retry,
  RetryPolicy,
  runProcessor,
} from '@esflow/core';
import { BatchLimits, DEFAULT_BATCH_LIMITS } from './batching';
import {
  BridgeSession,
  BridgeTransaction,
  SessionActivity,
  withTimeout,
} from './bridge/bridge-session';
import {
  bridgeProcessorStatus,
  BridgeStatusTracker,
  KafkaBridgeState,
  KafkaBridgeStatus,
} from './bridge/bridge-status';
import { checkpointTopicFor } from './checkpoint';
import { topicFor } from './event-headers';
import { KafkaLogger, silentLogger } from './kafka-client';
import { KafkaErrorCode, translateKafkaError } from './kafka-errors';
import { BridgePublishTracing } from './tracing/publish-tracing';

export {
  bridgeProcessorStatus,
  disabledBridgeStatus,
  KafkaBridgeState,
} from './bridge/bridge-status';
export type { KafkaBridgeStatus } from './bridge/bridge-status';

/**
 * How sessions are retried after a retriable failure: for ever, exponential from 250 ms to 10 s
 * with equal jitter (restarted bridges do not stampede), from the shortest delay again after a
 * session that published something.
 */
export const BRIDGE_RETRY_POLICY: RetryPolicy = {
  maxAttempts: Number.POSITIVE_INFINITY,
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  jitter: 'equal',
};

/**
 * How to build a Kafka bridge: the store and workflows to publish, the brokers, client and
 * transactional ids, the topic template and partitions, plus optional checkpoint topic, batch
 * limits, retry policy, timeouts, read-ahead, logger and clock.
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
  /**
   * Limits of one transaction; default {@link DEFAULT_BATCH_LIMITS}: 3000 events or 4 MiB of
   * values, sent in produce requests of at most 960 KiB each, one after the other.
   */
  readonly batch?: Partial<BatchLimits>;
  /** The back-off between sessions (default {@link BRIDGE_RETRY_POLICY}: 250 ms to 10 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Kafka aborts a transaction left open longer than this (a crashed bridge's). Default 30 s. */
  readonly transactionTimeoutMs?: number;
  /**
   * Events read ahead of Kafka, at most (never fewer than a batch's `maxEvents`): the next
   * transaction's events are read from the store while one commits. Default 5000.
   */
  readonly readAheadEvents?: number;
  readonly lagRefreshMs?: number;
  readonly logger?: KafkaLogger;
  readonly now?: () => number;
  readonly random?: () => number;
  /**
   * Told of each transaction before it is sent, to trace it (e.g. `EsflowTracer.bridgeTracing()`
   * of @esflow/nest). Without it, a record still carries the trace context its event recorded.
   */
  readonly tracing?: BridgePublishTracing;
  /**
   * Told of each Kafka transaction when it commits or fails, with its events and duration
   * (e.g. for a histogram). Called synchronously; it must not throw.
   */
  readonly onTransaction?: (transaction: BridgeTransaction) => void;
}

/**
 * The Kafka bridge: publishes every event of the workflow streams, in store order, to one
 * topic per workflow (key = instance id, value = the stored Confluent-framed Avro bytes,
 * headers: see {@link EsflowHeader}), exactly once for read_committed consumers.
 *
 * Guarantees:
 * - each batch and the checkpoint (the store position of its last event) are produced in one
 *   Kafka transaction (in one or more produce requests, sent one after the other, so the store
 *   order holds within every partition), so a consumer reading committed data sees a batch
 *   entirely or not at all, and the checkpoint never runs ahead of or behind what was published;
 * - on start (and after any failure) it initialises its transactional producer (creating
 *   missing topics meanwhile), which fences any older producer with the same transactional id
 *   and aborts its open transaction, and only then reads the last committed checkpoint and
 *   resumes strictly after it;
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
  /** The bridge's state, position, lag, last error and counters, as of now. */
  status(): KafkaBridgeStatus;
}

/**
 * The bridge as a {@link Processor} of the projector runtime (`EsflowProjectorModule`'s
 * `processors`): started and stopped with the process, its status in the shape of every
 * processor's.
 */
export function kafkaBridgeProcessor(bridge: KafkaBridge): Processor {
  return {
    name: 'kafka-bridge',
    start: () => bridge.start(),
    stop: () => bridge.stop(),
    status: () => bridgeProcessorStatus(bridge.status()),
  };
}

/** The store filter of the workflow streams: prefixes `<workflow>-`. */
export function workflowStreamFilter(workflows: readonly string[]): AllStreamFilter {
  return { streamNamePrefixes: workflows.map((workflow) => `${workflow}-`) };
}

/**
 * A Kafka bridge over `options.store`, composed of the processor runtime's parts: a live event
 * source from the committed checkpoint, the processor loop, a {@link BridgeSession} as the
 * checkpointed handler (a transaction per batch), the one retry primitive around sessions, and
 * a status tracker.
 */
export function createKafkaBridge(options: KafkaBridgeOptions): KafkaBridge {
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const limits: BatchLimits = { ...DEFAULT_BATCH_LIMITS, ...options.batch };
  const policy: RetryPolicy = {
    ...BRIDGE_RETRY_POLICY,
    ...(options.backoff?.initialMs === undefined
      ? {}
      : { initialDelayMs: options.backoff.initialMs }),
    ...(options.backoff?.maxMs === undefined ? {} : { maxDelayMs: options.backoff.maxMs }),
  };
  const transactionTimeoutMs = options.transactionTimeoutMs ?? 30_000;
  const readAheadEvents = Math.max(options.readAheadEvents ?? 5_000, limits.maxEvents);
  const checkpointTopic = options.checkpointTopic ?? checkpointTopicFor(options.transactionalId);
  const filter = workflowStreamFilter(options.workflows);
  const tracker = new BridgeStatusTracker(
    options.store,
    filter,
    { transactionalId: options.transactionalId, checkpointTopic },
    now,
  );
  const sessionOptions = {
    brokers: options.brokers,
    clientId: options.clientId,
    transactionalId: options.transactionalId,
    topicTemplate: options.topicTemplate,
    topicPartitions: options.topicPartitions,
    workflowTopics: [...new Set(options.workflows)].map((workflow) =>
      topicFor(options.topicTemplate, workflow),
    ),
    checkpointTopic,
    transactionTimeoutMs,
    maxRequestBytes: limits.maxRequestBytes ?? DEFAULT_BATCH_LIMITS.maxRequestBytes,
    logger,
    now,
    ...(options.tracing ? { tracing: options.tracing } : {}),
    ...(options.onTransaction ? { onTransaction: options.onTransaction } : {}),
  };

  let stopping: AbortController | undefined;
  let running: Promise<void> | undefined;
  let current: BridgeSession | undefined;
  let lagTimer: NodeJS.Timeout | undefined;

  /** A failure in esflow's terms: its code, message and whether it is worth retrying. */
  const describe = (error: unknown, activity: SessionActivity | undefined) =>
    isEsflowError(error)
      ? error
      : translateKafkaError(error, {
          operation: activity?.operation ?? 'run the bridge',
          ...(activity?.transactionAgeMs === undefined
            ? {}
            : { transactionAgeMs: activity.transactionAgeMs, transactionTimeoutMs }),
        });

  /** One session: connect, resume after the committed checkpoint, publish until it fails. */
  async function session(signal: AbortSignal): Promise<void> {
    const publishedBefore = tracker.published;
    let events: EventSource | undefined;
    const opened = new BridgeSession(sessionOptions, (checkpoint, count) =>
      tracker.committedBatch(checkpoint, count, (events?.buffered ?? 0) > 0),
    );
    current = opened;
    try {
      const checkpoint = await opened.open();
      logger.info(
        checkpoint
          ? `resuming after ${formatPosition(checkpoint.position)} (${checkpoint.published} events published so far)`
          : 'no checkpoint yet: publishing from the start of the store',
      );
      const [head] = await options.store.readAll({ direction: 'backwards', maxCount: 1, filter });
      tracker.resumed(checkpoint, head?.position);
      void tracker.refreshLag();
      events = liveEventSource(options.store, {
        ...(checkpoint ? { after: checkpoint.position } : {}),
        filter,
        readAheadEvents,
      });
      try {
        await runProcessor({ source: events, handler: opened, limits, signal });
      } finally {
        await events.close();
      }
    } catch (error) {
      const failure = describe(error, opened.activity);
      throw Object.assign(failure, { madeProgress: tracker.published > publishedBefore });
    } finally {
      current = undefined;
      await opened.close();
    }
  }

  async function loop(signal: AbortSignal): Promise<void> {
    try {
      await retry(policy, () => session(signal), {
        retriable: (error) =>
          isEsflowError(error) && error.retriable && error.code !== KafkaErrorCode.Fenced,
        madeProgress: (error) => (error as { madeProgress?: boolean }).madeProgress === true,
        onRetry: (error, _retry, delay) => {
          const failure = describe(error, undefined);
          tracker.failed(failure);
          tracker.set(KafkaBridgeState.Retrying);
          logger.warn(`[${failure.code}] ${failure.message}; retrying in ${delay} ms`);
        },
        signal,
        ...(options.random ? { random: options.random } : {}),
      });
      tracker.set(KafkaBridgeState.Stopped);
    } catch (error) {
      const failure = describe(error, undefined);
      tracker.failed(failure);
      if (signal.aborted) tracker.set(KafkaBridgeState.Stopped);
      else if (failure.code === KafkaErrorCode.Fenced) {
        tracker.set(KafkaBridgeState.Fenced);
        logger.error(`fenced, stopping: ${failure.message}`);
      } else {
        tracker.set(KafkaBridgeState.Stopped);
        logger.error(`stopped by a non-retriable error [${failure.code}]: ${failure.message}`);
      }
    }
  }

  return {
    start() {
      if (running) return;
      stopping = new AbortController();
      tracker.set(KafkaBridgeState.CatchingUp);
      lagTimer = setInterval(() => void tracker.refreshLag(), options.lagRefreshMs ?? 1_000);
      lagTimer.unref();
      running = loop(stopping.signal).finally(() => {
        if (lagTimer) clearInterval(lagTimer);
      });
    },

    async stop() {
      if (!running) return;
      stopping?.abort();
      // Give the transaction in flight a moment to finish, then cut the connection.
      const settled = await withTimeout(running, 10_000).then(
        () => true,
        () => false,
      );
      if (!settled) await current?.close();
      await running;
      running = undefined;
    },

    status: () => tracker.snapshot(),
  };
}
