import { describe, expect, it } from 'vitest';
import { checkpointTopicFor, decodeCheckpoint, encodeCheckpoint } from './checkpoint';
import { KafkaErrorCode } from './kafka-errors';

// Golden: the checkpoint record's value, version 1. Changing it breaks resuming bridges.
const GOLDEN_V1 =
  '{"v":1,"position":"42/42","eventId":"8d4b7f3e-1c2a-5b6d-9e0f-123456789abc","published":17,"writtenAt":"2026-01-02T03:04:05.000Z"}';

const checkpoint = {
  position: { commit: 42n, prepare: 42n },
  eventId: '8d4b7f3e-1c2a-5b6d-9e0f-123456789abc',
  published: 17,
  writtenAt: '2026-01-02T03:04:05.000Z',
};

describe('checkpoint encoding', () => {
  it('encodes version 1 as the golden JSON', () => {
    expect(encodeCheckpoint(checkpoint).toString('utf8')).toBe(GOLDEN_V1);
  });

  it('decodes the golden value', () => {
    expect(decodeCheckpoint(Buffer.from(GOLDEN_V1))).toEqual(checkpoint);
  });

  it('round-trips positions beyond 2^53 (EventStoreDB commit/prepare)', () => {
    const big = { ...checkpoint, position: { commit: 2n ** 60n + 1n, prepare: 2n ** 60n } };
    expect(decodeCheckpoint(encodeCheckpoint(big)).position).toEqual(big.position);
  });

  it.each([
    ['not JSON', 'nope'],
    ['an unknown format version', '{"v":2,"position":"1/1","published":1}'],
    ['a bad position', '{"v":1,"position":"one","published":1}'],
    ['a missing count', '{"v":1,"position":"1/1"}'],
  ])('refuses %s as CHECKPOINT_INVALID, not retriable', (_, value) => {
    expect(() => decodeCheckpoint(Buffer.from(value))).toThrow(
      expect.objectContaining({ code: KafkaErrorCode.CheckpointInvalid, retriable: false }),
    );
  });
});

describe('checkpointTopicFor', () => {
  it('names one topic per transactional id, with characters Kafka accepts', () => {
    expect(checkpointTopicFor('esflow-bridge')).toBe('esflow-bridge-checkpoints.esflow-bridge');
    expect(checkpointTopicFor('team a/bridge#1')).toBe('esflow-bridge-checkpoints.team_a_bridge_1');
  });
});
