/**
 * The closed set of stable error codes esflow reports. Codes cross process boundaries (HTTP
 * problem details, logs, Kafka headers), so callers match on `code`, never on `instanceof`.
 */
export const ErrorCode = {
  // Client input
  MalformedRequest: 'MALFORMED_REQUEST',
  InvalidId: 'INVALID_ID',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  SchemaValidationFailed: 'SCHEMA_VALIDATION_FAILED',
  UnknownEventType: 'UNKNOWN_EVENT_TYPE',
  // Business outcomes
  WorkflowNotFound: 'WORKFLOW_NOT_FOUND',
  InstanceNotFound: 'INSTANCE_NOT_FOUND',
  InstanceAlreadyExists: 'INSTANCE_ALREADY_EXISTS',
  RevisionConflict: 'REVISION_CONFLICT',
  EventNotAccepted: 'EVENT_NOT_ACCEPTED',
  NotFound: 'NOT_FOUND',
  ProjectionNotFound: 'PROJECTION_NOT_FOUND',
  RebuildInProgress: 'REBUILD_IN_PROGRESS',
  ProjectionNotStopped: 'PROJECTION_NOT_STOPPED',
  // Infrastructure and programming faults
  AppendPartiallyDuplicated: 'APPEND_PARTIALLY_DUPLICATED',
  StoreUnavailable: 'STORE_UNAVAILABLE',
  SchemaNotFound: 'SCHEMA_NOT_FOUND',
  SchemaIncompatible: 'SCHEMA_INCOMPATIBLE',
  CorruptEvent: 'CORRUPT_EVENT',
  InvalidDefinition: 'INVALID_DEFINITION',
  InvalidConfiguration: 'INVALID_CONFIGURATION',
  Internal: 'INTERNAL',
  // Kafka bridge and consumer (libs/kafka)
  KafkaUnavailable: 'KAFKA_UNAVAILABLE',
  KafkaFenced: 'KAFKA_FENCED',
  KafkaTransactionTimedOut: 'KAFKA_TRANSACTION_TIMED_OUT',
  KafkaMessageTooLarge: 'KAFKA_MESSAGE_TOO_LARGE',
  KafkaNotAuthorized: 'KAFKA_NOT_AUTHORIZED',
  KafkaTopicSetupFailed: 'KAFKA_TOPIC_SETUP_FAILED',
  KafkaCheckpointInvalid: 'KAFKA_CHECKPOINT_INVALID',
  KafkaNotAnEsflowEvent: 'KAFKA_NOT_AN_ESFLOW_EVENT',
  KafkaDecodeFailed: 'KAFKA_DECODE_FAILED',
  KafkaFailed: 'KAFKA_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One broken rule in a payload or request, located by a dotted path (`input.items.0.sku`). */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * Optional parts of an {@link EsflowError}: whether it is retriable (default false), its cause, and
 * JSON-safe details (default `{}`).
 */
export interface EsflowErrorOptions {
  /** Whether repeating the same operation later may succeed (a transient fault). */
  readonly retriable?: boolean;
  readonly cause?: unknown;
  /** Structured, JSON-safe facts about the failure (e.g. `{ state, acceptedEvents }`). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The one error base of esflow. Thrown for faults (bugs, infrastructure); used as a value for
 * expected business rejections (see {@link Rejection}).
 */
export class EsflowError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: EsflowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EsflowError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }
}

/**
 * Whether `error` is an {@link EsflowError} (subclasses included) of this copy of @esflow/core, by
 * `instanceof`; once narrowed, branch on its stable `code`.
 */
export function isEsflowError(error: unknown): error is EsflowError {
  return error instanceof EsflowError;
}

/**
 * Raised by an event store when the stream's revision is not the one the append expected.
 * Retriable: reloading the stream and deciding again may succeed.
 */
export class RevisionConflictError extends EsflowError {
  constructor(
    readonly streamName: string,
    readonly expected: string,
    readonly actual: number | 'no_stream',
  ) {
    super(
      ErrorCode.RevisionConflict,
      `stream ${streamName} is at revision ${actual}, the append expected ${expected}`,
      { retriable: true, details: { streamName, expected, actual } },
    );
    this.name = 'RevisionConflictError';
  }
}
