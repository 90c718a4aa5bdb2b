import { describe, expect, it } from 'vitest';
import { backoffDelay, groupByTopic, lagOf, nextBatchSize } from './batching';
import { OutgoingRecord } from './event-headers';

const events = (...sizes: number[]) => sizes.map((size) => ({ data: new Uint8Array(size) }));

describe('nextBatchSize', () => {
  it('takes everything pending when it fits both limits', () => {
    expect(nextBatchSize(events(10, 10, 10), { maxEvents: 5, maxBytes: 100 })).toBe(3);
  });

  it('stops at the event limit', () => {
    expect(nextBatchSize(events(1, 1, 1, 1), { maxEvents: 3, maxBytes: 100 })).toBe(3);
  });

  it('stops before the event that would exceed the byte limit', () => {
    expect(nextBatchSize(events(40, 40, 40), { maxEvents: 10, maxBytes: 100 })).toBe(2);
  });

  it('still takes one event that is larger than the byte limit on its own', () => {
    expect(nextBatchSize(events(500, 1), { maxEvents: 10, maxBytes: 100 })).toBe(1);
  });

  it('is zero when nothing is pending', () => {
    expect(nextBatchSize([], { maxEvents: 10, maxBytes: 100 })).toBe(0);
  });
});

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

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 1_000 };

  it('doubles per attempt between half and all of the exponential delay', () => {
    expect(backoffDelay(1, policy, () => 0)).toBe(50);
    expect(backoffDelay(1, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, () => 0)).toBe(200);
    expect(backoffDelay(3, policy, () => 1)).toBe(400);
  });

  it('is capped at maxMs', () => {
    expect(backoffDelay(30, policy, () => 1)).toBe(1_000);
  });
});

describe('lagOf', () => {
  it('is zero when nothing is pending', () => {
    expect(lagOf([], 1_000)).toEqual({ events: 0, seconds: 0 });
  });

  it('counts pending events and ages the oldest one', () => {
    const pending = [{ recordedAt: new Date(1_000) }, { recordedAt: new Date(4_000) }];
    expect(lagOf(pending, 6_500)).toEqual({ events: 2, seconds: 5.5 });
  });
});
