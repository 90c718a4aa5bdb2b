import { describe, expect, it } from 'vitest';
import { RecordedEvent } from '@esflow/core';
import { groupByTopic, produceRequests, recordSizeBound } from './batching';
import { OutgoingRecord, toOutgoingMessage } from './event-headers';

// kafkajs's own encoder of a record (v2 record batches): the bound is checked against it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
  offsetDelta?: number;
  timestampDelta?: number;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}) => { buffer: Buffer };

describe('groupByTopic', () => {
  const record = (topic: string, key: string): OutgoingRecord => ({
    topic,
    key,
    value: Buffer.alloc(0),
    headers: {},
  });

  it('groups per topic and keeps the store order within each topic', () => {
    const grouped = groupByTopic([
      record('a', '1'),
      record('b', '2'),
      record('a', '3'),
      record('a', '4'),
    ]);
    expect(grouped.map((g) => [g.topic, g.records.map((r) => r.key)])).toEqual([
      ['a', ['1', '3', '4']],
      ['b', ['2']],
    ]);
  });
});

const anEvent = (n: number, workflow = 'orderFulfillment', bytes = 200): RecordedEvent => ({
  eventId: `e-${n}`,
  type: 'PaymentReceived',
  data: new Uint8Array(bytes).fill(n % 256),
  metadata: {
    eventId: `e-${n}`,
    workflow,
    instanceId: `order-${n % 7}`,
    correlationId: `c-${n}`,
    causationId: `k-${n}`,
    schema: { subject: `esflow.${workflow}.PaymentReceived`, version: 2, id: 7 },
  },
  streamName: `${workflow}-order-${n % 7}`,
  revision: n,
  position: { commit: BigInt(n), prepare: BigInt(n) },
  recordedAt: new Date('2026-01-02T03:04:05.000Z'),
});

describe('recordSizeBound', () => {
  it('is never below what kafkajs encodes, for ASCII and multi-byte text alike', () => {
    const messages = [
      toOutgoingMessage(anEvent(1)),
      toOutgoingMessage(anEvent(2, 'kyc', 0)),
      { key: 'ключ-✓', value: Buffer.alloc(70_000), headers: { 'x-ünï': '€'.repeat(300) } },
    ];
    for (const message of messages) {
      const encoded = encodeRecord({
        ...message,
        headers: { ...message.headers },
        offsetDelta: 2_000_000,
        timestampDelta: 10 * 365 * 24 * 3600 * 1000,
      }).buffer.length;
      expect(recordSizeBound(message)).toBeGreaterThanOrEqual(encoded);
      expect(recordSizeBound(message)).toBeLessThan(encoded + 40 + 10 * 13);
    }
  });
});

describe('produceRequests', () => {
  const topicOf = (event: RecordedEvent) => `t.${event.streamName.split('-')[0]}`;
  const keysOf = (requests: ReturnType<typeof produceRequests>) =>
    requests.map((request) =>
      request.map(({ topic, messages }) => [
        topic,
        messages.map((m) => m.headers['esflow-event-id']),
      ]),
    );

  it('puts a batch within the budget in one request, grouped per topic in store order', () => {
    const events = [anEvent(1), anEvent(2, 'kyc'), anEvent(3), anEvent(4, 'kyc'), anEvent(5)];
    expect(keysOf(produceRequests(events, topicOf, 1024 * 1024))).toEqual([
      [
        ['t.orderFulfillment', ['e-1', 'e-3', 'e-5']],
        ['t.kyc', ['e-2', 'e-4']],
      ],
    ]);
  });

  it('splits in store order at the byte budget, every record in exactly one request', () => {
    const events = Array.from({ length: 100 }, (_, i) =>
      anEvent(i, i % 3 === 0 ? 'kyc' : 'orderFulfillment'),
    );
    const one = recordSizeBound(toOutgoingMessage(events[0]!));
    const budget = one * 10;
    const requests = produceRequests(events, topicOf, budget);
    expect(requests.length).toBeGreaterThan(9);
    for (const request of requests) {
      const bytes = request
        .flatMap((topic) => topic.messages)
        .reduce((sum, message) => sum + recordSizeBound(message), 0);
      expect(bytes).toBeLessThanOrEqual(budget);
    }
    // Concatenated, the requests give back each topic's events in store order.
    for (const topic of ['t.kyc', 't.orderFulfillment']) {
      const sent = requests.flatMap((request) =>
        request.filter((t) => t.topic === topic).flatMap((t) => t.messages),
      );
      const expected = events.filter((event) => topicOf(event) === topic);
      expect(sent.map((m) => m.headers['esflow-event-id'])).toEqual(
        expected.map((event) => event.eventId),
      );
    }
  });

  it('sends a record larger than the budget alone', () => {
    const events = [anEvent(1), anEvent(2, 'orderFulfillment', 5_000), anEvent(3)];
    const requests = produceRequests(events, topicOf, 2_000);
    expect(keysOf(requests)).toEqual([
      [['t.orderFulfillment', ['e-1']]],
      [['t.orderFulfillment', ['e-2']]],
      [['t.orderFulfillment', ['e-3']]],
    ]);
  });
});
