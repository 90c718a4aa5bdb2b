import { EventTraceContext, formatPosition, readEsflowMetadata, RecordedEvent } from '@esflow/core';
import { recordedTraceContext, TraceHeader } from './tracing/publish-tracing';

/**
 * The Kafka headers of every event the bridge publishes (all UTF-8 strings). The record key is
 * the instance id; the value is the stored data unchanged: Confluent-framed Avro (magic byte 0,
 * 4-byte big-endian schema id, Avro binary).
 */
export const EsflowHeader = {
  ContentType: 'content-type',
  EventType: 'esflow-event-type',
  EventId: 'esflow-event-id',
  CorrelationId: 'esflow-correlation-id',
  CausationId: 'esflow-causation-id',
  Stream: 'esflow-stream',
  /** 0-based revision of the event in its stream (decimal). */
  Revision: 'esflow-revision',
  Workflow: 'esflow-workflow',
  InstanceId: 'esflow-instance-id',
  SchemaSubject: 'esflow-schema-subject',
  SchemaVersion: 'esflow-schema-version',
  /** The store's global position (`commit/prepare`): the bridge's order. */
  Position: 'esflow-position',
  /** When the store recorded the event (ISO 8601). */
  RecordedAt: 'esflow-recorded-at',
} as const;
export type EsflowHeader = (typeof EsflowHeader)[keyof typeof EsflowHeader];

/**
 * The `content-type` header of esflow events: Avro binary in the Confluent wire format, its
 * writer schema found by the id in bytes 1-4 (GET /schemas/ids/{id} on the registry).
 */
export const ESFLOW_AVRO_CONTENT_TYPE = 'application/vnd.esflow.avro';

/** One record to produce, in plain types (no kafkajs type). */
export interface OutgoingRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0
    ? value
    : typeof value === 'number'
      ? String(value)
      : undefined;

/** The workflow a stream belongs to: the part before the first `-` (`orderFulfillment-o1`). */
export function workflowOfStream(streamName: string): string {
  const dash = streamName.indexOf('-');
  return dash > 0 ? streamName.slice(0, dash) : streamName;
}

/**
 * The headers of a recorded event; a metadata field that is absent leaves its header out. With a
 * trace context (`trace`, else the one the event recorded), the W3C `traceparent` and
 * `tracestate` headers too.
 */
export function eventHeaders(
  event: RecordedEvent,
  trace?: EventTraceContext,
): Record<string, string> {
  const metadata = readEsflowMetadata(event.metadata);
  // Built field by field, in the order of EsflowHeader (once per published event: no
  // intermediate entry arrays).
  const headers: Record<string, string> = {
    [EsflowHeader.ContentType]: ESFLOW_AVRO_CONTENT_TYPE,
    [EsflowHeader.EventType]: event.type,
    [EsflowHeader.EventId]: event.eventId,
  };
  const correlationId = text(metadata.correlationId);
  if (correlationId !== undefined) headers[EsflowHeader.CorrelationId] = correlationId;
  const causationId = text(metadata.causationId);
  if (causationId !== undefined) headers[EsflowHeader.CausationId] = causationId;
  headers[EsflowHeader.Stream] = event.streamName;
  headers[EsflowHeader.Revision] = String(event.revision);
  headers[EsflowHeader.Workflow] = text(metadata.workflow) ?? workflowOfStream(event.streamName);
  headers[EsflowHeader.InstanceId] = instanceIdOf(event);
  const subject = text(metadata.schema?.subject);
  if (subject !== undefined) headers[EsflowHeader.SchemaSubject] = subject;
  const version = text(metadata.schema?.version);
  if (version !== undefined) headers[EsflowHeader.SchemaVersion] = version;
  headers[EsflowHeader.Position] = formatPosition(event.position);
  headers[EsflowHeader.RecordedAt] = event.recordedAt.toISOString();
  const context = trace ?? (metadata.traceContext ? recordedTraceContext(event) : undefined);
  if (context) {
    headers[TraceHeader.TraceParent] = context.traceparent;
    if (context.tracestate) headers[TraceHeader.TraceState] = context.tracestate;
  }
  return headers;
}

/** The record key: the instance id from the metadata, else the stream name after `<workflow>-`. */
export function instanceIdOf(event: RecordedEvent): string {
  const fromMetadata = text(readEsflowMetadata(event.metadata).instanceId);
  if (fromMetadata) return fromMetadata;
  const dash = event.streamName.indexOf('-');
  return dash > 0 ? event.streamName.slice(dash + 1) : event.streamName;
}

/** The topic of a workflow: `{workflow}` in the template replaced by its name. */
export function topicFor(template: string, workflow: string): string {
  return template.replaceAll('{workflow}', workflow);
}

/** A record's key, value and headers: what is produced for a stored event, topic aside. */
export interface OutgoingMessage {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The key, value and headers the bridge produces for a stored event: the bytes go out unchanged.
 * `trace` is the trace context its headers carry instead of the one the event recorded.
 */
export function toOutgoingMessage(
  event: RecordedEvent,
  trace?: EventTraceContext,
): OutgoingMessage {
  const data = event.data;
  return {
    key: instanceIdOf(event),
    // A view of the stored bytes, never a copy (most stores hand out Buffers already).
    value: Buffer.isBuffer(data)
      ? data
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    headers: eventHeaders(event, trace),
  };
}

/** The record the bridge produces for a stored event: the bytes go out unchanged. */
export function toOutgoingRecord(event: RecordedEvent, topicTemplate: string): OutgoingRecord {
  const { key, value, headers } = toOutgoingMessage(event);
  return {
    topic: topicFor(topicTemplate, workflowOfStream(event.streamName)),
    key,
    value,
    headers,
  };
}

/** Decodes Kafka header values (Buffer, string, arrays of them) to the first value as text. */
export function headersAsText(
  headers: Readonly<Record<string, unknown>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value === null) continue;
    out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
}
