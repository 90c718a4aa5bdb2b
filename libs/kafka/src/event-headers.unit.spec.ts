import { describe, expect, it } from 'vitest';
import { RecordedEvent } from '@esflow/core';
import {
  ESFLOW_AVRO_CONTENT_TYPE,
  eventHeaders,
  headersAsText,
  instanceIdOf,
  topicFor,
  toOutgoingRecord,
  workflowOfStream,
} from './event-headers';

const framed = Uint8Array.from([0, 0, 0, 0, 7, 2, 0x61]);

const anEvent = (overrides: Partial<RecordedEvent> = {}): RecordedEvent => ({
  eventId: 'e-1',
  type: 'PaymentReceived',
  data: framed,
  metadata: {
    eventId: 'e-1',
    workflow: 'orderFulfillment',
    instanceId: 'order-1001',
    correlationId: 'c-1',
    causationId: 'k-1',
    schema: { subject: 'esflow.orderFulfillment.PaymentReceived', version: 2, id: 7 },
  },
  streamName: 'orderFulfillment-order-1001',
  revision: 1,
  position: { commit: 12n, prepare: 12n },
  recordedAt: new Date('2026-01-02T03:04:05.000Z'),
  ...overrides,
});

describe('header mapping', () => {
  it('maps an event to its headers', () => {
    expect(eventHeaders(anEvent())).toEqual({
      'content-type': ESFLOW_AVRO_CONTENT_TYPE,
      'esflow-event-type': 'PaymentReceived',
      'esflow-event-id': 'e-1',
      'esflow-correlation-id': 'c-1',
      'esflow-causation-id': 'k-1',
      'esflow-stream': 'orderFulfillment-order-1001',
      'esflow-revision': '1',
      'esflow-workflow': 'orderFulfillment',
      'esflow-instance-id': 'order-1001',
      'esflow-schema-subject': 'esflow.orderFulfillment.PaymentReceived',
      'esflow-schema-version': '2',
      'esflow-position': '12/12',
      'esflow-recorded-at': '2026-01-02T03:04:05.000Z',
    });
  });

  it('leaves out headers whose metadata is missing, and derives workflow and instance from the stream', () => {
    const headers = eventHeaders(anEvent({ metadata: {} }));
    expect(headers).not.toHaveProperty('esflow-correlation-id');
    expect(headers).not.toHaveProperty('esflow-schema-subject');
    expect(headers['esflow-workflow']).toBe('orderFulfillment');
    expect(headers['esflow-instance-id']).toBe('order-1001');
  });

  it('keys the record by instance id and sends the stored bytes unchanged', () => {
    const record = toOutgoingRecord(anEvent(), 'esflow.{workflow}');
    expect(record.topic).toBe('esflow.orderFulfillment');
    expect(record.key).toBe('order-1001');
    expect([...record.value]).toEqual([...framed]);
  });

  it('does not copy the stored bytes', () => {
    const backing = new Uint8Array(32);
    const data = backing.subarray(8, 15);
    const record = toOutgoingRecord(anEvent({ data }), 'x.{workflow}');
    expect(record.value.buffer).toBe(backing.buffer);
    expect(record.value.byteOffset).toBe(8);
    expect(record.value.byteLength).toBe(7);
  });

  it('finds workflow, instance id and topic from names', () => {
    expect(workflowOfStream('orderFulfillment-a-b')).toBe('orderFulfillment');
    expect(instanceIdOf(anEvent({ metadata: {}, streamName: 'kyc-a-b' }))).toBe('a-b');
    expect(topicFor('t1.{workflow}.v1', 'kyc')).toBe('t1.kyc.v1');
  });

  it('reads header values back as text', () => {
    expect(
      headersAsText({ a: Buffer.from('x'), b: 'y', c: [Buffer.from('z')], d: undefined }),
    ).toEqual({ a: 'x', b: 'y', c: 'z' });
  });
});
