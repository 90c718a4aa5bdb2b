import { describe, expect, it } from 'vitest';
import { ErrorCode, InboundMessageMapping } from '@esflow/core';
import {
  DecodedInboundRecord,
  fallbackMessageId,
  indexInboundMappings,
  readPath,
  readSourceEventId,
  shortName,
  toIncomingMessage,
  toJsonSafe,
} from './inbound-mapping';

const paymentCaptured: InboundMessageMapping = {
  topic: 'payments',
  sourceEventType: 'PaymentCaptured',
  message: 'PaymentReceived',
  correlationKeyPath: 'order.id',
  sourceEventId: 'eventId',
  payload: { paymentId: 'payment.id', amountCents: 'payment.amountCents' },
  ttlSeconds: 600,
};

const aRecord = (value: unknown, overrides: Partial<DecodedInboundRecord> = {}) => ({
  topic: 'payments',
  partition: 2,
  offset: '41',
  headers: {},
  value,
  sourceEventType: 'com.acme.PaymentCaptured',
  ...overrides,
});

describe('readPath', () => {
  const value = { order: { id: 'o-1', lines: [{ sku: 'A' }] }, note: 'x', empty: null };

  it('reads nested fields and array items', () => {
    expect(readPath(value, 'order.id')).toEqual({ found: true, value: 'o-1' });
    expect(readPath(value, 'order.lines.0.sku')).toEqual({ found: true, value: 'A' });
    expect(readPath(value, 'empty')).toEqual({ found: true, value: null });
  });

  it('says which segment is missing', () => {
    expect(readPath(value, 'order.customer.id')).toEqual({
      found: false,
      problem: "path 'order.customer.id': 'order.customer' is missing",
    });
  });

  it('says which segment is not a record', () => {
    expect(readPath(value, 'note.id')).toEqual({
      found: false,
      problem: "path 'note.id': 'note' is a string, not a record",
    });
    expect(readPath(value, 'empty.id')).toEqual({
      found: false,
      problem: "path 'empty.id': 'empty' is null, not a record",
    });
    expect(readPath('text', 'a')).toEqual({
      found: false,
      problem: "path 'a': the value is a string, not a record",
    });
  });

  it('follows own fields only', () => {
    expect(readPath({}, 'constructor').found).toBe(false);
    expect(readPath({}, '__proto__').found).toBe(false);
  });
});

describe('toJsonSafe', () => {
  it('turns bytes into base64 and longs into numbers when safe, else decimal text', () => {
    expect(
      toJsonSafe({
        hash: Buffer.from('hi'),
        raw: Uint8Array.from([1, 2]),
        small: 42n,
        big: 2n ** 60n,
        negative: -(2n ** 60n),
      }),
    ).toEqual({
      hash: 'aGk=',
      raw: 'AQI=',
      small: 42,
      big: '1152921504606846976',
      negative: '-1152921504606846976',
    });
  });

  it('reads Long objects (low, high, unsigned)', () => {
    expect(toJsonSafe({ low: 5, high: 0, unsigned: false })).toBe(5);
    expect(toJsonSafe({ low: -1, high: -1, unsigned: false })).toBe(-1);
    expect(toJsonSafe({ low: 0, high: 1 << 30, unsigned: false })).toBe('4611686018427387904');
    expect(toJsonSafe({ low: -1, high: -1, unsigned: true })).toBe('18446744073709551615');
  });

  it('copies avsc record instances, arrays and maps field by field', () => {
    class PaymentCaptured {
      constructor(
        readonly id: string,
        readonly lines: unknown[],
      ) {}
    }
    const safe = toJsonSafe({
      event: new PaymentCaptured('p-1', [1n, Buffer.from([0])]),
      tags: new Map([['a', 1]]),
      at: new Date('2026-01-02T03:04:05.000Z'),
      nan: Number.NaN,
      missing: undefined,
    });
    expect(safe).toEqual({
      event: { id: 'p-1', lines: [1, 'AA=='] },
      tags: { a: 1 },
      at: '2026-01-02T03:04:05.000Z',
      nan: 'NaN',
    });
    expect(Object.getPrototypeOf((safe as { event: object }).event)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(safe))).toEqual(safe);
  });
});

describe('toIncomingMessage', () => {
  const value = {
    eventId: 'evt-7',
    order: { id: 'o-1' },
    payment: { id: 'p-9', amountCents: 4999 },
  };

  it('makes the message: name, key, id, payload from paths, ttl and source', () => {
    expect(toIncomingMessage(paymentCaptured, aRecord(value))).toEqual({
      ok: true,
      message: {
        name: 'PaymentReceived',
        correlationKey: 'o-1',
        messageId: 'evt-7',
        payload: { paymentId: 'p-9', amountCents: 4999 },
        ttlSeconds: 600,
        source: {
          kind: 'kafka',
          topic: 'payments',
          partition: 2,
          offset: '41',
          sourceEventType: 'com.acme.PaymentCaptured',
        },
      },
    });
  });

  it('turns a numeric key into its decimal text and takes the id from a header', () => {
    const mapped = toIncomingMessage(
      { ...paymentCaptured, correlationKeyPath: 'order.number', sourceEventId: 'header:event-id' },
      aRecord({ ...value, order: { number: 1e21 } }, { headers: { 'event-id': 'h-1' } }),
    );
    expect(mapped.ok && [mapped.message.correlationKey, mapped.message.messageId]).toEqual([
      '1000000000000000000000',
      'h-1',
    ]);
  });

  it('leaves the ttl out when the mapping has none', () => {
    const { ttlSeconds: _, ...withoutTtl } = paymentCaptured;
    const mapped = toIncomingMessage(withoutTtl, aRecord(value));
    expect(mapped.ok && 'ttlSeconds' in mapped.message).toBe(false);
  });

  it('says every problem, keeping the key and id it could read', () => {
    const mapped = toIncomingMessage(
      paymentCaptured,
      aRecord({ eventId: '', order: { id: 'o-1' }, payment: { id: 'p-9' } }),
    );
    expect(mapped).toEqual({
      ok: false,
      problem:
        "source event id (eventId) is an empty string, not a non-empty string or a number; payload field 'amountCents': path 'payment.amountCents': 'payment.amountCents' is missing",
      correlationKey: 'o-1',
      messageId: 'kafka:payments:2:41',
    });
  });

  it('refuses a key that is not text or a number', () => {
    const mapped = toIncomingMessage(paymentCaptured, aRecord({ ...value, order: { id: true } }));
    expect(!mapped.ok && mapped.problem).toBe(
      'correlation key is true, not a non-empty string or a number',
    );
    const missingHeader = toIncomingMessage(
      { ...paymentCaptured, sourceEventId: 'header:event-id' },
      aRecord(value),
    );
    expect(!missingHeader.ok && missingHeader.problem).toBe(
      "source event id (header:event-id): header 'event-id' is missing",
    );
  });
});

describe('indexInboundMappings', () => {
  const byHeader: InboundMessageMapping = {
    ...paymentCaptured,
    sourceEventType: 'payment.refunded',
    typeHeader: 'ce-type',
    message: 'PaymentRefunded',
    sourceEventId: 'header:ce-id',
  };
  const index = indexInboundMappings([
    paymentCaptured,
    { ...paymentCaptured, sourceEventType: 'com.acme.v2.PaymentCaptured', message: 'V2' },
    byHeader,
    { ...paymentCaptured, topic: 'orders', sourceEventType: 'OrderPlaced', message: 'Start' },
  ]);

  it('lists each topic once', () => {
    expect(index.topics).toEqual(['payments', 'orders']);
  });

  it('matches by full record name first, then by short name', () => {
    expect(index.byRecordName('payments', 'com.acme.v2.PaymentCaptured')?.mapping.message).toBe(
      'V2',
    );
    expect(index.byRecordName('payments', 'com.acme.PaymentCaptured')).toMatchObject({
      mapping: { message: 'PaymentReceived' },
      sourceEventType: 'com.acme.PaymentCaptured',
    });
    expect(index.byRecordName('payments', 'com.acme.OrderPlaced')).toBeUndefined();
    expect(index.byRecordName('elsewhere', 'PaymentCaptured')).toBeUndefined();
  });

  it('matches by type header, and only by it for header-typed mappings', () => {
    expect(index.byHeader('payments', { 'ce-type': 'payment.refunded' })?.mapping.message).toBe(
      'PaymentRefunded',
    );
    expect(index.byHeader('payments', { 'ce-type': 'other' })).toBeUndefined();
    expect(index.byRecordName('payments', 'payment.refunded')).toBeUndefined();
    expect(index.matchesByRecordName('payments')).toBe(true);
    expect(index.idHeaders('payments')).toEqual(['ce-id']);
  });

  it('refuses invalid mappings, naming them', () => {
    const refused = (mapping: Partial<InboundMessageMapping>) => () =>
      indexInboundMappings([{ ...paymentCaptured, ...mapping }]);
    expect(refused({ topic: '' })).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidConfiguration,
        message: expect.stringContaining('inbound mapping #1'),
      }),
    );
    expect(refused({ correlationKeyPath: 'order..id' })).toThrow(/not a dot path/);
    expect(refused({ sourceEventId: 'header:' })).toThrow(/names no header/);
    expect(refused({ payload: { a: '' } })).toThrow(/payload field 'a'/);
    expect(refused({ ttlSeconds: 1.5 })).toThrow(/ttlSeconds/);
    expect(refused({ typeHeader: '' })).toThrow(/typeHeader/);
  });

  it('refuses two mappings of one type on one topic', () => {
    expect(() =>
      indexInboundMappings([paymentCaptured, { ...paymentCaptured, message: 'Other' }]),
    ).toThrow(/mapping #2 .*mapping #1 already maps PaymentCaptured on payments/);
  });
});

describe('names and ids', () => {
  it('takes the short name after the last dot', () => {
    expect(shortName('com.acme.PaymentCaptured')).toBe('PaymentCaptured');
    expect(shortName('PaymentCaptured')).toBe('PaymentCaptured');
  });

  it('reads ids from headers or paths, and falls back to the record position', () => {
    expect(readSourceEventId('header:id', { id: 'h' }, {})).toEqual({ found: true, value: 'h' });
    expect(readSourceEventId('meta.id', {}, { meta: { id: 3 } })).toEqual({
      found: true,
      value: 3,
    });
    expect(fallbackMessageId('t', 0, '12')).toBe('kafka:t:0:12');
  });
});
