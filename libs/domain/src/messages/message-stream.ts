import { PayloadCodec } from '../codec/payload-codec.port';
import { EventStore, ExpectedRevision, RecordedEvent } from '../event-store/event-store.port';
import { IdGenerator } from '../ports/id-generator.port';
import { EventCategory } from '../workflow/event-metadata';
import { FRAMEWORK_EVENT_TYPES, FRAMEWORK_NAMESPACE } from '../workflow/framework-events';
import { IndexedMessage, MessageStatus } from './message-index.port';
import { MessageSource } from './message-intake';

// The message's own stream, `esflow.message-<messageId>`: written only for a message that no
// instance took at once (a delivered or started one lives in its instance's stream alone). Its
// first event is MessageReceived (the message itself), then one MessageCorrelated per attempt
// and at most one MessageDiscarded. Workflow names have no '.', so no `<workflow>-` prefix of a
// projection or of the Kafka bridge reads these streams; EventStoreDB groups them under the
// category `$ce-esflow.message`.

/** The prefix of every message stream, e.g. for a log filter. */
export const MESSAGE_STREAM_PREFIX = 'esflow.message-';

/** The stream of message `messageId`. */
export function messageStreamName(messageId: string): string {
  return `${MESSAGE_STREAM_PREFIX}${messageId}`;
}

/** The types of a message stream's events (Avro records in `esflow.framework`). */
export const MessageEvent = {
  Received: 'MessageReceived',
  Correlated: 'MessageCorrelated',
  Discarded: 'MessageDiscarded',
} as const;
export type MessageEvent = (typeof MessageEvent)[keyof typeof MessageEvent];

/**
 * Every record type of `esflow.framework` the registry holds: the facts the engine records in
 * instances' streams, then the records of the message streams. The schema gate requires each.
 */
export const FRAMEWORK_RECORD_TYPES: readonly string[] = [
  ...FRAMEWORK_EVENT_TYPES,
  ...Object.values(MessageEvent),
];

/** What started a correlation attempt. */
export type CorrelationTrigger = 'received' | 'instanceChanged' | 'recheck' | 'expired' | 'retry';

/** Payload of `MessageReceived`. */
export interface MessageReceivedPayload {
  readonly messageId: string;
  readonly name: string;
  readonly workflow: string;
  readonly keyName: string;
  readonly correlationKey: string;
  readonly payloadJson: string;
  readonly ttlSeconds: number;
  readonly receivedAt: string;
  readonly sourceJson: string;
}

/** Payload of `MessageCorrelated`: one attempt and its outcome. */
export interface MessageCorrelatedPayload {
  readonly trigger: CorrelationTrigger;
  readonly outcome: MessageStatus;
  readonly reason: string | null;
  readonly detail: string | null;
  readonly instanceId: string | null;
  readonly revision: number | null;
  readonly expiresAt: string | null;
  readonly candidates: readonly string[];
  readonly by: string | null;
  readonly at: string;
}

/** Payload of `MessageDiscarded`. */
export interface MessageDiscardedPayload {
  readonly reason: string;
  readonly by: string | null;
  readonly at: string;
}

/** A message stream read back: the message, its attempts in order, and where it stands. */
export interface MessageRecord {
  readonly received: MessageReceivedPayload;
  readonly source: MessageSource;
  readonly attempts: readonly MessageCorrelatedPayload[];
  readonly discarded?: MessageDiscardedPayload;
  /** The status its last event gave it. */
  readonly status: MessageStatus;
  /** The stream's last revision: the expected revision of the next append. */
  readonly revision: number;
}

/** The message as the index would show it, from its stream. */
export function indexedFromRecord(record: MessageRecord): IndexedMessage {
  const { received, attempts, discarded } = record;
  const last = attempts[attempts.length - 1];
  return {
    messageId: received.messageId,
    name: received.name,
    workflow: received.workflow,
    keyName: received.keyName,
    correlationKey: received.correlationKey,
    status: record.status,
    reason: discarded ? null : (last?.reason ?? null),
    detail: discarded ? discarded.reason : (last?.detail ?? null),
    instanceId: last?.instanceId ?? null,
    revision: last?.revision ?? null,
    source: record.source.kind,
    receivedAt: received.receivedAt,
    expiresAt: record.status === 'buffered' ? (last?.expiresAt ?? null) : null,
    updatedAt: discarded?.at ?? last?.at ?? received.receivedAt,
    attempts: attempts.length,
  };
}

const schemaOf = (type: MessageEvent) => `${FRAMEWORK_NAMESPACE}.${type}`;

/** Reads and writes message streams: Avro-encoded like every event, with slim metadata. */
export class MessageStreams {
  constructor(
    private readonly store: EventStore,
    private readonly codec: PayloadCodec,
    private readonly ids: IdGenerator,
  ) {}

  /** The message's stream folded, or undefined when esflow never wrote one for it. */
  async read(messageId: string): Promise<MessageRecord | undefined> {
    const events = await this.store.readStream(messageStreamName(messageId));
    if (events.length === 0) return undefined;
    return this.fold(events);
  }

  /**
   * Appends events to the message's stream at `expectedRevision` (`no_stream` for a new
   * message): throws RevisionConflictError when another writer came first, so the caller
   * decides again. A new message's events have ids derived from the message id, so a second
   * copy's first append is recognised by the store as the same append (`duplicate: true`, nothing
   * written) or refused as a conflict; later attempts' events have ids of their own.
   */
  async append(
    messageId: string,
    expectedRevision: number | typeof ExpectedRevision.NoStream,
    events: readonly (
      | { readonly type: typeof MessageEvent.Received; readonly payload: MessageReceivedPayload }
      | {
          readonly type: typeof MessageEvent.Correlated;
          readonly payload: MessageCorrelatedPayload;
        }
      | { readonly type: typeof MessageEvent.Discarded; readonly payload: MessageDiscardedPayload }
    )[],
  ): Promise<{ readonly revision: number; readonly duplicate: boolean }> {
    const streamName = messageStreamName(messageId);
    const isNew = expectedRevision === ExpectedRevision.NoStream;
    const encoded = await Promise.all(
      events.map(async (event, index) => {
        const eventId = isNew
          ? this.ids.deterministic(`${streamName}/${index}`)
          : this.ids.random();
        const { data, schema } = await this.codec.encode(schemaOf(event.type), event.payload);
        return {
          eventId,
          type: event.type,
          data,
          metadata: {
            eventId,
            category: EventCategory.Framework,
            messageId,
            schema,
            occurredAt: 'at' in event.payload ? event.payload.at : event.payload.receivedAt,
          },
        };
      }),
    );
    const appended = await this.store.append(streamName, encoded, { expectedRevision });
    return { revision: appended.nextExpectedRevision, duplicate: appended.deduplicated };
  }

  /** Decodes one event of a message stream (the follower's view). */
  async decode(event: RecordedEvent): Promise<Record<string, unknown>> {
    return this.codec.decode(schemaOf(event.type as MessageEvent), event.data);
  }

  private async fold(events: readonly RecordedEvent[]): Promise<MessageRecord> {
    let received: MessageReceivedPayload | undefined;
    const attempts: MessageCorrelatedPayload[] = [];
    let discarded: MessageDiscardedPayload | undefined;
    for (const event of events) {
      const payload = await this.decode(event);
      if (event.type === MessageEvent.Received)
        received = payload as unknown as MessageReceivedPayload;
      else if (event.type === MessageEvent.Correlated) attempts.push(correlatedFrom(payload));
      else if (event.type === MessageEvent.Discarded)
        discarded = payload as unknown as MessageDiscardedPayload;
    }
    if (!received)
      throw new Error(`message stream ${events[0]!.streamName} has no MessageReceived`);
    const status: MessageStatus = discarded
      ? 'discarded'
      : (attempts[attempts.length - 1]?.outcome ?? 'buffered');
    return {
      received: { ...received, ttlSeconds: Number(received.ttlSeconds) },
      source: JSON.parse(received.sourceJson) as MessageSource,
      attempts,
      ...(discarded ? { discarded } : {}),
      status,
      revision: events[events.length - 1]!.revision,
    };
  }
}

/** A decoded MessageCorrelated payload with its long fields as numbers. */
export function correlatedFrom(payload: Record<string, unknown>): MessageCorrelatedPayload {
  const typed = payload as unknown as MessageCorrelatedPayload;
  return { ...typed, revision: typed.revision === null ? null : Number(typed.revision) };
}
