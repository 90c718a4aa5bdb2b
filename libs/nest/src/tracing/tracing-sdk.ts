import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as TraceBase from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type * as TraceNode from '@opentelemetry/sdk-trace-node';

/** Where {@link startEsflowTracing} sends spans. */
export type EsflowTraceExporter = 'otlp' | 'console';

/** What {@link startEsflowTracing} takes. */
export interface EsflowTracingSetup {
  /** The `service.name` of every span (e.g. `esflow-api`). */
  readonly serviceName: string;
  /**
   * `otlp` (default): OTLP over HTTP/protobuf to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else
   * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else http://localhost:4318/v1/traces, in
   * batches; `console`: each span printed to stdout as it ends; or an exporter of one's own
   * (each span exported as it ends: for tests).
   */
  readonly exporter?: EsflowTraceExporter | SpanExporter;
}

/** A running tracer provider: flush and stop it on shutdown. */
export interface EsflowTracingHandle {
  /** Exports the spans still buffered and stops the provider. Never throws. */
  shutdown(): Promise<void>;
}

/**
 * Registers an OpenTelemetry tracer provider for this process (globally: the W3C propagator and
 * an AsyncLocalStorage context manager too), for hosts that have no OpenTelemetry set-up of their
 * own — the bundled api and projector call it when `ESFLOW_TRACING=on`. A service that already
 * runs the OpenTelemetry SDK does not call it: esflow's spans then go to that provider.
 */
export function startEsflowTracing(setup: EsflowTracingSetup): EsflowTracingHandle {
  // The SDK is loaded here, when tracing is turned on: off, a process never loads it (the
  // exporter alone brings in some 150 modules).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp;
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof Resources;
  const { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof TraceBase;
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node') as typeof TraceNode;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const exporter = setup.exporter ?? 'otlp';
  const processor =
    exporter === 'otlp'
      ? new BatchSpanProcessor(new OTLPTraceExporter())
      : new SimpleSpanProcessor(exporter === 'console' ? new ConsoleSpanExporter() : exporter);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': setup.serviceName }),
    spanProcessors: [processor],
  });
  provider.register();
  return { shutdown: () => provider.shutdown().catch(() => undefined) };
}
