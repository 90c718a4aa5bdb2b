import { describe, expect, it } from 'vitest';
import { KafkaBridgeError, KafkaErrorCode, translateKafkaError } from './kafka-errors';

/** Shaped like kafkajs errors (name, type, code, retriable, cause), without importing kafkajs. */
const kafkaError = (name: string, fields: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, ...fields });

const translate = (error: unknown, extra = {}) =>
  translateKafkaError(error, { operation: 'publish 3 events', ...extra });

describe('translateKafkaError', () => {
  it('turns a fenced epoch into KAFKA_FENCED, not retriable', () => {
    const error = translate(
      kafkaError('KafkaJSNonRetriableError', {
        cause: kafkaError('KafkaJSProtocolError', { type: 'INVALID_PRODUCER_EPOCH', code: 47 }),
      }),
    );
    expect(error).toBeInstanceOf(KafkaBridgeError);
    expect(error).toMatchObject({ code: KafkaErrorCode.Fenced, retriable: false });
    expect(error.message).toContain('publish 3 events');
    expect(error.message).toContain('same transactional id');
  });

  it('recognises PRODUCER_FENCED by its numeric code (newer than kafkajs knows)', () => {
    const error = translate(
      kafkaError('KafkaJSProtocolError', { type: 'KAFKAJS_UNKNOWN_ERROR_CODE', code: 90 }),
    );
    expect(error.code).toBe(KafkaErrorCode.Fenced);
  });

  it('treats a fenced epoch on a transaction older than the timeout as a timed-out transaction', () => {
    const error = translate(
      kafkaError('KafkaJSProtocolError', { type: 'INVALID_PRODUCER_EPOCH', code: 47 }),
      { transactionAgeMs: 29_000, transactionTimeoutMs: 30_000 },
    );
    expect(error).toMatchObject({ code: KafkaErrorCode.TransactionTimedOut, retriable: true });
  });

  it('turns connection failures, however wrapped, into KAFKA_UNAVAILABLE, retriable', () => {
    for (const error of [
      kafkaError('KafkaJSConnectionError', { code: 'ECONNREFUSED' }),
      kafkaError('KafkaJSNumberOfRetriesExceeded', {
        cause: kafkaError('KafkaJSRequestTimeoutError'),
      }),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ])
      expect(translate(error)).toMatchObject({
        code: KafkaErrorCode.Unavailable,
        retriable: true,
      });
  });

  it('stops on errors that retrying cannot fix', () => {
    const types: [string, string][] = [
      ['MESSAGE_TOO_LARGE', KafkaErrorCode.MessageTooLarge],
      ['TOPIC_AUTHORIZATION_FAILED', KafkaErrorCode.NotAuthorized],
      ['TRANSACTIONAL_ID_AUTHORIZATION_FAILED', KafkaErrorCode.NotAuthorized],
      ['INVALID_TOPIC_EXCEPTION', KafkaErrorCode.TopicSetupFailed],
    ];
    for (const [type, code] of types)
      expect(translate(kafkaError('KafkaJSProtocolError', { type }))).toMatchObject({
        code,
        retriable: false,
      });
  });

  it('finds the cause inside aggregate errors', () => {
    const error = translate(
      kafkaError('KafkaJSAggregateError', {
        errors: [kafkaError('KafkaJSProtocolError', { type: 'RECORD_LIST_TOO_LARGE' })],
      }),
    );
    expect(error.code).toBe(KafkaErrorCode.MessageTooLarge);
  });

  it('keeps anything else retriable as KAFKA_FAILED, with the cause attached', () => {
    const cause = kafkaError('KafkaJSProtocolError', { type: 'NOT_LEADER_FOR_PARTITION' });
    const error = translate(cause);
    expect(error).toMatchObject({ code: KafkaErrorCode.Failed, retriable: true });
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({
      operation: 'publish 3 events',
      kafkaTypes: ['NOT_LEADER_FOR_PARTITION'],
    });
  });

  it('passes its own errors through unchanged', () => {
    const own = new KafkaBridgeError(KafkaErrorCode.CheckpointInvalid, 'bad');
    expect(translate(own)).toBe(own);
  });
});
