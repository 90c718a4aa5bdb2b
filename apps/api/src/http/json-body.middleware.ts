import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { json } from 'express';
import { ESFLOW_CONFIG, EsflowConfig } from '@esflow/app-core';
import { ErrorCode, EsflowError } from '@esflow/domain';

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
}

/**
 * Parses JSON bodies with a size limit and turns the parser's failures into esflow errors
 * (MALFORMED_REQUEST, PAYLOAD_TOO_LARGE), which the problem-details filter renders.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly parse: ReturnType<typeof json>;

  constructor(@Inject(ESFLOW_CONFIG) private readonly config: EsflowConfig) {
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
    if (failure.type === 'entity.too.large' || failure.status === 413)
      throw new EsflowError(
        ErrorCode.PayloadTooLarge,
        `the body is larger than ${this.config.bodyLimitBytes} bytes`,
      );
    if (failure.type === 'entity.parse.failed')
      throw new EsflowError(
        ErrorCode.MalformedRequest,
        `the body is not valid JSON: ${failure.message ?? ''}`.trim(),
      );
    throw new EsflowError(
      ErrorCode.MalformedRequest,
      failure.message ?? 'the body could not be read',
    );
  }
}
