/**
 * The closed set of stable error codes of esflow's core. Codes cross process boundaries (HTTP
 * problem details, logs, Kafka headers), so callers match on `code`, never on `instanceof`.
 * A package that talks to an outside system owns the codes of its failures (e.g. `KafkaErrorCode`
 * in @esflow/kafka) and raises them as {@link EsflowError}s too.
 */
export const ErrorCode = {
  // Client input
  MalformedRequest: 'MALFORMED_REQUEST',
  InvalidId: 'INVALID_ID',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  SchemaValidationFailed: 'SCHEMA_VALIDATION_FAILED',
  UnknownEventType: 'UNKNOWN_EVENT_TYPE',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
  HeadersTooLarge: 'HEADERS_TOO_LARGE',
  HostNotAllowed: 'HOST_NOT_ALLOWED',
  /** Access control is on and the request carries no valid credentials (an API key or a JWT). */
  Unauthenticated: 'UNAUTHENTICATED',
  /** The caller is known but its role does not allow the call (a reader asking an operator's). */
  Forbidden: 'FORBIDDEN',
  /** No workflow declares a message of that name. */
  UnknownMessage: 'UNKNOWN_MESSAGE',
  /** The Idempotency-Key was used before, on this instance, for another request. */
  IdempotencyKeyReused: 'IDEMPOTENCY_KEY_REUSED',
  /** The instance's stream would grow past its size limit. */
  InstanceTooLarge: 'INSTANCE_TOO_LARGE',
  // Business outcomes
  WorkflowNotFound: 'WORKFLOW_NOT_FOUND',
  InstanceNotFound: 'INSTANCE_NOT_FOUND',
  InstanceAlreadyExists: 'INSTANCE_ALREADY_EXISTS',
  RevisionConflict: 'REVISION_CONFLICT',
  EventNotAccepted: 'EVENT_NOT_ACCEPTED',
  /** The instance is not running any more (completed, cancelled, failed or terminated). */
  InstanceNotRunning: 'INSTANCE_NOT_RUNNING',
  /**
   * A migration to another definition version is not possible as asked: an unknown version, a
   * state the target lacks or does not map, a context the target refuses, a timer, command or
   * message that cannot follow (each named in `errors`). Nothing was written.
   */
  MigrationRefused: 'MIGRATION_REFUSED',
  NotFound: 'NOT_FOUND',
  ProjectionNotFound: 'PROJECTION_NOT_FOUND',
  RebuildInProgress: 'REBUILD_IN_PROGRESS',
  ProjectionNotStopped: 'PROJECTION_NOT_STOPPED',
  /** A retry or skip of the projection's failed event is already waiting to be carried out. */
  ProjectionRequestPending: 'PROJECTION_REQUEST_PENDING',
  /** A rebuild was asked for again moments after the last one finished. */
  RebuildTooSoon: 'REBUILD_TOO_SOON',
  /** The command queue knows no command of that id. */
  CommandNotFound: 'COMMAND_NOT_FOUND',
  /** The command is not in flight any more: completed, failed, withdrawn or resolved otherwise. */
  CommandNotInFlight: 'COMMAND_NOT_IN_FLIGHT',
  /** The worker does not hold the command's lease (never did, or another worker took it). */
  LeaseNotHeld: 'LEASE_NOT_HELD',
  /** No command has an incident of that id (never raised, or replaced by a later one). */
  IncidentNotFound: 'INCIDENT_NOT_FOUND',
  /** No message of that id was received. */
  MessageNotFound: 'MESSAGE_NOT_FOUND',
  /** The message is settled (delivered, started, discarded): there is nothing to retry or discard. */
  MessageSettled: 'MESSAGE_SETTLED',
  // Infrastructure and programming faults
  AppendPartiallyDuplicated: 'APPEND_PARTIALLY_DUPLICATED',
  StoreUnavailable: 'STORE_UNAVAILABLE',
  /** The JWT issuer's key set (JWKS URL) cannot be fetched: a token cannot be checked now. */
  IdentityProviderUnavailable: 'IDENTITY_PROVIDER_UNAVAILABLE',
  SchemaNotFound: 'SCHEMA_NOT_FOUND',
  SchemaIncompatible: 'SCHEMA_INCOMPATIBLE',
  CorruptEvent: 'CORRUPT_EVENT',
  InvalidDefinition: 'INVALID_DEFINITION',
  InvalidConfiguration: 'INVALID_CONFIGURATION',
  Internal: 'INTERNAL',
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
 * expected business rejections (see {@link Rejection}). `TCode` is a core {@link ErrorCode} unless a
 * package raises its own codes (as @esflow/kafka does).
 */
export class EsflowError<TCode extends string = ErrorCode> extends Error {
  readonly code: TCode;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: TCode, message: string, options: EsflowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EsflowError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }
}

/**
 * What every esflow error looks like, whichever copy of @esflow/core (or which process) made it:
 * a message, a stable string `code`, the `retriable` flag and JSON-safe `details`.
 */
export interface EsflowErrorLike {
  readonly message: string;
  readonly code: string;
  readonly retriable: boolean;
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Whether `error` is an esflow error, recognised by its shape (a string `code`, a boolean
 * `retriable`, a message) rather than by `instanceof`, so that errors from another copy of the
 * package, or rebuilt from another process's JSON, are recognised too. Branch on `code` then.
 */
export function isEsflowError(error: unknown): error is EsflowErrorLike {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as Partial<EsflowErrorLike>;
  return (
    typeof candidate.code === 'string' &&
    typeof candidate.retriable === 'boolean' &&
    typeof candidate.message === 'string'
  );
}

/** Whether `error` is an esflow error with this stable `code` (see {@link isEsflowError}). */
export function hasErrorCode(error: unknown, code: string): error is EsflowErrorLike {
  return isEsflowError(error) && error.code === code;
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
