import {
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  InvalidArgumentError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  RequiredMetadataPropertyMissingError,
  StreamDeletedError,
  TimeoutError,
  UnavailableError,
  convertToCommandError,
  isCommandError,
} from '@eventstore/db-client';
import { ErrorCode, EsflowError, isEsflowError } from '@esflow/core';

/*
 * The adapter's error edge: every error the client raises leaves the adapter as an EsflowError
 * with a stable code. The client error itself is not attached (no client type crosses the
 * port); its kind and gRPC status code are kept in `details` for logs.
 */

/**
 * The client's typed error for `error`. Some paths of client 6.2.1 (its shared BatchAppend
 * stream after a connection reset) reject with the raw gRPC error (`14 UNAVAILABLE`) instead.
 */
export function normalizeClientError(error: unknown): unknown {
  if (!(error instanceof Error) || isCommandError(error)) return error;
  const raw = error as Error & { code?: unknown; details?: unknown };
  if (typeof raw.code !== 'number') return error;
  try {
    return convertToCommandError(
      typeof raw.details === 'string' ? raw : Object.assign(raw, { details: '' }),
    );
  } catch {
    return error;
  }
}

/** Faults worth repeating the same call for: the connection, the deadline or the leader changed. */
export function isTransient(thrown: unknown): boolean {
  const error = normalizeClientError(thrown);
  return (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof TimeoutError ||
    error instanceof NotLeaderError ||
    error instanceof CancelledError
  );
}

/** Errors a subscription cannot recover from by subscribing again. */
export function isPermanentSubscriptionError(thrown: unknown): boolean {
  const error = normalizeClientError(thrown);
  return error instanceof AccessDeniedError || error instanceof InvalidArgumentError;
}

function describeClientError(error: unknown): Record<string, unknown> {
  if (error instanceof Error && isCommandError(error))
    return { esdbError: error.type, ...(error.code === undefined ? {} : { grpcCode: error.code }) };
  return { esdbError: error instanceof Error ? error.name : typeof error };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Translates whatever the client threw into the port's vocabulary. */
export function translateError(thrown: unknown, operation: string): EsflowError {
  if (thrown instanceof EsflowError) return thrown;
  if (isEsflowError(thrown))
    return new EsflowError(thrown.code as ErrorCode, thrown.message, {
      retriable: thrown.retriable,
      ...(thrown.details ? { details: thrown.details } : {}),
      cause: thrown,
    });
  const error = normalizeClientError(thrown);
  const details = { operation, ...describeClientError(error) };
  const message = messageOf(error);
  if (error instanceof MaxAppendSizeExceededError)
    return new EsflowError(
      ErrorCode.PayloadTooLarge,
      `EventStoreDB refused the append: larger than its maximum append size (${error.maxAppendSize} bytes)`,
      { details: { ...details, maxAppendSize: error.maxAppendSize } },
    );
  if (error instanceof AccessDeniedError)
    return new EsflowError(
      ErrorCode.InvalidConfiguration,
      `EventStoreDB denied ${operation}: check the credentials in the connection string (${message})`,
      { details },
    );
  if (error instanceof StreamDeletedError)
    return new EsflowError(
      ErrorCode.Internal,
      `EventStoreDB ${operation}: stream ${error.streamName} has been deleted`,
      { details: { ...details, streamName: error.streamName } },
    );
  if (
    error instanceof RequiredMetadataPropertyMissingError ||
    error instanceof InvalidArgumentError
  )
    return new EsflowError(
      ErrorCode.Internal,
      `EventStoreDB rejected ${operation} as invalid: ${message}`,
      { details },
    );
  return new EsflowError(
    ErrorCode.StoreUnavailable,
    `EventStoreDB ${operation} failed: ${message}`,
    { retriable: true, details },
  );
}

export function storeClosed(operation: string): EsflowError {
  return new EsflowError(
    ErrorCode.StoreUnavailable,
    `EventStoreDB ${operation}: the event store has been closed`,
    { details: { operation } },
  );
}
