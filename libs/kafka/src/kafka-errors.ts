import { EsflowError, isEsflowError } from '@esflow/core';

/**
 * The stable codes of the Kafka bridge's and consumer's failures, owned by this package (the
 * core's `ErrorCode` knows nothing of Kafka). kafkajs errors are translated here, at the edge:
 * nothing of kafkajs (types or error classes) crosses this lib's public API. Callers match on
 * the stable `code` and decide on `retriable`, as with {@link EsflowError} elsewhere.
 */
export const KafkaErrorCode = {
  /** The brokers cannot be reached, or a request timed out: try again later. */
  Unavailable: 'KAFKA_UNAVAILABLE',
  /** Another bridge with the same transactional id took over: this one must stop. */
  Fenced: 'KAFKA_FENCED',
  /** The broker aborted our transaction because it stayed open too long: start again. */
  TransactionTimedOut: 'KAFKA_TRANSACTION_TIMED_OUT',
  /** A record is larger than the broker or topic accepts; retrying cannot help. */
  MessageTooLarge: 'KAFKA_MESSAGE_TOO_LARGE',
  /** The principal may not use a topic, group or transactional id. */
  NotAuthorized: 'KAFKA_NOT_AUTHORIZED',
  /** A topic could not be created or has an unusable configuration. */
  TopicSetupFailed: 'KAFKA_TOPIC_SETUP_FAILED',
  /** The checkpoint record in the checkpoint topic cannot be read. */
  CheckpointInvalid: 'KAFKA_CHECKPOINT_INVALID',
  /** A consumed record is not an esflow event (headers or Confluent framing missing). */
  NotAnEsflowEvent: 'KAFKA_NOT_AN_ESFLOW_EVENT',
  /** A consumed record's value could not be decoded through the schema registry. */
  DecodeFailed: 'KAFKA_DECODE_FAILED',
  /** Any other Kafka failure. */
  Failed: 'KAFKA_FAILED',
} as const;
export type KafkaErrorCode = (typeof KafkaErrorCode)[keyof typeof KafkaErrorCode];

/** An {@link EsflowError} whose code is one of the Kafka codes. */
export class KafkaBridgeError extends EsflowError<KafkaErrorCode> {
  constructor(
    code: KafkaErrorCode,
    message: string,
    options: { retriable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
    this.name = 'KafkaBridgeError';
  }
}

const KAFKA_CODES: ReadonlySet<string> = new Set(Object.values(KafkaErrorCode));

/**
 * Whether `error` is an esflow error with one of the {@link KafkaErrorCode}s, recognised by its
 * code (so also when another copy of this package, or another process, made it).
 */
export function isKafkaBridgeError(
  error: unknown,
): error is Pick<KafkaBridgeError, 'code' | 'message' | 'retriable' | 'details'> {
  return isEsflowError(error) && KAFKA_CODES.has(error.code);
}

/** The facts of a kafkajs error (and its causes) that decide its translation. */
export interface KafkaFailureFacts {
  /** Error class names along the cause chain (`KafkaJSConnectionError`, ...). */
  readonly names: readonly string[];
  /** Kafka protocol error types along the chain (`INVALID_PRODUCER_EPOCH`, ...). */
  readonly types: readonly string[];
  /** Numeric protocol codes along the chain. */
  readonly codes: readonly number[];
  /** System error codes along the chain (`ECONNREFUSED`, ...). */
  readonly systemCodes: readonly string[];
  readonly message: string;
}

/** Collects {@link KafkaFailureFacts} from any thrown value, following `cause` and `errors`. */
export function kafkaFailureFacts(error: unknown): KafkaFailureFacts {
  const names: string[] = [];
  const types: string[] = [];
  const codes: number[] = [];
  const systemCodes: string[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number) => {
    if (!value || typeof value !== 'object' || seen.has(value) || depth > 8) return;
    seen.add(value);
    const record = value as Record<string, unknown>;
    if (typeof record['name'] === 'string') names.push(record['name']);
    if (typeof record['type'] === 'string') types.push(record['type']);
    if (typeof record['code'] === 'number') codes.push(record['code']);
    if (typeof record['code'] === 'string') systemCodes.push(record['code']);
    visit(record['cause'], depth + 1);
    visit(record['originalError'], depth + 1);
    if (Array.isArray(record['errors']))
      for (const inner of record['errors']) visit(inner, depth + 1);
  };
  visit(error, 0);
  const message = error instanceof Error ? error.message : String(error);
  return { names, types, codes, systemCodes, message };
}

const FENCING_TYPES = ['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED'];
/** PRODUCER_FENCED (90) is newer than kafkajs 2.2.4's error table. */
const FENCING_CODES = [47, 90];
const TOO_LARGE_TYPES = ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'];
const AUTHORIZATION_TYPES = [
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
];
const TOPIC_SETUP_TYPES = ['INVALID_TOPIC_EXCEPTION', 'INVALID_CONFIG', 'POLICY_VIOLATION'];
const UNAVAILABLE_NAMES = [
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSNumberOfRetriesExceeded',
];
const UNAVAILABLE_SYSTEM_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
];

/**
 * Translates a failure of a Kafka operation into a {@link KafkaBridgeError}. Pure: decided by
 * the facts of the error alone. A fencing error on a transaction that stayed open longer than
 * the transaction timeout is the broker's timeout abort, not another bridge: retriable.
 */
export function translateKafkaError(
  error: unknown,
  context: {
    readonly operation: string;
    /** How long the failed transaction had been open, if one was. */
    readonly transactionAgeMs?: number;
    readonly transactionTimeoutMs?: number;
  },
): KafkaBridgeError {
  if (error instanceof KafkaBridgeError) return error;
  if (isKafkaBridgeError(error))
    return new KafkaBridgeError(error.code, error.message, {
      retriable: error.retriable,
      ...(error.details ? { details: { ...error.details } } : {}),
      cause: error,
    });
  const facts = kafkaFailureFacts(error);
  const has = (list: readonly string[]) => facts.types.some((type) => list.includes(type));
  const what = `${context.operation}: ${facts.message}`;
  const details = { operation: context.operation, kafkaTypes: [...new Set(facts.types)] };

  if (has(FENCING_TYPES) || facts.codes.some((code) => FENCING_CODES.includes(code))) {
    const timedOut =
      context.transactionAgeMs !== undefined &&
      context.transactionTimeoutMs !== undefined &&
      context.transactionAgeMs >= context.transactionTimeoutMs * 0.8;
    return timedOut
      ? new KafkaBridgeError(
          KafkaErrorCode.TransactionTimedOut,
          `${what} (the transaction stayed open ${context.transactionAgeMs} ms; the broker aborted it)`,
          { retriable: true, cause: error, details },
        )
      : new KafkaBridgeError(
          KafkaErrorCode.Fenced,
          `${what}: another producer with the same transactional id has taken over; this bridge stops`,
          { retriable: false, cause: error, details },
        );
  }
  if (has(TOO_LARGE_TYPES))
    return new KafkaBridgeError(KafkaErrorCode.MessageTooLarge, what, {
      retriable: false,
      cause: error,
      details,
    });
  if (has(AUTHORIZATION_TYPES) || facts.names.includes('KafkaJSSASLAuthenticationError'))
    return new KafkaBridgeError(KafkaErrorCode.NotAuthorized, what, {
      retriable: false,
      cause: error,
      details,
    });
  if (has(TOPIC_SETUP_TYPES))
    return new KafkaBridgeError(KafkaErrorCode.TopicSetupFailed, what, {
      retriable: false,
      cause: error,
      details,
    });
  if (
    facts.names.some((name) => UNAVAILABLE_NAMES.includes(name)) ||
    facts.systemCodes.some((code) => UNAVAILABLE_SYSTEM_CODES.includes(code))
  )
    return new KafkaBridgeError(KafkaErrorCode.Unavailable, what, {
      retriable: true,
      cause: error,
      details,
    });
  // Anything else (leader changes, coordinator moves, out-of-order sequences, ...): the bridge
  // recovers by starting over from its committed checkpoint, so trying again is safe.
  return new KafkaBridgeError(KafkaErrorCode.Failed, what, {
    retriable: true,
    cause: error,
    details,
  });
}
