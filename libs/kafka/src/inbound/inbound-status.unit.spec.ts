import { describe, expect, it } from 'vitest';
import { MessageOutcome } from '@esflow/core';
import {
  InboundConsumerState,
  InboundStatusTracker,
  lagOf,
  readLagOffsets,
} from './inbound-status';

const ends = (entries: Record<string, [number, number, number][]>) =>
  new Map(
    Object.entries(entries).map(([topic, partitions]) => [
      topic,
      new Map(
        partitions.map(([partition, low, high]) => [
          partition,
          { low: BigInt(low), high: BigInt(high) },
        ]),
      ),
    ]),
  );

const committed = (entries: Record<string, [number, number][]>) =>
  new Map(
    Object.entries(entries).map(([topic, partitions]) => [
      topic,
      new Map(partitions.map(([partition, offset]) => [partition, BigInt(offset)])),
    ]),
  );

describe('lagOf', () => {
  const offsets = {
    ends: ends({
      a: [
        [0, 0, 10],
        [1, 5, 8],
        [2, 0, 3],
      ],
      b: [[0, 0, 4]],
    }),
    committed: committed({
      a: [
        [0, 7],
        [1, -1],
      ],
      b: [[0, 4]],
    }),
  };

  it('sums high watermark − committed offset over the assigned partitions only', () => {
    // a/0: 10-7; a/1: none committed, from its first offset 5: 8-5; b/0: caught up.
    expect(lagOf({ a: [0, 1], b: [0] }, offsets, true)).toBe(6);
    expect(lagOf({ a: [0] }, offsets, true)).toBe(3);
  });

  it('counts a partition without a committed offset as 0 when new groups start at the end', () => {
    expect(lagOf({ a: [1, 2] }, offsets, false)).toBe(0);
    expect(lagOf({ a: [2] }, offsets, true)).toBe(3);
  });

  it('reads the offsets through the admin calls', async () => {
    const read = await readLagOffsets(
      {
        fetchTopicOffsets: async () => [{ partition: 0, low: '0', high: '9' }],
        fetchOffsets: async ({ topics }) =>
          topics.map((topic) => ({ topic, partitions: [{ partition: 0, offset: '4' }] })),
      },
      'g',
      { t: [0] },
    );
    expect(lagOf({ t: [0] }, read, true)).toBe(5);
  });
});

describe('InboundStatusTracker', () => {
  const outcome = (kind: MessageOutcome['outcome']): MessageOutcome => ({
    outcome: kind,
    messageId: 'm',
    name: 'n',
    workflow: 'w',
    correlationKey: 'k',
  });

  it('counts records by what became of them', () => {
    const tracker = new InboundStatusTracker({ name: 'i', kind: 'k', groupId: 'g' }, true, () => 0);
    const verdicts = [
      { kind: 'received', outcome: outcome('delivered') },
      { kind: 'received', outcome: outcome('duplicate') },
      { kind: 'skipped' },
      { kind: 'quarantined', outcome: outcome('quarantined'), problem: 'p' },
      { kind: 'quarantined', outcome: outcome('duplicate'), problem: 'p' },
    ] as const;
    for (const verdict of verdicts) {
      tracker.took('t', 0, 0);
      tracker.handled('t', 0, verdict);
    }
    expect(tracker.stats()).toEqual({
      received: 5,
      outcomes: expect.objectContaining({
        delivered: 1,
        started: 0,
        buffered: 0,
        duplicate: 1,
        late: 0,
        quarantined: 0,
      }),
      quarantined: 1,
      skipped: 1,
      duplicates: 2,
      committed: 5,
    });
  });

  it('reports lag with the age of the record in hand, and failing only when it needs an operator', async () => {
    let now = 10_000;
    const tracker = new InboundStatusTracker(
      { name: 'kafka-inbound', kind: 'inboundMessages', groupId: 'g' },
      true,
      () => now,
    );
    expect(tracker.snapshot()).toEqual({
      name: 'kafka-inbound',
      kind: 'inboundMessages',
      state: 'stopped',
      position: null,
      lag: null,
      failing: false,
    });
    tracker.joined({ t: [0] });
    await tracker.refreshLag({
      fetchTopicOffsets: async () => [{ partition: 0, low: '0', high: '3' }],
      fetchOffsets: async () => [{ topic: 't', partitions: [{ partition: 0, offset: '1' }] }],
    });
    tracker.took('t', 0, 7_500);
    tracker.failed({ code: 'INTERNAL', message: 'bug', retriable: false });
    tracker.set(InboundConsumerState.Retrying);
    expect(tracker.snapshot()).toMatchObject({
      state: 'retrying',
      lag: { events: 2, seconds: 2.5 },
      failing: true,
      lastError: { code: 'INTERNAL', message: 'bug' },
    });
    tracker.handled('t', 0, { kind: 'skipped' });
    now += 1_000;
    expect(tracker.snapshot()).toMatchObject({
      state: 'live',
      lag: { seconds: 0 },
      failing: false,
    });
    tracker.set(InboundConsumerState.Stopped);
    expect(tracker.snapshot().failing).toBe(false);
    tracker.halted({ code: 'KAFKA_NOT_AUTHORIZED', message: 'no', retriable: false });
    expect(tracker.snapshot()).toMatchObject({ state: 'stopped', failing: true });
  });

  it('keeps the last lag when Kafka cannot be asked', async () => {
    const tracker = new InboundStatusTracker({ name: 'i', kind: 'k', groupId: 'g' }, true, () => 0);
    tracker.joined({ t: [0] });
    await tracker.refreshLag({
      fetchTopicOffsets: async () => {
        throw new Error('down');
      },
      fetchOffsets: async () => [],
    });
    expect(tracker.snapshot().lag).toBeNull();
  });
});
