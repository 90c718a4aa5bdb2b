import {
  Attributes,
  context,
  Context,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';
import type {
  EventStore,
  EventToAppend,
  EventTraceContext,
  ProjectionDefinition,
  RecordedEvent,
} from '@esflow/core';
import { contextFrom, traceContextOf } from './trace-context';

/** The instrumentation scope of esflow's spans. */
export const ESFLOW_TRACER_NAME = '@esflow/nest';

/** The names of esflow's spans (the HTTP request's is `<METHOD> <route>`). */
export const EsflowSpan = {
  /** The engine's append of one request's events to an instance's stream (the api). */
  StoreAppend: 'esflow.store.append',
  /** One projection applying one event to its read model (the projector). */
  ProjectionApply: 'esflow.projection.apply',
  /** The Kafka bridge publishing one event to its workflow's topic (the projector). */
  BridgePublish: 'esflow.kafka.publish',
} as const;
export type EsflowSpan = (typeof EsflowSpan)[keyof typeof EsflowSpan];

/**
 * How a Kafka bridge reports its transactions: structurally the `BridgePublishTracing` of
 * `@esflow/kafka` (this package does not depend on it).
 */
export interface BridgeTracing {
  publishing(
    batch: readonly RecordedEvent[],
    topicOf: (event: RecordedEvent) => string,
  ):
    | {
        contextOf(event: RecordedEvent): EventTraceContext | undefined;
        end(error?: unknown): void;
      }
    | undefined;
}

function failed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/**
 * esflow's OpenTelemetry spans, made with one `Tracer`. It exists only while tracing is on
 * (`EsflowModuleOptions.tracing`): with tracing off nothing holds one, so no span, context or
 * trace header is ever made. Every span continues the trace context the request, or the event,
 * carries: the engine's append is a child of the request's span, a projection's apply and the
 * bridge's publish of an event are children of the span the event recorded (its request's).
 * Span attributes name streams, types and revisions, never payloads.
 */
export class EsflowTracer {
  constructor(
    readonly tracer: Tracer,
    private readonly provider?: TracerProvider,
  ) {}

  /** A tracer of `provider`, or of the globally registered one (`trace.setGlobalTracerProvider`). */
  static of(provider?: TracerProvider): EsflowTracer {
    return new EsflowTracer((provider ?? trace).getTracer(ESFLOW_TRACER_NAME), provider);
  }

  /**
   * Exports the spans the provider still buffers (its `forceFlush`, when it has one): Nest calls
   * it when the application shuts down, so the last requests' spans are not lost. Never throws.
   */
  async onApplicationShutdown(): Promise<void> {
    const global = trace.getTracerProvider() as TracerProvider & { getDelegate?(): unknown };
    const provider = (this.provider ?? global.getDelegate?.() ?? global) as {
      forceFlush?: () => Promise<void>;
    };
    await provider.forceFlush?.().catch(() => undefined);
  }

  /**
   * The event store with a span around each append that has a parent: the active span (a
   * context manager is registered), else the trace context the first event recorded. Appends
   * without either, and every other call, go to `store` unchanged.
   */
  traceEventStore<T extends EventStore>(store: T): T {
    const append: EventStore['append'] = (streamName, events, options) => {
      const parent = this.parentOf(events);
      if (!parent) return store.append(streamName, events, options);
      const span = this.tracer.startSpan(
        EsflowSpan.StoreAppend,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'esflow.stream': streamName,
            'esflow.event_count': events.length,
            'esflow.event_type': events[0]?.type ?? '',
            'esflow.expected_revision': String(options.expectedRevision),
          },
        },
        parent,
      );
      return context
        .with(trace.setSpan(parent, span), () => store.append(streamName, events, options))
        .then(
          (result) => {
            span.setAttribute('esflow.deduplicated', result.deduplicated);
            span.end();
            return result;
          },
          (error: unknown) => {
            failed(span, error);
            span.end();
            throw error;
          },
        );
    };
    return new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'append') return append;
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /**
   * The projection with a span (`esflow.projection.apply`, a child of the trace context the
   * event recorded) around each event that recorded one; other events are applied as before.
   */
  traceProjection(definition: ProjectionDefinition): ProjectionDefinition {
    const handle: ProjectionDefinition['handle'] = async (event, documents) => {
      const parent = event.metadata.traceContext
        ? contextFrom(event.metadata.traceContext)
        : undefined;
      if (!parent) return definition.handle(event, documents);
      const { recorded } = event;
      const span = this.tracer.startSpan(
        EsflowSpan.ProjectionApply,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'esflow.projection': definition.name,
            ...eventAttributes(recorded),
          },
        },
        parent,
      );
      try {
        await context.with(trace.setSpan(parent, span), () => definition.handle(event, documents));
      } catch (error) {
        failed(span, error);
        throw error;
      } finally {
        span.end();
      }
    };
    return Object.assign(Object.create(definition) as ProjectionDefinition, { handle });
  }

  /**
   * The Kafka bridge's tracing (`KafkaBridgeOptions.tracing`): a span
   * (`esflow.kafka.publish`, kind producer) per published event that recorded a trace context,
   * its child, ended when the transaction commits or fails; the record's `traceparent` header
   * names that span, so a consumer continues the trace from it.
   */
  bridgeTracing(): BridgeTracing {
    return {
      publishing: (batch, topicOf) => {
        let spans: Map<string, Span> | undefined;
        for (const event of batch) {
          const recorded = (event.metadata as { traceContext?: unknown }).traceContext;
          const parent = recorded ? contextFrom(recorded) : undefined;
          if (!parent) continue;
          const topic = topicOf(event);
          const attributes: Attributes = {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'send',
            'messaging.destination.name': topic,
            ...eventAttributes(event),
          };
          (spans ??= new Map()).set(
            event.eventId,
            this.tracer.startSpan(
              EsflowSpan.BridgePublish,
              { kind: SpanKind.PRODUCER, attributes },
              parent,
            ),
          );
        }
        if (!spans) return undefined;
        const open = spans;
        return {
          contextOf: (event) => {
            const span = open.get(event.eventId);
            return span ? traceContextOf(span.spanContext()) : undefined;
          },
          end: (error) => {
            for (const span of open.values()) {
              if (error !== undefined) failed(span, error);
              span.end();
            }
          },
        };
      },
    };
  }

  private parentOf(events: readonly EventToAppend[]): Context | undefined {
    const active = context.active();
    if (trace.getSpan(active)) return active;
    const recorded = (events[0]?.metadata as { traceContext?: unknown } | undefined)?.traceContext;
    return recorded ? contextFrom(recorded) : undefined;
  }
}

function eventAttributes(event: RecordedEvent): Attributes {
  return {
    'esflow.event_id': event.eventId,
    'esflow.event_type': event.type,
    'esflow.stream': event.streamName,
    'esflow.revision': event.revision,
  };
}
