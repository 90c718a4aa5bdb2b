import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../kafka-errors';
import { confluentSchemaId, readEventHeaders, RecentEventIds } from './esflow-consumer';

describe('readEventHeaders', () => {
  it('reads type and metadata from the bridge headers', () => {
    expect(
      readEventHeaders({
        'esflow-event-type': 'GoodsFetched',
        'esflow-event-id': 'e-9',
        'esflow-stream': 'orderFulfillment-o-1',
        'esflow-revision': '2',
        'esflow-correlation-id': 'c',
        'esflow-schema-version': '1',
      }),
    ).toEqual({
      type: 'GoodsFetched',
      metadata: {
        eventId: 'e-9',
        stream: 'orderFulfillment-o-1',
        revision: 2,
        instanceId: 'o-1',
        correlationId: 'c',
        schemaVersion: 1,
      },
    });
  });

  it('refuses a record that is not an esflow event', () => {
    expect(() => readEventHeaders({ 'esflow-event-type': 'X' })).toThrow(
      expect.objectContaining({ code: KafkaErrorCode.NotAnEsflowEvent }),
    );
  });
});

describe('confluentSchemaId', () => {
  it('reads the big-endian id after the magic byte', () => {
    expect(confluentSchemaId(Uint8Array.from([0, 0, 0, 1, 2, 9]))).toBe(258);
  });

  it('refuses values without the magic byte', () => {
    expect(() => confluentSchemaId(Uint8Array.from([1, 0, 0, 0, 1]))).toThrow(
      expect.objectContaining({ code: KafkaErrorCode.NotAnEsflowEvent }),
    );
  });
});

describe('RecentEventIds', () => {
  it('remembers ids up to its capacity, forgetting the oldest first', () => {
    const seen = new RecentEventIds(2);
    seen.add('a');
    seen.add('b');
    seen.add('a'); // refreshed: now newest
    seen.add('c');
    expect(['a', 'b', 'c'].map((id) => seen.has(id))).toEqual([true, false, true]);
  });
});
