import type {
  BatchLimits as CoreBatchLimits,
  EventTraceContext,
  RecordedEvent,
} from '@esflow/core';
import { OutgoingMessage, OutgoingRecord, toOutgoingMessage } from './event-headers';

/**
 * Limits of one bridge transaction. A batch takes pending events in store order until either limit
 * is reached, and always at least one event.
 */
export interface BatchLimits extends CoreBatchLimits {
  /** Most value bytes in one transaction; a single larger event still forms a batch alone. */
  readonly maxBytes: number;
  /**
   * Most bytes in one produce request, as estimated from above (keys, values, headers and
   * record overhead). A transaction larger than this is sent as several produce requests, one
   * after the other, before its commit; each partition's record batch then stays under the
   * broker's `message.max.bytes` (1 MiB by default). A single larger record still goes alone.
   * Default {@link DEFAULT_BATCH_LIMITS}: 960 KiB.
   */
  readonly maxRequestBytes?: number;
}

/**
 * The bridge's default batch limits: 3000 events or 4 MiB of values per transaction, sent in
 * produce requests of at most 960 KiB each.
 */
export const DEFAULT_BATCH_LIMITS: BatchLimits & { readonly maxRequestBytes: number } = {
  maxEvents: 3_000,
  maxBytes: 4 * 1024 * 1024,
  maxRequestBytes: 960 * 1024,
};

/** Records grouped per topic, keeping their order within each topic. */
export function groupByTopic(
  records: readonly OutgoingRecord[],
): { topic: string; records: OutgoingRecord[] }[] {
  const byTopic = new Map<string, OutgoingRecord[]>();
  for (const record of records) {
    const list = byTopic.get(record.topic);
    if (list) list.push(record);
    else byTopic.set(record.topic, [record]);
  }
  return [...byTopic].map(([topic, list]) => ({ topic, records: list }));
}

/** The messages of one topic in one produce request, in store order. */
export interface TopicMessages {
  readonly topic: string;
  readonly messages: OutgoingMessage[];
}

/**
 * An upper bound of a record's size in a record batch (v2): each varint counted at its widest
 * (length, offset delta, key and value lengths, header count and lengths: 5 bytes; timestamp
 * delta: 10), plus the attributes byte and the UTF-8 bytes of key, value and headers.
 */
export function recordSizeBound(message: OutgoingMessage): number {
  let size = 5 + 1 + 10 + 5 + 5 + Buffer.byteLength(message.key) + 5 + message.value.byteLength + 5;
  const headers = message.headers;
  for (const name in headers)
    size += 10 + Buffer.byteLength(name) + Buffer.byteLength(headers[name]!);
  return size;
}

/**
 * The produce requests of one transaction: `events` (store order) as records grouped per
 * topic, split in order into requests of at most `maxRequestBytes` ({@link recordSizeBound}),
 * each holding at least one record. Sent one after the other, they keep the store order
 * within every topic and partition. `traceOf` gives a record's trace context (its headers),
 * when it is not the one the event recorded.
 */
export function produceRequests(
  events: readonly RecordedEvent[],
  topicOf: (event: RecordedEvent) => string,
  maxRequestBytes: number,
  traceOf?: (event: RecordedEvent) => EventTraceContext | undefined,
): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let byTopic = new Map<string, OutgoingMessage[]>();
  let bytes = 0;
  const close = () => {
    requests.push([...byTopic].map(([topic, messages]) => ({ topic, messages })));
    byTopic = new Map();
    bytes = 0;
  };
  for (const event of events) {
    const message = toOutgoingMessage(event, traceOf?.(event));
    const size = recordSizeBound(message);
    if (bytes > 0 && bytes + size > maxRequestBytes) close();
    bytes += size;
    const topic = topicOf(event);
    const messages = byTopic.get(topic);
    if (messages) messages.push(message);
    else byTopic.set(topic, [message]);
  }
  if (bytes > 0) close();
  return requests;
}
