import { context, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { EventTraceContext } from '@esflow/core';
import type { NextFunction, Request, Response } from 'express';
import { EsflowTracer } from './esflow-tracer';
import { contextFromHeaders, traceContextOf } from './trace-context';

const SPAN = Symbol.for('esflow.requestSpan');

type WithSpan = { [SPAN]?: Span };

/** Paths probes and scrapers call every few seconds: not traced. */
const UNTRACED = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Express middleware that gives each request a server span (`<METHOD> <route>`, a child of the
 * caller's `traceparent` when it sends one) and runs the rest of the request in its context;
 * the span ends when the response is finished (status 5xx: error) or the connection closes.
 * `/health*` and `/metrics` are not traced.
 */
export function httpTracing(
  tracer: EsflowTracer,
): (request: Request, response: Response, next: NextFunction) => void {
  return (request, response, next) => {
    const path = request.originalUrl;
    if (UNTRACED.test(path)) return next();
    const parent = contextFromHeaders(request.headers) ?? ROOT_CONTEXT;
    const span = tracer.tracer.startSpan(
      `${request.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.path,
        },
      },
      parent,
    );
    (request as WithSpan)[SPAN] = span;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = (request.route as { path?: unknown } | undefined)?.path;
      if (typeof route === 'string') {
        span.updateName(`${request.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      const correlationId = request.headers['x-correlation-id'];
      if (typeof correlationId === 'string')
        span.setAttribute('esflow.correlation_id', correlationId);
      span.end();
    };
    response.once('finish', end);
    response.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}

/**
 * The W3C trace context of the request's server span, to record on the events it appends
 * (`traceContext` of the engine's commands); undefined when the request is not traced
 * (tracing off).
 */
export function requestTraceContext(request: object): EventTraceContext | undefined {
  const span = (request as WithSpan)[SPAN];
  return span ? traceContextOf(span.spanContext()) : undefined;
}

/**
 * The log fields of the request's server span (`trace_id`, `span_id`), or none when the request
 * is not traced. Cheap: one property read when tracing is off.
 */
export function requestTraceIds(request: object): { trace_id?: string; span_id?: string } {
  const span = (request as WithSpan)[SPAN];
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/**
 * The log fields of the active span (`trace_id`, `span_id`), for a logger's mixin (pino's
 * `mixin` option) while tracing is on; none outside a span.
 */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
