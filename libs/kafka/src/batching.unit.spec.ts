import { describe, expect, it } from 'vitest';
import { groupByTopic } from './batching';
import { OutgoingRecord } from './event-headers';

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
