import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  InboundMessageMapping,
  IncomingMessage,
  MessageIntake,
  MessageOutcome,
  ok,
  reject,
  Rejection,
  UnreadableMessage,
} from '@esflow/core';
import { framingProblem, InboundDecoder } from './inbound-decoder';
import { indexInboundMappings } from './inbound-mapping';
import { describeRejection, inboundRecordHandler, InboundRecord } from './inbound-record';

// The record handler over an in-memory decoder (schema id → record name and decoded value) and
// a recording intake: what each kind of record comes to.

const mapping: InboundMessageMapping = {
  topic: 'payments',
  sourceEventType: 'PaymentCaptured',
  message: 'PaymentReceived',
  correlationKeyPath: 'orderId',
  sourceEventId: 'header:event-id',
  payload: { paymentId: 'paymentId' },
};

/** Values are `[0, id (4 bytes), n]`: schema `id`, the n-th value of that schema. */
function fakeDecoder(schemas: Record<number, { name: string; values: unknown[] }>): InboundDecoder {
  type Found = { problem: string } | { schema: { name: string; values: unknown[] }; n: number };
  const read = (value: Buffer | null): Found => {
    const problem = framingProblem(value);
    if (problem !== undefined) return { problem };
    const schema = schemas[value!.readUInt32BE(1)];
    return schema ? { schema, n: value![5] ?? 0 } : { problem: 'unknown schema id' };
  };
  return {
    writerSchema: async (value) => {
      const found = read(value);
      return 'problem' in found
        ? { readable: false, problem: found.problem }
        : { readable: true, schemaId: value!.readUInt32BE(1), recordName: found.schema.name };
    },
    decode: async (value) => {
      const found = read(value);
      return 'problem' in found
        ? { readable: false, problem: found.problem }
        : { readable: true, value: found.schema.values[found.n] };
    },
  };
}

const framed = (schemaId: number, n = 0) => {
  const value = Buffer.alloc(6);
  value.writeUInt32BE(schemaId, 1);
  value[5] = n;
  return value;
};

function recordingIntake(
  answer: (message: IncomingMessage) => ReturnType<MessageIntake['receive']>,
) {
  const received: IncomingMessage[] = [];
  const quarantined: UnreadableMessage[] = [];
  const outcome = (message: { name: string; messageId: string; correlationKey: string }) =>
    ({
      outcome: 'quarantined',
      messageId: message.messageId,
      name: message.name,
      workflow: '',
      correlationKey: message.correlationKey,
      reason: 'INVALID_PAYLOAD',
    }) satisfies MessageOutcome;
  const intake: MessageIntake = {
    receive: async (message) => {
      received.push(message);
      return answer(message);
    },
    quarantineUnreadable: async (message) => {
      quarantined.push(message);
      return outcome(message);
    },
  };
  return { intake, received, quarantined };
}

const delivered = (message: IncomingMessage): MessageOutcome => ({
  outcome: 'delivered',
  messageId: message.messageId,
  name: message.name,
  workflow: 'orderFulfillment',
  correlationKey: message.correlationKey,
  instanceId: message.correlationKey,
  revision: 3,
});

const record = (value: Buffer | null, headers: Record<string, string> = {}): InboundRecord => ({
  topic: 'payments',
  partition: 0,
  offset: '7',
  headers,
  value,
});

const decoder = fakeDecoder({
  1: {
    name: 'com.acme.PaymentCaptured',
    values: [
      { orderId: 'o-1', paymentId: 'p-1', hash: Buffer.from([1]) },
      { orderId: 'o-1', hash: Buffer.from([2]) },
    ],
  },
  2: { name: 'com.acme.PaymentFailed', values: [{ orderId: 'o-1' }] },
});

describe('inboundRecordHandler', () => {
  it('hands a mapped record to the intake and answers its outcome', async () => {
    const { intake, received } = recordingIntake(async (message) => ok(delivered(message)));
    const handle = inboundRecordHandler({
      mappings: indexInboundMappings([mapping]),
      decoder,
      intake,
    });
    const verdict = await handle(record(framed(1), { 'event-id': 'e-1' }));
    expect(verdict).toMatchObject({ kind: 'received', outcome: { outcome: 'delivered' } });
    expect(received).toEqual([
      {
        name: 'PaymentReceived',
        correlationKey: 'o-1',
        messageId: 'e-1',
        payload: { paymentId: 'p-1' },
        source: {
          kind: 'kafka',
          topic: 'payments',
          partition: 0,
          offset: '7',
          sourceEventType: 'com.acme.PaymentCaptured',
        },
      },
    ]);
  });

  it('skips a type no mapping names, and a topic of header-typed mappings without decoding', async () => {
    const { intake, received, quarantined } = recordingIntake(async (m) => ok(delivered(m)));
    const handle = inboundRecordHandler({
      mappings: indexInboundMappings([mapping]),
      decoder,
      intake,
    });
    expect(await handle(record(framed(2)))).toEqual({
      kind: 'skipped',
      sourceEventType: 'com.acme.PaymentFailed',
    });
    const byHeader = inboundRecordHandler({
      mappings: indexInboundMappings([{ ...mapping, typeHeader: 'type' }]),
      decoder,
      intake,
    });
    expect(await byHeader(record(Buffer.from('garbage'), { type: 'Other' }))).toEqual({
      kind: 'skipped',
    });
    expect([received, quarantined]).toEqual([[], []]);
  });

  it('quarantines an undecodable value as base64, with its id header or its position', async () => {
    const { intake, quarantined } = recordingIntake(async (m) => ok(delivered(m)));
    const handle = inboundRecordHandler({
      mappings: indexInboundMappings([mapping]),
      decoder,
      intake,
    });
    const garbage = Buffer.from('not avro');
    expect(await handle(record(garbage, { 'event-id': 'e-2' }))).toMatchObject({
      kind: 'quarantined',
      problem: expect.stringContaining('not in the Confluent wire format'),
    });
    await handle(record(framed(99)));
    expect(quarantined).toEqual([
      {
        name: '',
        correlationKey: '',
        messageId: 'e-2',
        rawPayload: garbage.toString('base64'),
        problem: expect.stringContaining('8 bytes, starting 6e 6f 74 20 61 76 72 6f'),
        source: expect.objectContaining({ kind: 'kafka', sourceEventType: '' }),
      },
      expect.objectContaining({ messageId: 'kafka:payments:0:7', problem: 'unknown schema id' }),
    ]);
  });

  it('quarantines a record that does not fit its mapping, as decoded JSON text', async () => {
    const { intake, quarantined, received } = recordingIntake(async (m) => ok(delivered(m)));
    const handle = inboundRecordHandler({
      mappings: indexInboundMappings([mapping]),
      decoder,
      intake,
    });
    await handle(record(framed(1, 1), { 'event-id': 'e-3' }));
    expect(received).toEqual([]);
    expect(quarantined).toEqual([
      {
        name: 'PaymentReceived',
        correlationKey: 'o-1',
        messageId: 'e-3',
        rawPayload: '{"orderId":"o-1","hash":"Ag=="}',
        problem:
          "the record does not fit the mapping PaymentCaptured → PaymentReceived: payload field 'paymentId': path 'paymentId': 'paymentId' is missing",
        source: expect.objectContaining({ sourceEventType: 'com.acme.PaymentCaptured' }),
      },
    ]);
  });

  it('quarantines what the intake rejects, with the rejection in words', async () => {
    const rejection: Rejection = {
      code: ErrorCode.SchemaValidationFailed,
      message: 'the payload does not match PaymentReceived v1',
      errors: [{ path: 'paymentId', message: 'must be a string' }],
    };
    const { intake, quarantined } = recordingIntake(async () => reject(rejection));
    const handle = inboundRecordHandler({
      mappings: indexInboundMappings([mapping]),
      decoder,
      intake,
    });
    const verdict = await handle(record(framed(1), { 'event-id': 'e-4' }));
    expect(verdict).toMatchObject({ kind: 'quarantined', outcome: { outcome: 'quarantined' } });
    expect(quarantined[0]).toMatchObject({
      name: 'PaymentReceived',
      messageId: 'e-4',
      problem:
        'the intake rejected the message [SCHEMA_VALIDATION_FAILED]: the payload does not match PaymentReceived v1 (paymentId: must be a string)',
    });
    expect(
      describeRejection({ code: ErrorCode.WorkflowNotFound, message: 'no', workflow: 'w' }),
    ).toBe('the intake rejected the message [WORKFLOW_NOT_FOUND]: no');
  });

  it('throws the faults of the intake unchanged', async () => {
    const down = Object.assign(new Error('store down'), {
      code: 'STORE_UNAVAILABLE',
      retriable: true,
    });
    const { intake } = recordingIntake(async () => {
      throw down;
    });
    const handle = inboundRecordHandler({
      mappings: indexInboundMappings([mapping]),
      decoder,
      intake,
    });
    await expect(handle(record(framed(1), { 'event-id': 'e-5' }))).rejects.toBe(down);
  });
});
