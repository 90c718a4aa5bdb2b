import {
  Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanContext,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { EventTraceContext } from '@esflow/core';

const w3c = new W3CTraceContextPropagator();

/** The W3C trace context (`traceparent`, `tracestate`) of a span, as events record it. */
export function traceContextOf(spanContext: SpanContext): EventTraceContext {
  const carrier: Record<string, string> = {};
  w3c.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), carrier, defaultTextMapSetter);
  return carrier['tracestate']
    ? { traceparent: carrier['traceparent']!, tracestate: carrier['tracestate'] }
    : { traceparent: carrier['traceparent']! };
}

/**
 * The context whose parent is the span `recorded` names (a remote parent), or undefined when it
 * is absent or not a well-formed W3C `traceparent`.
 */
export function contextFrom(recorded: unknown): Context | undefined {
  if (typeof recorded !== 'object' || recorded === null) return undefined;
  const { traceparent, tracestate } = recorded as Record<string, unknown>;
  if (typeof traceparent !== 'string') return undefined;
  const carrier: Record<string, string> = { traceparent };
  if (typeof tracestate === 'string') carrier['tracestate'] = tracestate;
  const extracted = w3c.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  return trace.getSpanContext(extracted) ? extracted : undefined;
}

/** The context of an incoming request's `traceparent`/`tracestate` headers, if well formed. */
export function contextFromHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Context | undefined {
  const traceparent = headers['traceparent'];
  if (typeof traceparent !== 'string') return undefined;
  const tracestate = headers['tracestate'];
  return contextFrom({
    traceparent,
    ...(typeof tracestate === 'string' ? { tracestate } : {}),
  });
}
