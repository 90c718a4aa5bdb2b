/**
 * The kafkajs plumbing of the bridge: client settings, topic creation and reading the last
 * committed checkpoint. Internal to this lib (not exported from index.ts): kafkajs types stay here.
 */
import { randomUUID } from 'node:crypto';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { BridgeCheckpoint, decodeCheckpoint } from './checkpoint';
import { headersAsText } from './event-headers';
import { KafkaBridgeError, KafkaErrorCode } from './kafka-errors';

/** Where the lib writes its own log lines (a Nest Logger, pino, console, ...). */
export interface KafkaLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
}

export const silentLogger: KafkaLogger = { info() {}, warn() {}, error() {} };

/**
 * A kafkajs client with short timeouts and few retries: the bridge does its own back-off
 * around whole sessions, so a broker outage surfaces in seconds instead of minutes. kafkajs's
 * own log lines go to `logger.debug`.
 */
export function createKafkaClient(options: {
  readonly clientId: string;
  readonly brokers: readonly string[];
  readonly logger: KafkaLogger;
}): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: 3_000,
    requestTimeout: 15_000,
    retry: { initialRetryTime: 250, maxRetryTime: 2_000, retries: 3 },
    logLevel: logLevel.INFO,
    logCreator:
      () =>
      ({ namespace, level, log }) => {
        const { message, error } = log as { message?: string; error?: string };
        const levelName = logLevel[level] ?? String(level);
        options.logger.debug?.(
          `kafkajs ${levelName} ${namespace}: ${message ?? ''}${error ? ` (${error})` : ''}`,
        );
      },
  });
}

export interface TopicSpec {
  readonly topic: string;
  readonly numPartitions: number;
  readonly configEntries?: readonly { name: string; value: string }[];
}

/**
 * Creates the topics that do not exist yet; existing ones are left as they are. Resolves once
 * every partition of the topics it created has a leader.
 */
export async function ensureTopics(admin: Admin, topics: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((spec) => !existing.has(spec.topic));
  if (missing.length === 0) return [];
  const { brokers } = await admin.describeCluster();
  const replicationFactor = Math.max(1, Math.min(3, brokers.length));
  try {
    await admin.createTopics({
      // kafkajs's own wait sleeps 100 ms before its first look; waitForLeaders looks at once.
      waitForLeaders: false,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.numPartitions,
        replicationFactor,
        configEntries: [...(spec.configEntries ?? [])],
      })),
    });
  } catch (error) {
    // Another process created some of them meanwhile: fine. Anything else is a real failure.
    const errors = (error as { errors?: { type?: string }[] }).errors;
    if (!errors?.every((inner) => inner.type === 'TOPIC_ALREADY_EXISTS')) throw error;
  }
  const created = missing.map((spec) => spec.topic);
  await waitForLeaders(admin, created, 10_000);
  return created;
}

/** Metadata errors of a topic that is still being set up: worth another look. */
const SETTING_UP = new Set(['LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

/**
 * Resolves once every partition of `topics` has a leader: looks at once, then after 5 ms,
 * 10 ms, ... (at most 100 ms apart); rejects with a retriable UNAVAILABLE error after `timeoutMs`.
 */
export async function waitForLeaders(
  admin: Admin,
  topics: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const ready = topics.every((topic) => {
        const partitions = metadata.topics.find((found) => found.name === topic)?.partitions;
        return (
          partitions !== undefined &&
          partitions.length > 0 &&
          partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0)
        );
      });
      if (ready) return;
    } catch (error) {
      // kafkajs wraps the error in KafkaJSNumberOfRetriesExceeded once its own retries are spent.
      const { type, cause } = error as { type?: string; cause?: { type?: string } };
      if (!SETTING_UP.has(type ?? cause?.type ?? '')) throw error;
    }
    if (Date.now() >= deadline)
      throw new KafkaBridgeError(
        KafkaErrorCode.Unavailable,
        `the partitions of ${topics.join(', ')} had no leader after ${timeoutMs} ms`,
        { retriable: true },
      );
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Settings of the checkpoint topic: compacted, so only the newest checkpoint per key is kept. */
export const CHECKPOINT_TOPIC_CONFIG = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.ms', value: String(60 * 60 * 1000) },
  { name: 'min.cleanable.dirty.ratio', value: '0.1' },
];

/** A record read back from Kafka, in plain types. */
export interface CommittedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly key: string | undefined;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

interface PartitionRange {
  readonly topic: string;
  readonly partition: number;
  readonly low: bigint;
  /** The last stable offset (read_committed end) when the read began. */
  readonly high: bigint;
}

/**
 * Reads every committed record (read_committed) of `topics` from `startAt` (default: the
 * partition's first offset) up to each partition's end as it was when the read began, and
 * resolves once all of it was read. Aborted records and commit markers are skipped.
 */
export async function readCommittedToEnd(options: {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly topics: readonly string[];
  readonly timeoutMs: number;
  readonly startAt?: (range: PartitionRange) => bigint;
  readonly onRecord: (record: CommittedRecord) => void;
}): Promise<void> {
  const ranges: PartitionRange[] = [];
  for (const topic of options.topics)
    for (const p of await options.admin.fetchTopicOffsets(topic))
      ranges.push({ topic, partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) });
  const toRead = ranges.filter((range) => range.high > range.low);
  if (toRead.length === 0) return;

  const id = (topic: string, partition: number) => `${topic}/${partition}`;
  const starts = new Map(
    toRead.map((range) => [
      id(range.topic, range.partition),
      options.startAt?.(range) ?? range.low,
    ]),
  );
  const remaining = new Map(
    toRead.map((range) => [id(range.topic, range.partition), range.high - 1n]),
  );
  // A throw-away group: nothing is committed, and a shared name would split the partitions
  // between concurrent readers.
  const consumer = options.kafka.consumer({
    groupId: `esflow-reader.${randomUUID()}`,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 200,
  });
  let reachedEnd: () => void = () => {};
  const done = new Promise<void>((resolve) => (reachedEnd = resolve));
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({
      topics: [...new Set(toRead.map((r) => r.topic))],
      fromBeginning: true,
    });
    // Fired after every fetched batch, also one holding only a commit marker or aborted
    // records: the reliable "we have read up to here".
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = id(payload.topic, payload.partition);
      const last = remaining.get(key);
      if (last !== undefined && BigInt(payload.lastOffset) >= last) remaining.delete(key);
      if (remaining.size === 0) reachedEnd();
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const start = starts.get(id(batch.topic, batch.partition)) ?? 0n;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          // A fetch that began before the seek took effect: not part of the window.
          if (offset < start) continue;
          options.onRecord({
            topic: batch.topic,
            partition: batch.partition,
            offset,
            key: message.key?.toString(),
            value: message.value,
            headers: headersAsText(message.headers),
          });
        }
      },
    });
    for (const range of toRead) {
      const start = starts.get(id(range.topic, range.partition))!;
      if (start > range.low)
        consumer.seek({ topic: range.topic, partition: range.partition, offset: String(start) });
    }
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new KafkaBridgeError(
                KafkaErrorCode.Unavailable,
                `reading ${options.topics.join(', ')} to the end took longer than ${options.timeoutMs} ms`,
                { retriable: true },
              ),
            ),
          options.timeoutMs,
        );
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
}

/** How far back from the end the first read of the checkpoint partition starts. */
const CHECKPOINT_TAIL = 1_000n;

/**
 * Reads the newest committed checkpoint for `key` (read_committed). Call it only after the
 * transactional producer is initialised: that fences older bridges and aborts their open
 * transaction, so the partition's last stable offset is its end and nothing can commit behind
 * our back. Reads the tail first and the whole partition only if the tail held no checkpoint.
 */
export async function readCommittedCheckpoint(options: {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly topic: string;
  readonly key: string;
  readonly timeoutMs: number;
}): Promise<BridgeCheckpoint | undefined> {
  const newestIn = async (startAt?: (range: PartitionRange) => bigint) => {
    let newest: CommittedRecord | undefined;
    await readCommittedToEnd({
      ...options,
      topics: [options.topic],
      ...(startAt ? { startAt } : {}),
      onRecord: (record) => {
        if (record.key !== options.key || !record.value) return;
        if (!newest || record.offset > newest.offset) newest = record;
      },
    });
    return newest;
  };
  let tailSkipsSome = false;
  const fromTail = await newestIn((range) => {
    if (range.high - CHECKPOINT_TAIL <= range.low) return range.low;
    tailSkipsSome = true;
    return range.high - CHECKPOINT_TAIL;
  });
  const newest = fromTail ?? (tailSkipsSome ? await newestIn() : undefined);
  return newest?.value ? decodeCheckpoint(newest.value) : undefined;
}
