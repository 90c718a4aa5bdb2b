import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMetadata,
  DictionaryKind,
  encodeMetadata,
  JsonObject,
  metadataBase,
  uuidBytes,
  uuidText,
} from './compact-metadata';

/** A dictionary in memory, as the store's table would hold it. */
function memoryDictionary() {
  const ids = new Map<string, number>();
  const entries: unknown[] = [];
  return {
    size: () => entries.length,
    intern: (kind: DictionaryKind, json: string) => {
      const key = `${kind}:${json}`;
      let id = ids.get(key);
      if (id === undefined) {
        id = entries.push(JSON.parse(json)) - 1;
        ids.set(key, id);
      }
      return id;
    },
    lookup: (id: number) => {
      if (id >= entries.length) throw new Error(`no entry ${id}`);
      return entries[id];
    },
  };
}

function roundTrip(
  metadata: JsonObject,
  options: { eventId: string; recordedAt: number; base?: JsonObject },
  dictionary = memoryDictionary(),
) {
  const { eventId, recordedAt, base } = options;
  const bytes = encodeMetadata(metadata, {
    eventId,
    recordedAt,
    ...(base ? { base: metadataBase(base) } : {}),
    intern: dictionary.intern,
  });
  const decoded = decodeMetadata(bytes, {
    eventId,
    recordedAt,
    ...(base ? { base } : {}),
    lookup: dictionary.lookup,
  });
  return { bytes, decoded };
}

// Strings of the forms the codec stores specially, beside any string at all.
const specialString = fc.oneof(
  fc.uuid(),
  fc.uuid().map((uuid) => uuid.toUpperCase()),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.stringMatching(/^(?:[0-9a-f]{2}){7,40}$/),
  fc.stringMatching(/^[0-9a-fA-F]{15,33}$/),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('__proto__', 'toString', ''),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    specialString,
    fc.jsonValue(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'schema')), tie('value')),
  ),
})).value;
const metadataObject = fc.dictionary(
  fc.oneof(
    fc.string(),
    fc.constantFrom('eventId', 'category', 'schema', 'stateAfter', 'occurredAt', '__proto__'),
  ),
  value,
);
/** What the store gives the codec: the value as JSON.parse makes it from JSON.stringify. */
const asStored = (value: unknown) => JSON.parse(JSON.stringify(value)) as JsonObject;

describe('compact metadata', () => {
  it('gives back exactly the JSON it was given: keys, their order and every value', () => {
    fc.assert(
      fc.property(
        metadataObject,
        fc.option(metadataObject),
        fc.oneof(fc.uuid(), fc.string()),
        fc.integer({ min: 0, max: 8.64e15 }),
        (raw, rawBase, eventId, recordedAt) => {
          const metadata = asStored(raw);
          // The base shares some of the metadata's values, as a stream's first event does.
          const base =
            rawBase === null ? undefined : { ...asStored(rawBase), ...pickHalf(metadata) };
          const { decoded } = roundTrip(metadata, {
            eventId,
            recordedAt,
            ...(base ? { base } : {}),
          });
          expect(JSON.stringify(decoded)).toBe(JSON.stringify(metadata));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('takes a few bytes for a follow-on event of a workflow (what repeats comes from the base)', () => {
    const dictionary = memoryDictionary();
    const start = sampleMetadata('3b48cf02-4f88-51ff-9289-90dafd76aa27', {
      stateBefore: null,
      stateAfter: 'awaitingPayment',
    });
    const next = {
      ...sampleMetadata('314eca04-9a7a-44d1-bc2f-5bc16cba5db3', {
        stateBefore: 'awaitingPayment',
        stateAfter: 'fetchingGoods',
      }),
      correlationId: start.correlationId,
    };
    const recordedAt = Date.parse(next.occurredAt) + 7;
    const { bytes, decoded } = roundTrip(
      next,
      { eventId: next.eventId, recordedAt, base: start },
      dictionary,
    );
    expect(decoded).toEqual(next);
    expect(JSON.stringify(next).length).toBeGreaterThan(450);
    // Shape, self id, base values, interned states and schema, the time as a small delta.
    expect(bytes.length).toBeLessThan(24);
  });

  it('interns only the bounded keys, so identifiers do not fill the dictionary', () => {
    const dictionary = memoryDictionary();
    for (let i = 0; i < 200; i++) {
      const metadata = sampleMetadata(crypto.randomUUID(), { stateBefore: null, stateAfter: 'a' });
      roundTrip(
        { ...metadata, instanceId: `order-${i}` },
        {
          eventId: metadata.eventId,
          recordedAt: 0,
        },
        dictionary,
      );
    }
    // The shape, category, workflow, schema, the two states and the status.
    expect(dictionary.size()).toBeLessThanOrEqual(8);
  });

  it("keeps the actor of an operator's request (and repeats its stream's first one from the base)", () => {
    const dictionary = memoryDictionary();
    const start = {
      ...sampleMetadata('3b48cf02-4f88-51ff-9289-90dafd76aa27', {
        stateBefore: null,
        stateAfter: 'awaitingPayment',
      }),
      actor: 'alice@example.org',
    };
    const recordedAt = Date.parse(start.occurredAt);
    expect(roundTrip(start, { eventId: start.eventId, recordedAt }, dictionary).decoded).toEqual(
      start,
    );
    const next = (actor: string) => ({
      ...sampleMetadata('314eca04-9a7a-44d1-bc2f-5bc16cba5db3', {
        stateBefore: 'awaitingPayment',
        stateAfter: 'awaitingPayment',
      }),
      correlationId: start.correlationId,
      statusAfter: 'terminated',
      actor,
    });
    const same = roundTrip(
      next('alice@example.org'),
      { eventId: next('').eventId, recordedAt, base: start },
      dictionary,
    );
    const other = roundTrip(
      next('bob'),
      { eventId: next('').eventId, recordedAt, base: start },
      dictionary,
    );
    expect(same.decoded).toEqual(next('alice@example.org'));
    expect(other.decoded).toEqual(next('bob'));
    // The same actor as the stream's first event takes one tag byte; another one its text.
    expect(other.bytes.length - same.bytes.length).toBe(1 + 'bob'.length);
  });

  it('gives every decoded event objects of its own', () => {
    const dictionary = memoryDictionary();
    const metadata = sampleMetadata(crypto.randomUUID(), { stateBefore: null, stateAfter: 'a' });
    const options = { eventId: metadata.eventId, recordedAt: 0, base: metadata };
    const first = roundTrip(metadata, options, dictionary).decoded;
    const second = roundTrip(metadata, options, dictionary).decoded;
    (first['schema'] as { version: number }).version = 99;
    expect((second['schema'] as { version: number }).version).toBe(1);
  });

  it('refuses bytes it did not write', () => {
    const dictionary = memoryDictionary();
    const { bytes } = roundTrip({ a: 'text' }, { eventId: 'e', recordedAt: 0 }, dictionary);
    const context = { eventId: 'e', recordedAt: 0, lookup: dictionary.lookup };
    expect(() => decodeMetadata(bytes.subarray(0, bytes.length - 1), context)).toThrow(
      /ends early/,
    );
    expect(() => decodeMetadata(Buffer.concat([bytes, Buffer.from([0])]), context)).toThrow(
      /left over/,
    );
    expect(() => decodeMetadata(Buffer.from([0, 99]), context)).toThrow();
  });

  it('keeps canonical UUIDs in 16 bytes and nothing else', () => {
    fc.assert(
      fc.property(fc.uuid(), (uuid) => {
        expect(uuidText(uuidBytes(uuid)!)).toBe(uuid);
        expect(uuidBytes(uuid.toUpperCase()) === undefined).toBe(uuid !== uuid.toUpperCase());
      }),
    );
    expect(uuidBytes('order-1')).toBeUndefined();
  });
});

function pickHalf(metadata: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(metadata).filter((_, i) => i % 2 === 0));
}

function sampleMetadata(eventId: string, states: { stateBefore: unknown; stateAfter: unknown }) {
  return {
    eventId,
    category: 'workflow',
    workflow: 'orderFulfillment',
    instanceId: 'bench-6cf0722a-8bba-431b-9640-8c164ef521f4',
    definitionVersion: 1,
    correlationId: eventId,
    causationId: eventId,
    schema: { subject: 'esflow.orderFulfillment.PaymentReceived', version: 1, id: 31 },
    ...states,
    statusAfter: 'running',
    occurredAt: '2026-12-03T07:25:53.426Z',
  } as JsonObject & { eventId: string; correlationId: string; occurredAt: string };
}
