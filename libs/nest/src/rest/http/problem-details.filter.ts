import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { ErrorCode, isEsflowError } from '@esflow/core';

/** HTTP status of each stable error code: the only place where codes meet HTTP. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  [ErrorCode.MalformedRequest]: HttpStatus.BAD_REQUEST,
  [ErrorCode.InvalidId]: HttpStatus.BAD_REQUEST,
  [ErrorCode.SchemaValidationFailed]: HttpStatus.BAD_REQUEST,
  [ErrorCode.UnknownEventType]: HttpStatus.BAD_REQUEST,
  [ErrorCode.PayloadTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [ErrorCode.WorkflowNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.InstanceNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.ProjectionNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.RebuildInProgress]: HttpStatus.CONFLICT,
  [ErrorCode.ProjectionNotStopped]: HttpStatus.CONFLICT,
  [ErrorCode.InstanceAlreadyExists]: HttpStatus.CONFLICT,
  [ErrorCode.RevisionConflict]: HttpStatus.CONFLICT,
  [ErrorCode.EventNotAccepted]: HttpStatus.UNPROCESSABLE_ENTITY,
  [ErrorCode.StoreUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
};

const TITLES: Partial<Record<number, string>> = {
  400: 'Bad request',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  500: 'Internal error',
  503: 'Service unavailable',
};

interface Problem {
  status: number;
  code: string;
  detail: string;
  extensions: Record<string, unknown>;
}

/** Errors raised by Express or Nest before our code runs (routing, decoding), as problems. */
function fromHttpException(exception: HttpException): Problem {
  const status = exception.getStatus();
  const message = exception.message;
  if (status === 400 && /decode param/i.test(message))
    return {
      status,
      code: ErrorCode.InvalidId,
      detail: 'a path segment is not valid percent-encoding',
      extensions: {},
    };
  if (status === 404)
    return {
      status,
      code: ErrorCode.NotFound,
      detail: 'no such resource; see /docs for the API',
      extensions: {},
    };
  const code =
    status === 400
      ? ErrorCode.MalformedRequest
      : status === 413
        ? ErrorCode.PayloadTooLarge
        : `HTTP_${status}`;
  return { status, code, detail: message, extensions: {} };
}

/** The problem-details body and status of any failure. */
function toProblem(exception: unknown): Problem {
  if (exception instanceof HttpException) return fromHttpException(exception);
  if (isEsflowError(exception)) {
    const status = STATUS_BY_CODE[exception.code] ?? (exception.retriable ? 503 : 500);
    if (status >= 500 && !exception.retriable)
      return { status, code: ErrorCode.Internal, detail: 'internal error', extensions: {} };
    return {
      status,
      code: exception.code,
      detail: exception.message,
      extensions: { ...exception.details },
    };
  }
  return { status: 500, code: ErrorCode.Internal, detail: 'internal error', extensions: {} };
}

const logger = new Logger('ProblemDetails');

/**
 * Answers `exception` as RFC 9457 problem details (`application/problem+json`) with esflow's
 * stable `code`; unexpected errors are logged and answered 500 without internals.
 */
export function writeProblem(request: Request, response: Response, exception: unknown): void {
  const problem = toProblem(exception);
  if (problem.status >= 500)
    logger.error({ err: exception, url: request.originalUrl }, problem.detail);
  if (response.headersSent) return;
  response
    .status(problem.status)
    .type('application/problem+json')
    .json({
      // Extensions first: they may never override the RFC 9457 members below.
      ...problem.extensions,
      type: `urn:esflow:problem:${problem.code.toLowerCase().replaceAll('_', '-')}`,
      title: TITLES[problem.status] ?? 'Error',
      status: problem.status,
      detail: problem.detail,
      instance: request.originalUrl,
      code: problem.code,
    });
}

/**
 * Renders every failure as RFC 9457 problem details with esflow's stable `code`. Bound to
 * esflow's own controllers; a host that wants the same for every route (unknown routes, its own
 * controllers) registers it globally: `app.useGlobalFilters(new ProblemDetailsFilter())`.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    writeProblem(context.getRequest<Request>(), context.getResponse<Response>(), exception);
  }
}
