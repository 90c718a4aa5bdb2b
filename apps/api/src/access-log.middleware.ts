import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { requestTraceIds } from '@esflow/nest';

/** The health probes, called every few seconds: not logged. */
const PROBES = /^\/health(\/live|\/ready)?(\?|$)/;

/**
 * One log line per answered request, at info: method, path, status, duration, the caller's
 * correlation id and, while tracing is on, the request span's `trace_id` and `span_id` (never a
 * body). It replaces pino-http's per-request logger and the async context nestjs-pino binds it
 * in: that context put a hook on every promise the engine makes, which cost the api about a
 * quarter of its throughput (measured with the bench's REST run).
 */
@Injectable()
export class AccessLogMiddleware implements NestMiddleware {
  use(request: Request, response: Response, next: NextFunction): void {
    const logger = PinoLogger.root;
    if (!logger?.isLevelEnabled('info') || PROBES.test(request.originalUrl)) return next();
    const started = performance.now();
    response.once('finish', () => {
      const correlationId = request.headers['x-correlation-id'];
      logger.info(
        {
          method: request.method,
          path: request.originalUrl,
          status: response.statusCode,
          ms: Math.round((performance.now() - started) * 100) / 100,
          ...(typeof correlationId === 'string' ? { correlationId } : {}),
          ...requestTraceIds(request),
        },
        'request completed',
      );
    });
    next();
  }
}
