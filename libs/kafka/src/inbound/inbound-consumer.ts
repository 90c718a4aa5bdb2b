/**
 * The inbound Kafka consumer: other services' events, as declared by {@link InboundMessageMapping}s,
 * become workflow messages through a {@link MessageIntake}. Composed of small parts: the mapping
 * index (pure), the registry decoder, the record handler (one record → one intake call), the
 * status tracker, and here the kafkajs session (the group, the commits) run by the one retry
 * primitive. kafkajs types stay in this file.
 */
import {
  ErrorCode,
  EsflowError,
  InboundMessageMapping,
  isEsflowError,
  MessageIntake,
  Processor,
  ProcessorStatus,
  retry,
  RetryPolicy,
} from '@esflow/core';
import { EachBatchPayload } from 'kafkajs';
import { headersAsText } from '../event-headers';
import { createKafkaClient, KafkaLogger, silentLogger } from '../kafka-client';
import { translateKafkaError } from '../kafka-errors';
import { registryDecoder } from './inbound-decoder';
import { indexInboundMappings } from './inbound-mapping';
import { inboundRecordHandler, InboundRecord, RecordVerdict } from './inbound-record';
import { InboundConsumerState, InboundConsumerStats, InboundStatusTracker } from './inbound-status';

/** The consumer group of the inbound consumer unless one is given. */
export const DEFAULT_INBOUND_GROUP_ID = 'esflow-inbound';

/**
 * How a record whose intake call failed, and a session that failed, are tried again: for ever,
 * exponential from 250 ms to 10 s with equal jitter; a session that committed something starts
 * again from the shortest delay.
 */
export const INBOUND_RETRY_POLICY: RetryPolicy = {
  maxAttempts: Number.POSITIVE_INFINITY,
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  jitter: 'equal',
};

/**
 * How to build the inbound consumer: the brokers, the consumer group, the Confluent-compatible
 * registry the values are decoded with, the mappings, and the intake the messages go to; plus
 * tuning (back-off, lag refresh, how long `stop()` waits for the intake call in flight).
 */
export interface InboundMessageConsumerOptions {
  readonly brokers: readonly string[];
  /** Default: the group id. */
  readonly clientId?: string;
  /** The consumer group whose committed offsets say what was consumed. Default `esflow-inbound`. */
  readonly groupId?: string;
  /** Base URL of the Confluent-compatible registry API (Apicurio: `.../apis/ccompat/v7`). */
  readonly registryUrl: string;
  /** At least one; checked when the consumer is made (see {@link indexInboundMappings}). */
  readonly mappings: readonly InboundMessageMapping[];
  readonly intake: MessageIntake;
  readonly logger?: KafkaLogger;
  /**
   * Where a partition the group has no committed offset for is read from: its beginning
   * (default true: nothing published before the first start is missed), or its end.
   */
  readonly fromBeginning?: boolean;
  /** The back-off between attempts (default {@link INBOUND_RETRY_POLICY}: 250 ms to 10 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** How often the lag is measured with the admin client. Default 5 s. */
  readonly lagRefreshMs?: number;
  /**
   * How long `stop()` waits for an intake call in flight before it lets the record go
   * uncommitted (it comes again, and is then a duplicate if the call did complete). Default 10 s.
   */
  readonly stopTimeoutMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * The inbound consumer, a {@link Processor} of the projector runtime (`kind: 'inboundMessages'`,
 * states `connecting`, `live`, `retrying`, `stopped`), with its counters for metrics.
 *
 * Guarantees:
 * - at least once into the intake, without loss: a record's offset is committed only after the
 *   intake's promise resolved (its outcome is durable then), record by record in partition
 *   order; a redelivered record carries the same source event id, hence the same message id,
 *   and the intake answers `duplicate` (counted in `duplicates`): the intake is the inbox;
 * - a record is never left blocking its partition for what it is: one that cannot be decoded,
 *   does not fit its mapping, or that the intake rejects is quarantined through
 *   `intake.quarantineUnreadable` (with the problem in words and the raw value) and committed;
 *   one of a type no mapping names is skipped and committed;
 * - a fault (the intake throws, the registry does not answer) holds that partition at the failed
 *   record, uncommitted, and tries it again after a back-off until it succeeds or the consumer
 *   is stopped; a Kafka failure restarts the session from the committed offsets;
 * - `stop()` lets the record in flight finish (up to `stopTimeoutMs`), commits what was
 *   handled, leaves the group and disconnects; idempotent.
 */
export interface InboundMessageConsumer extends Processor {
  /** The counters of this consumer since it was made. */
  stats(): InboundConsumerStats;
}

type Settled<T> = { readonly settled: true; readonly value: T } | { readonly settled: false };

/**
 * Waits for `work`; once `stop` aborts, for at most `graceMs` more, then gives up on it
 * (`settled: false`). A rejection of `work` before then is passed on.
 */
function settleOrAbandon<T>(work: Promise<T>, stop: AbortSignal, graceMs: number) {
  return new Promise<Settled<T>>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const abandonLater = () => {
      timer = setTimeout(() => resolve({ settled: false }), graceMs);
    };
    if (stop.aborted) abandonLater();
    else stop.addEventListener('abort', abandonLater, { once: true });
    work
      .then((value) => resolve({ settled: true, value }), reject)
      .finally(() => {
        clearTimeout(timer);
        stop.removeEventListener('abort', abandonLater);
      });
  });
}

const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

/** A failure of a record's handling in esflow's terms: the intake's own, or an INTERNAL bug. */
function describeRecordFault(error: unknown) {
  return isEsflowError(error)
    ? error
    : {
        code: ErrorCode.Internal,
        message: error instanceof Error ? error.message : String(error),
        retriable: false,
      };
}

const where = (record: InboundRecord) => `${record.topic}/${record.partition}@${record.offset}`;

/** How often the group is told the consumer lives while one record takes long. */
const HEARTBEAT_EVERY_MS = 3_000;

/**
 * Makes the inbound consumer (nothing connects until `start()`). Throws an INVALID_CONFIGURATION
 * {@link EsflowError} when there is no mapping or a mapping is not valid.
 */
export function createInboundMessageConsumer(
  options: InboundMessageConsumerOptions,
): InboundMessageConsumer {
  const mappings = indexInboundMappings(options.mappings);
  if (mappings.topics.length === 0)
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      'the inbound consumer needs at least one mapping',
    );
  const groupId = options.groupId ?? DEFAULT_INBOUND_GROUP_ID;
  const clientId = options.clientId ?? groupId;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const fromBeginning = options.fromBeginning ?? true;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const lagRefreshMs = options.lagRefreshMs ?? 5_000;
  const policy: RetryPolicy = {
    ...INBOUND_RETRY_POLICY,
    ...(options.backoff?.initialMs === undefined
      ? {}
      : { initialDelayMs: options.backoff.initialMs }),
    ...(options.backoff?.maxMs === undefined ? {} : { maxDelayMs: options.backoff.maxMs }),
  };
  const randomOption = options.random ? { random: options.random } : {};
  const tracker = new InboundStatusTracker(
    { name: 'kafka-inbound', kind: 'inboundMessages', groupId },
    fromBeginning,
    now,
  );
  const handle = inboundRecordHandler({
    mappings,
    decoder: registryDecoder(options.registryUrl),
    intake: options.intake,
  });

  let stopping: AbortController | undefined;
  let running: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  /**
   * Handles one record until it has a verdict, trying again after each fault; undefined when the
   * consumer stops first. Throws when the group membership failed meanwhile (a rebalance), so
   * that kafkajs rejoins and the partition's owner reads the record again.
   */
  async function handleUntilDone(
    record: InboundRecord,
    heartbeat: () => Promise<void>,
    stop: AbortSignal,
  ): Promise<RecordVerdict | undefined> {
    const lost = new AbortController();
    let membershipFailure: unknown;
    const ticker = setInterval(() => {
      heartbeat().catch((error: unknown) => {
        membershipFailure ??= error;
        lost.abort();
      });
    }, HEARTBEAT_EVERY_MS);
    try {
      return await retry(
        policy,
        async () => {
          const settled = await settleOrAbandon(handle(record), stop, stopTimeoutMs);
          return settled.settled ? settled.value : undefined;
        },
        {
          // The intake throws only faults (rejections are values): each may pass.
          retriable: () => true,
          onRetry: (error, retryNumber, delay) => {
            const failure = describeRecordFault(error);
            tracker.failed(failure);
            tracker.set(InboundConsumerState.Retrying);
            logger.warn(
              `[${failure.code}] ${where(record)}: ${failure.message}; trying again in ${delay} ms (retry ${retryNumber})`,
            );
          },
          signal: AbortSignal.any([stop, lost.signal]),
          ...randomOption,
        },
      );
    } catch (error) {
      if (membershipFailure !== undefined) throw membershipFailure;
      if (stop.aborted) return undefined;
      throw error;
    } finally {
      clearInterval(ticker);
    }
  }

  /** One fetched batch of one partition, record by record, each committed once handled. */
  async function consumeBatch(payload: EachBatchPayload, stop: AbortSignal): Promise<void> {
    const { batch } = payload;
    const last = batch.messages[batch.messages.length - 1];
    for (const message of batch.messages) {
      if (stop.aborted || !payload.isRunning() || payload.isStale()) return;
      const record: InboundRecord = {
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        headers: headersAsText(message.headers),
        value: message.value,
      };
      tracker.took(record.topic, record.partition, Number(message.timestamp));
      try {
        const verdict = await handleUntilDone(record, payload.heartbeat, stop);
        if (!verdict) return tracker.released(record.topic, record.partition);
        // The next offset to read; after the batch's last record, past its control records too.
        const next = BigInt(message === last ? batch.lastOffset() : message.offset) + 1n;
        await payload.commitOffsetsIfNecessary({
          topics: [
            {
              topic: record.topic,
              partitions: [{ partition: record.partition, offset: next.toString() }],
            },
          ],
        });
        payload.resolveOffset(message.offset);
        tracker.handled(record.topic, record.partition, verdict);
        if (verdict.kind === 'quarantined')
          logger.warn(
            `${where(record)} quarantined as ${verdict.outcome.messageId}: ${verdict.problem}`,
          );
        else
          logger.debug?.(
            verdict.kind === 'skipped'
              ? `${where(record)} skipped: no mapping for ${verdict.sourceEventType ?? 'its type'}`
              : `${where(record)} → ${verdict.outcome.name} ${verdict.outcome.messageId}: ${verdict.outcome.outcome}`,
          );
      } catch (error) {
        tracker.released(record.topic, record.partition);
        throw error;
      }
      await payload.heartbeat();
    }
  }

  /** One session: join the group, consume until Kafka fails it or the consumer stops. */
  async function session(stop: AbortSignal): Promise<void> {
    tracker.set(InboundConsumerState.Connecting);
    const kafka = createKafkaClient({ clientId, brokers: options.brokers, logger });
    const consumer = kafka.consumer({
      groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 1_000,
      // A dead member's partitions go to the others once its session ends: 10 s, not kafkajs's
      // 30 s (the broker's least is 6 s), heartbeats every 3 s.
      sessionTimeout: 10_000,
      heartbeatInterval: 3_000,
      // A crash ends the session; the retry below starts the next one.
      retry: { restartOnFailure: async () => false },
    });
    const admin = kafka.admin();
    const crashed = new Promise<never>((_, reject) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
    });
    crashed.catch(() => undefined);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      tracker.joined(payload.memberAssignment);
      logger.info(
        `joined ${groupId}: ${
          Object.entries(payload.memberAssignment)
            .map(([topic, partitions]) => `${topic} [${partitions.join(', ')}]`)
            .join(', ') || 'no partitions'
        }`,
      );
      void tracker.refreshLag(admin);
    });
    const lagTimer = setInterval(() => void tracker.refreshLag(admin), lagRefreshMs);
    lagTimer.unref();
    let operation = `connect to ${options.brokers.join(',')}`;
    const close = async () => {
      await consumer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    };
    // Joining runs apart, so that stopping does not wait for a connection attempt to time out:
    // a join cut short by stop() takes no further step and closes its clients when it gives up.
    let joining = true;
    const join = (async () => {
      await consumer.connect();
      await admin.connect();
      if (stop.aborted) return;
      operation = `subscribe to ${mappings.topics.join(', ')}`;
      await consumer.subscribe({ topics: [...mappings.topics], fromBeginning });
      if (stop.aborted) return;
      operation = `consume as ${groupId}`;
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => consumeBatch(payload, stop),
      });
    })().finally(() => {
      joining = false;
    });
    join.catch(() => undefined);
    try {
      await Promise.race([join, untilAborted(stop)]);
      await Promise.race([crashed, untilAborted(stop)]);
    } catch (error) {
      throw isEsflowError(error) ? error : translateKafkaError(error, { operation });
    } finally {
      clearInterval(lagTimer);
      if (joining) void join.catch(() => undefined).then(close);
      else await close();
    }
  }

  async function loop(stop: AbortSignal): Promise<void> {
    try {
      await retry(
        policy,
        async () => {
          const committedBefore = tracker.stats().committed;
          try {
            await session(stop);
          } catch (error) {
            throw Object.assign(error as object, {
              madeProgress: tracker.stats().committed > committedBefore,
            });
          }
        },
        {
          retriable: (error) => isEsflowError(error) && error.retriable,
          madeProgress: (error) => (error as { madeProgress?: boolean }).madeProgress === true,
          onRetry: (error, _retry, delay) => {
            const failure = error as { code: string; message: string; retriable: boolean };
            tracker.failed(failure);
            tracker.set(InboundConsumerState.Retrying);
            logger.warn(`[${failure.code}] ${failure.message}; starting again in ${delay} ms`);
          },
          signal: stop,
          ...randomOption,
        },
      );
      tracker.set(InboundConsumerState.Stopped);
    } catch (error) {
      if (stop.aborted) return tracker.set(InboundConsumerState.Stopped);
      const failure = isEsflowError(error)
        ? error
        : translateKafkaError(error, { operation: 'consume inbound messages' });
      tracker.halted(failure);
      logger.error(
        `stopped by a failure that cannot be retried [${failure.code}]: ${failure.message}`,
      );
    }
  }

  return {
    name: 'kafka-inbound',

    start() {
      if (running) return;
      stopping = new AbortController();
      tracker.set(InboundConsumerState.Connecting);
      running = loop(stopping.signal);
    },

    stop() {
      if (!running) return Promise.resolve();
      stopped ??= (async () => {
        stopping?.abort();
        await running;
        running = undefined;
        stopped = undefined;
      })();
      return stopped;
    },

    status: (): ProcessorStatus => tracker.snapshot(),
    stats: () => tracker.stats(),
  };
}
