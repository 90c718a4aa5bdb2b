import { describe, expect, it } from 'vitest';
import { ANY, END, NO_STREAM, START, STREAM_EXISTS } from '@eventstore/db-client';
import { ErrorCode, ExpectedRevision, START_POSITION } from '@esflow/core';
import {
  fromClientCurrentRevision,
  fromClientExpectedRevision,
  isWanted,
  toClientExpectedRevision,
  toReadPosition,
  toRecordedEvent,
  toServerFilter,
} from './esdb-mapping';

describe('EventStoreDB mapping', () => {
  it('maps expected revisions both ways: numbers on the port, bigints in the client', () => {
    const pairs = [
      [ExpectedRevision.Any, ANY],
      [ExpectedRevision.NoStream, NO_STREAM],
      [ExpectedRevision.StreamExists, STREAM_EXISTS],
      [0, 0n],
      [41, 41n],
    ] as const;
    for (const [port, client] of pairs) {
      expect(toClientExpectedRevision(port)).toBe(client);
      expect(fromClientExpectedRevision(client)).toBe(port);
    }
    expect(fromClientCurrentRevision(NO_STREAM)).toBe('no_stream');
    expect(fromClientCurrentRevision(7n)).toBe(7);
    for (const bad of [-1, 1.5, Number.NaN])
      expect(() => toClientExpectedRevision(bad)).toThrow(
        expect.objectContaining({ code: ErrorCode.Internal }),
      );
  });

  it('reads from START for START_POSITION, which the client cannot send', () => {
    expect(toReadPosition(START_POSITION, false)).toBe(START);
    expect(toReadPosition(undefined, false)).toBe(START);
    expect(toReadPosition(undefined, true)).toBe(END);
    expect(toReadPosition({ commit: 10n, prepare: 9n }, false)).toEqual({
      commit: 10n,
      prepare: 9n,
    });
  });

  it('sends stream prefixes, else event types, else "no system events" to the server', () => {
    expect(toServerFilter({ streamNamePrefixes: ['a-'], eventTypes: ['T'] })).toMatchObject({
      filterOn: 'streamName',
      prefixes: ['a-'],
    });
    expect(toServerFilter({ eventTypes: ['T'] })).toMatchObject({
      filterOn: 'eventType',
      prefixes: ['T'],
    });
    expect(toServerFilter(undefined)).toMatchObject({ filterOn: 'eventType', regex: '^[^$].*' });
  });

  it('builds RecordedEvents from resolved events, and leaves system events out of reads', () => {
    const created = new Date('2026-01-02T03:04:05.006Z');
    const recorded = toRecordedEvent({
      event: {
        streamId: 'flow-1',
        id: 'e1',
        isJson: false,
        revision: 3n,
        type: 'Happened',
        created,
        data: new Uint8Array([1, 2]),
        metadata: { a: 1 },
        position: { commit: 20n, prepare: 18n },
      },
    });
    expect(recorded).toEqual({
      streamName: 'flow-1',
      revision: 3,
      position: { commit: 20n, prepare: 18n },
      eventId: 'e1',
      type: 'Happened',
      data: new Uint8Array([1, 2]),
      metadata: { a: 1 },
      recordedAt: created,
    });
    expect(isWanted(recorded!, undefined)).toBe(true);
    expect(isWanted({ ...recorded!, type: '$>' }, undefined)).toBe(false);
    expect(isWanted({ ...recorded!, streamName: '$ce-flow' }, undefined)).toBe(false);
    expect(isWanted(recorded!, { eventTypes: ['HappenedLater'] })).toBe(false);
  });
});
