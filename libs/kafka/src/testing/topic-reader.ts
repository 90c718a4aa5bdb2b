/**
 * Test kit: read what the bridge committed, the way a read_committed consumer sees it. For
 * tests and benchmarks (import it by path; it is not part of the lib's index).
 */
import { randomUUID } from 'node:crypto';
import { headersAsText } from '../event-headers';
import {
  CommittedRecord,
  createKafkaClient,
  readCommittedToEnd,
  silentLogger,
} from '../kafka-client';
import { translateKafkaError } from '../kafka-errors';

export type { CommittedRecord } from '../kafka-client';

/**
 * Every committed record of `topics` up to their end as it is now (read_committed: aborted
 * records and transaction markers are never returned), in partition order.
 */
export async function readTopicsToEnd(options: {
  readonly brokers: readonly string[];
  readonly topics: readonly string[];
  readonly timeoutMs?: number;
}): Promise<CommittedRecord[]> {
  const kafka = createKafkaClient({
    clientId: 'esflow-test-reader',
    brokers: options.brokers,
    logger: silentLogger,
  });
  const admin = kafka.admin();
  const records: CommittedRecord[] = [];
  try {
    await admin.connect();
    await readCommittedToEnd({
      kafka,
      admin,
      topics: options.topics,
      timeoutMs: options.timeoutMs ?? 60_000,
      onRecord: (record) => records.push(record),
    });
    return records;
  } catch (error) {
    throw translateKafkaError(error, { operation: `read ${options.topics.join(', ')}` });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * A read_committed consumer (own throw-away group, from the beginning) that hands every
 * record to `onRecord` until stopped. Resolves once it has joined its group.
 */
export async function watchTopics(options: {
  readonly brokers: readonly string[];
  readonly topics: readonly string[];
  readonly onRecord: (record: CommittedRecord) => void;
}): Promise<{ stop(): Promise<void> }> {
  const kafka = createKafkaClient({
    clientId: 'esflow-test-watcher',
    brokers: options.brokers,
    logger: silentLogger,
  });
  const consumer = kafka.consumer({
    groupId: `esflow-watcher.${randomUUID()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [...options.topics], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages)
        options.onRecord({
          topic: batch.topic,
          partition: batch.partition,
          offset: BigInt(message.offset),
          key: message.key?.toString(),
          value: message.value,
          headers: headersAsText(message.headers),
        });
    },
  });
  return { stop: () => consumer.disconnect() };
}
