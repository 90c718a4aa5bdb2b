import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Histogram } from 'prom-client';
import { ESFLOW_METRICS } from '../tokens';
import { EsflowMetrics } from './esflow-metrics';

/** The route label of a request no route matched (a 404): one label, whatever the path. */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * `esflow_http_request_duration_seconds{method, route, status_class}`: every answered request
 * of the application, from its arrival to its last byte, by method, route template
 * (`/workflows/:workflow/:id/events`, never the path with its ids) and status class (`2xx`...).
 * `EsflowRestModule` applies it to every route.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  private readonly duration: Histogram;

  constructor(@Inject(ESFLOW_METRICS) metrics: EsflowMetrics) {
    const existing = metrics.registry.getSingleMetric('esflow_http_request_duration_seconds');
    this.duration =
      (existing as Histogram | undefined) ??
      new Histogram({
        name: 'esflow_http_request_duration_seconds',
        help: 'HTTP requests answered, by method, route template and status class, from arrival to the last byte',
        labelNames: ['method', 'route', 'status_class'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [metrics.registry],
      });
  }

  use(request: Request, response: Response, next: NextFunction): void {
    const started = performance.now();
    response.once('finish', () => {
      const route = (request.route as { path?: unknown } | undefined)?.path;
      this.duration.observe(
        {
          method: KNOWN_METHODS.has(request.method) ? request.method : 'OTHER',
          route: typeof route === 'string' && !CATCH_ALL.test(route) ? route : UNMATCHED_ROUTE,
          status_class: `${Math.floor(response.statusCode / 100)}xx`,
        },
        (performance.now() - started) / 1000,
      );
    });
    next();
  }
}

/**
 * The route a request no controller matched is left with: the catch-all that middleware is
 * mounted on (`/{*path}`, `*`), never a route of the application's.
 */
const CATCH_ALL = /^\/?(\{\*\w*\}|\*|\(\.\*\))$/;

const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
]);
