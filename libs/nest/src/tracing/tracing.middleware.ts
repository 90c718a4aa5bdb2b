import { Inject, Injectable, NestMiddleware, Optional } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ESFLOW_TRACER } from '../tokens';
import { EsflowTracer } from './esflow-tracer';
import { httpTracing } from './http-tracing';

/**
 * The request span of every route while tracing is on (see {@link httpTracing}); with tracing
 * off it only calls `next`.
 */
@Injectable()
export class EsflowTracingMiddleware implements NestMiddleware {
  private readonly trace: ((req: Request, res: Response, next: NextFunction) => void) | undefined;

  constructor(@Optional() @Inject(ESFLOW_TRACER) tracer?: EsflowTracer | null) {
    this.trace = tracer ? httpTracing(tracer) : undefined;
  }

  use(request: Request, response: Response, next: NextFunction): void {
    if (this.trace) this.trace(request, response, next);
    else next();
  }
}
