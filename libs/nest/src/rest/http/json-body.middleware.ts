import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { json } from 'express';
import { ErrorCode, EsflowError } from '@esflow/core';
import { ESFLOW_REST_OPTIONS, ResolvedRestOptions } from '../rest-options';
import { writeProblem } from './problem-details.filter';
import { findBodyProblem } from './body-shape';

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
}

/** Methods that change state: they must say their body is JSON (a form cannot). */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Whether a `Content-Type` names JSON (`application/json` or `application/<anything>+json`),
 * read from the header itself: `request.is` answers nothing for a request without a body.
 */
function declaresJson(contentType: string | undefined): boolean {
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[\w.+-]+\+json$/.test(mediaType);
}

/**
 * The body edge of esflow's routes, answering every failure as problem details itself (it runs
 * before the controllers' filters):
 * - a state-changing request (POST, PUT, PATCH, DELETE) must declare a JSON content type, with or
 *   without a body: 415 UNSUPPORTED_MEDIA_TYPE otherwise. A cross-site form or a `text/plain`
 *   fetch cannot, so no other web page can drive the api (operator actions included);
 * - a declared `Content-Length` over the limit is refused before the body is read (413, and the
 *   connection is closed rather than drained); a body that turns out larger, likewise;
 * - the JSON must parse (400 MALFORMED_REQUEST), nest at most {@link MAX_JSON_DEPTH} levels and
 *   hold only well-formed Unicode strings (400 MALFORMED_REQUEST naming the path), so that what
 *   is acknowledged is exactly what is stored;
 * - safe methods (GET, HEAD, OPTIONS) are never parsed: a body there is ignored.
 * A body already parsed (by Nest's own body parser) is checked but not parsed again.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly parse: ReturnType<typeof json>;

  constructor(@Inject(ESFLOW_REST_OPTIONS) private readonly config: ResolvedRestOptions) {
    this.parse = json({ limit: config.bodyLimitBytes, strict: false, type: JSON_TYPES });
  }

  async use(request: Request, response: Response, next: NextFunction): Promise<void> {
    if (!STATE_CHANGING.has(request.method)) return next();
    if (!declaresJson(request.headers['content-type']))
      return this.refuse(request, response, this.notJson(request));
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.config.bodyLimitBytes)
      return this.refuse(request, response, this.tooLarge(), { closeConnection: true });
    const failure = await new Promise<BodyParserError | undefined>((resolve) =>
      this.parse(request, response, (error?: unknown) =>
        resolve(error as BodyParserError | undefined),
      ),
    );
    if (failure) {
      const tooLarge = failure.type === 'entity.too.large' || failure.status === 413;
      return this.refuse(request, response, this.problemOf(failure), {
        closeConnection: tooLarge,
      });
    }
    const shape = findBodyProblem(request.body);
    if (shape)
      return this.refuse(
        request,
        response,
        new EsflowError(ErrorCode.MalformedRequest, `the body ${shape.message}`, {
          details: { errors: [{ path: shape.path, message: shape.message }] },
        }),
      );
    next();
  }

  private refuse(
    request: Request,
    response: Response,
    problem: EsflowError,
    options: { closeConnection?: boolean } = {},
  ): void {
    // The rest of an oversized body is not read: the connection goes after the answer.
    if (options.closeConnection) {
      response.setHeader('Connection', 'close');
      response.once('finish', () => request.socket.destroy());
    }
    writeProblem(request, response, problem);
  }

  private notJson(request: Request): EsflowError {
    const given = request.headers['content-type'];
    return new EsflowError(
      ErrorCode.UnsupportedMediaType,
      given
        ? `the body must be JSON (Content-Type: application/json), not ${given.slice(0, 100)}`
        : 'a state-changing request must say its body is JSON: send Content-Type: application/json (with an empty body if it has none)',
      { details: { accepted: ['application/json'] } },
    );
  }

  private tooLarge(): EsflowError {
    return new EsflowError(
      ErrorCode.PayloadTooLarge,
      `the body is larger than ${this.config.bodyLimitBytes} bytes`,
      { details: { limitBytes: this.config.bodyLimitBytes } },
    );
  }

  private problemOf(failure: BodyParserError): EsflowError {
    if (failure.type === 'entity.too.large' || failure.status === 413) return this.tooLarge();
    if (failure.type === 'charset.unsupported' || failure.type === 'encoding.unsupported')
      return new EsflowError(
        ErrorCode.UnsupportedMediaType,
        `${failure.message ?? 'the body encoding is not supported'}: send UTF-8 JSON`,
      );
    if (failure.type === 'entity.parse.failed')
      return new EsflowError(
        ErrorCode.MalformedRequest,
        `the body is not valid JSON: ${(failure.message ?? '').slice(0, 200)}`.trim(),
      );
    return new EsflowError(
      ErrorCode.MalformedRequest,
      failure.message ?? 'the body could not be read',
    );
  }
}
