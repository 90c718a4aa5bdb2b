import type { EventTraceContext, RecordedEvent } from '@esflow/core';

/**
 * The W3C trace-context headers (https://www.w3.org/TR/trace-context/) of a published record:
 * the trace a consumer continues. The bridge writes them when the event carries a trace context
 * (`metadata.traceContext`), or the one its {@link BridgePublishTracing} gives the record.
 */
export const TraceHeader = { TraceParent: 'traceparent', TraceState: 'tracestate' } as const;
export type TraceHeader = (typeof TraceHeader)[keyof typeof TraceHeader];

/**
 * How the bridge tells a tracer what it publishes, without depending on one (`@esflow/nest`
 * implements it with OpenTelemetry). Called once per Kafka transaction, before anything is sent.
 */
export interface BridgePublishTracing {
  /**
   * Starts tracing the transaction that publishes `batch` (store order), `topicOf` naming each
   * event's topic; undefined traces nothing (e.g. no event of the batch carries a trace context).
   */
  publishing(
    batch: readonly RecordedEvent[],
    topicOf: (event: RecordedEvent) => string,
  ): PublishTrace | undefined;
}

/** One transaction being traced (see {@link BridgePublishTracing}). */
export interface PublishTrace {
  /**
   * The trace context the record of `event` carries in its headers (its publish span's), or
   * undefined to keep the one the event recorded, if any.
   */
  contextOf(event: RecordedEvent): EventTraceContext | undefined;
  /** The transaction committed (no error) or failed with `error`. Called once; must not throw. */
  end(error?: unknown): void;
}

/** The trace context an event recorded, if it has a well-formed one. */
export function recordedTraceContext(event: RecordedEvent): EventTraceContext | undefined {
  const context = (event.metadata as { traceContext?: unknown }).traceContext;
  if (typeof context !== 'object' || context === null) return undefined;
  const { traceparent, tracestate } = context as Record<string, unknown>;
  if (typeof traceparent !== 'string' || traceparent.length === 0) return undefined;
  return typeof tracestate === 'string' && tracestate.length > 0
    ? { traceparent, tracestate }
    : { traceparent };
}
