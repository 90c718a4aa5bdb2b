import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { json } from 'express';
import { ErrorCode, EsflowError } from '@esflow/core';
import { ESFLOW_REST_OPTIONS, ResolvedRestOptions } from '../rest-options';
import { writeProblem } from './problem-details.filter';

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
}

/**
 * Parses JSON bodies with a size limit and answers the parser's failures as problem details
 * (MALFORMED_REQUEST, PAYLOAD_TOO_LARGE). A body already parsed (by Nest's own body parser) is
 * left as it is.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly parse: ReturnType<typeof json>;

  constructor(@Inject(ESFLOW_REST_OPTIONS) private readonly config: ResolvedRestOptions) {
    this.parse = json({
      limit: config.bodyLimitBytes,
      strict: false,
      type: ['application/json', 'application/*+json'],
    });
  }

  async use(request: Request, response: Response, next: NextFunction): Promise<void> {
    const failure = await new Promise<BodyParserError | undefined>((resolve) =>
      this.parse(request, response, (error?: unknown) =>
        resolve(error as BodyParserError | undefined),
      ),
    );
    if (!failure) return next();
    // Middleware runs before the controllers' own filters: answer the problem here.
    writeProblem(request, response, this.problemOf(failure));
  }

  private problemOf(failure: BodyParserError): EsflowError {
    if (failure.type === 'entity.too.large' || failure.status === 413)
      return new EsflowError(
        ErrorCode.PayloadTooLarge,
        `the body is larger than ${this.config.bodyLimitBytes} bytes`,
      );
    if (failure.type === 'entity.parse.failed')
      return new EsflowError(
        ErrorCode.MalformedRequest,
        `the body is not valid JSON: ${failure.message ?? ''}`.trim(),
      );
    return new EsflowError(
      ErrorCode.MalformedRequest,
      failure.message ?? 'the body could not be read',
    );
  }
}
