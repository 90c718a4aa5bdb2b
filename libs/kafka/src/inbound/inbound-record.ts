/**
 * What one inbound record comes to: skipped (no mapping for its type), handed to the intake
 * (an outcome), or quarantined through the intake (unreadable, not fitting its mapping, or
 * rejected). No Kafka client here: the consumer hands records in plain types and decides about
 * offsets; this part decides about the record.
 */
import type {
  InboundMessageMapping,
  MessageIntake,
  MessageOutcome,
  MessageSource,
  Rejection,
} from '@esflow/core';
import { InboundDecoder } from './inbound-decoder';
import {
  fallbackMessageId,
  InboundMappingIndex,
  MappingMatch,
  toIncomingMessage,
  toJsonSafe,
} from './inbound-mapping';

/** A record as consumed, in plain types (headers as UTF-8 text). */
export interface InboundRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly value: Buffer | null;
}

/** What became of one record; every kind may have its offset committed. */
export type RecordVerdict =
  | {
      readonly kind: 'skipped';
      /** The type it was looked up by (Avro record name), when one could be read. */
      readonly sourceEventType?: string;
    }
  | { readonly kind: 'received'; readonly outcome: MessageOutcome }
  | {
      readonly kind: 'quarantined';
      /** The intake's answer: `quarantined`, or `duplicate` for a record quarantined before. */
      readonly outcome: MessageOutcome;
      readonly problem: string;
    };

/** Handles one record; rejects only for faults (the intake or the registry down): try again. */
export type InboundRecordHandler = (record: InboundRecord) => Promise<RecordVerdict>;

/** A rejection in words for the operator: its code, message and any schema issues. */
export function describeRejection(rejection: Rejection): string {
  const issues =
    'errors' in rejection && rejection.errors.length > 0
      ? ` (${rejection.errors.map((issue) => `${issue.path || '(payload)'}: ${issue.message}`).join('; ')})`
      : '';
  return `the intake rejected the message [${rejection.code}]: ${rejection.message}${issues}`;
}

function sourceOf(record: InboundRecord, sourceEventType: string): MessageSource {
  return {
    kind: 'kafka',
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    sourceEventType,
  };
}

const describeMapping = (mapping: InboundMessageMapping) =>
  `${mapping.sourceEventType} → ${mapping.message}`;

/**
 * The record handler of the inbound consumer. For each record: the mapping named by a type
 * header; else, when some mapping of the topic goes by Avro record name, the writer schema's
 * name (no mapping: skipped, without decoding the value); then the value decoded, made
 * JSON-safe, turned into a message and given to `intake.receive`. A value that cannot be
 * decoded, does not fit its mapping or is rejected by the intake is given to
 * `intake.quarantineUnreadable` with the problem in words and the raw value (base64 when it
 * could not be decoded, else the decoded value as JSON text). Faults of the intake or the
 * registry are thrown unchanged; nothing is half done then, so the record may simply be
 * handled again.
 */
export function inboundRecordHandler(deps: {
  readonly mappings: InboundMappingIndex;
  readonly decoder: InboundDecoder;
  readonly intake: MessageIntake;
}): InboundRecordHandler {
  const { mappings, decoder, intake } = deps;

  async function quarantine(
    record: InboundRecord,
    message: {
      name: string;
      correlationKey: string;
      messageId: string;
      rawPayload: string;
      sourceEventType: string;
    },
    problem: string,
  ): Promise<RecordVerdict> {
    const outcome = await intake.quarantineUnreadable({
      name: message.name,
      correlationKey: message.correlationKey,
      messageId: message.messageId,
      rawPayload: message.rawPayload,
      problem,
      source: sourceOf(record, message.sourceEventType),
    });
    return { kind: 'quarantined', outcome, problem };
  }

  /** A record whose value cannot be read: its id from a header if it has one. */
  function quarantineUndecodable(
    record: InboundRecord,
    match: MappingMatch | undefined,
    sourceEventType: string | undefined,
    problem: string,
  ): Promise<RecordVerdict> {
    const idHeader = mappings
      .idHeaders(record.topic)
      .find((name) => (record.headers[name] ?? '').length > 0);
    return quarantine(
      record,
      {
        name: match?.mapping.message ?? '',
        correlationKey: '',
        messageId:
          idHeader === undefined
            ? fallbackMessageId(record.topic, record.partition, record.offset)
            : record.headers[idHeader]!,
        rawPayload: record.value ? record.value.toString('base64') : '',
        sourceEventType: match?.sourceEventType ?? sourceEventType ?? '',
      },
      problem,
    );
  }

  return async (record) => {
    let match = mappings.byHeader(record.topic, record.headers);
    if (!match) {
      if (!mappings.matchesByRecordName(record.topic)) return { kind: 'skipped' };
      const schema = await decoder.writerSchema(record.value);
      if (!schema.readable)
        return quarantineUndecodable(record, undefined, undefined, schema.problem);
      match = schema.recordName
        ? mappings.byRecordName(record.topic, schema.recordName)
        : undefined;
      if (!match)
        return {
          kind: 'skipped',
          ...(schema.recordName ? { sourceEventType: schema.recordName } : {}),
        };
    }
    const { mapping, sourceEventType } = match;
    const decoded = await decoder.decode(record.value);
    if (!decoded.readable)
      return quarantineUndecodable(record, match, sourceEventType, decoded.problem);
    const value = toJsonSafe(decoded.value);
    const rawPayload = JSON.stringify(value);
    const mapped = toIncomingMessage(mapping, { ...record, value, sourceEventType });
    if (!mapped.ok)
      return quarantine(
        record,
        { ...mapped, name: mapping.message, rawPayload, sourceEventType },
        `the record does not fit the mapping ${describeMapping(mapping)}: ${mapped.problem}`,
      );
    const result = await intake.receive(mapped.message);
    if (result.ok) return { kind: 'received', outcome: result.value };
    return quarantine(
      record,
      { ...mapped.message, rawPayload, sourceEventType },
      describeRejection(result.rejection),
    );
  };
}
