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
import { requestTraceIds } from '../../tracing/http-tracing';

const correlationIdOf = (request: Request): unknown => request.headers?.['x-correlation-id'];

/**
 * HTTP status of each stable error code: the only place where codes meet HTTP. A code not listed
 * is answered 500 INTERNAL, or 503 under its own code when the error is retriable.
 */
export const STATUS_BY_CODE = {
  [ErrorCode.MalformedRequest]: HttpStatus.BAD_REQUEST,
  [ErrorCode.InvalidId]: HttpStatus.BAD_REQUEST,
  [ErrorCode.SchemaValidationFailed]: HttpStatus.BAD_REQUEST,
  [ErrorCode.UnknownEventType]: HttpStatus.BAD_REQUEST,
  [ErrorCode.UnknownMessage]: HttpStatus.BAD_REQUEST,
  [ErrorCode.HostNotAllowed]: HttpStatus.BAD_REQUEST,
  [ErrorCode.Unauthenticated]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.Forbidden]: HttpStatus.FORBIDDEN,
  [ErrorCode.WorkflowNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.InstanceNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.ProjectionNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.CommandNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.IncidentNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.MessageNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.MethodNotAllowed]: HttpStatus.METHOD_NOT_ALLOWED,
  [ErrorCode.InstanceAlreadyExists]: HttpStatus.CONFLICT,
  [ErrorCode.RevisionConflict]: HttpStatus.CONFLICT,
  [ErrorCode.RebuildInProgress]: HttpStatus.CONFLICT,
  [ErrorCode.ProjectionNotStopped]: HttpStatus.CONFLICT,
  [ErrorCode.ProjectionRequestPending]: HttpStatus.CONFLICT,
  [ErrorCode.CommandNotInFlight]: HttpStatus.CONFLICT,
  [ErrorCode.LeaseNotHeld]: HttpStatus.CONFLICT,
  [ErrorCode.MessageSettled]: HttpStatus.CONFLICT,
  [ErrorCode.InstanceNotRunning]: HttpStatus.CONFLICT,
  [ErrorCode.PayloadTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [ErrorCode.InstanceTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [ErrorCode.UnsupportedMediaType]: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  [ErrorCode.EventNotAccepted]: HttpStatus.UNPROCESSABLE_ENTITY,
  [ErrorCode.IdempotencyKeyReused]: HttpStatus.UNPROCESSABLE_ENTITY,
  [ErrorCode.MigrationRefused]: HttpStatus.UNPROCESSABLE_ENTITY,
  [ErrorCode.RebuildTooSoon]: HttpStatus.TOO_MANY_REQUESTS,
  [ErrorCode.HeadersTooLarge]: 431,
  [ErrorCode.StoreUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
} as const satisfies Partial<Record<ErrorCode, number>>;

const statusOfCode = (code: string): number | undefined =>
  (STATUS_BY_CODE as Readonly<Record<string, number>>)[code];

const TITLES: Partial<Record<number, string>> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Too many requests',
  431: 'Request header fields too large',
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

interface RouteLayer {
  readonly route?: { readonly methods: Readonly<Record<string, boolean>> };
  match(path: string): boolean;
}

/**
 * A route that answers (nearly) every method is a middleware mounted for all of them (a logger's
 * `forRoutes('*')`, a Nest middleware's route), not a resource: it says nothing about `Allow`.
 */
const CATCH_ALL_METHODS = 10;

/** The methods the app's routes accept for the request's path (express's router), sorted. */
function allowedMethods(request: Request): string[] {
  const stack = (request.app as unknown as { router?: { stack?: RouteLayer[] } }).router?.stack;
  const methods = new Set<string>();
  for (const layer of stack ?? []) {
    if (!layer.route || !layer.match(request.path)) continue;
    const accepted = Object.keys(layer.route.methods).filter((method) => method !== '_all');
    if (layer.route.methods['_all'] || accepted.length >= CATCH_ALL_METHODS) continue;
    for (const method of accepted) methods.add(method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/** The problem-details body and status of any failure. */
function toProblem(exception: unknown): Problem {
  if (exception instanceof HttpException) return fromHttpException(exception);
  if (isEsflowError(exception)) {
    const status = statusOfCode(exception.code) ?? (exception.retriable ? 503 : 500);
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

/** Problems never echo much of the input back: texts are cut, validation errors counted. */
const MAX_DETAIL = 500;
const MAX_ERRORS = 20;
const MAX_ERROR_TEXT = 300;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

/** A value of a problem's extension, cut to size: strings, lists and nesting all bounded. */
function boundedValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return cut(value, MAX_ERROR_TEXT);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 3) return '…';
  if (Array.isArray(value))
    return value.slice(0, MAX_ERRORS).map((v) => boundedValue(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value)
      .slice(0, MAX_ERRORS)
      .map(([key, v]) => [cut(key, MAX_ERROR_TEXT), boundedValue(v, depth + 1)]),
  );
}

/** Every extension bounded; a long `errors` list says how many more there were. */
function bounded(extensions: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extensions)) result[key] = boundedValue(value, 0);
  const errors = extensions['errors'];
  if (Array.isArray(errors) && errors.length > MAX_ERRORS)
    result['moreErrors'] = errors.length - MAX_ERRORS;
  return result;
}

/** The RFC 9457 `type` of a problem with `code`: a URN, stable as the code is. */
export function problemTypeOf(code: string): string {
  return `urn:esflow:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

/**
 * Answers `exception` as RFC 9457 problem details (`application/problem+json`) with esflow's
 * stable `code`; unexpected errors are logged and answered 500 without internals.
 */
export function writeProblem(request: Request, response: Response, exception: unknown): void {
  let problem = toProblem(exception);
  if (problem.code === ErrorCode.NotFound && exception instanceof HttpException) {
    // No route for this method: if the path has routes for others, it is 405, saying which.
    const allowed = allowedMethods(request);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      response.setHeader('Allow', allowed.join(', '));
      problem = {
        status: HttpStatus.METHOD_NOT_ALLOWED,
        code: ErrorCode.MethodNotAllowed,
        detail: `${request.method} is not allowed here; allowed: ${allowed.join(', ')}`,
        extensions: { allowed },
      };
    }
  }
  if (problem.status >= 500)
    logger.error(
      {
        err: exception,
        url: request.originalUrl,
        ...(typeof correlationIdOf(request) === 'string'
          ? { correlationId: correlationIdOf(request) }
          : {}),
        ...requestTraceIds(request),
      },
      problem.detail,
    );
  if (response.headersSent) return;
  // A refusal that says when to come back (429, 503) says it in the header too.
  const retryAfter = problem.extensions['retryAfterSeconds'];
  if (typeof retryAfter === 'number') response.setHeader('Retry-After', String(retryAfter));
  response
    .status(problem.status)
    .type('application/problem+json')
    .json({
      // Extensions first: they may never override the RFC 9457 members below.
      ...bounded(problem.extensions),
      type: problemTypeOf(problem.code),
      title: TITLES[problem.status] ?? 'Error',
      status: problem.status,
      detail: cut(problem.detail, MAX_DETAIL),
      instance: cut(request.originalUrl, MAX_DETAIL),
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
