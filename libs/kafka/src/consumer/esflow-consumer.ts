/**
 * What a team consuming esflow events copies: a read_committed consumer that decodes each value
 * through the Confluent-compatible schema registry and drops duplicates by event id.
 *
 *   const consumer = createEsflowConsumer<OrderEvent>({
 *     brokers: ['localhost:9092'],
 *     groupId: 'billing',
 *     topics: ['esflow.orderFulfillment'],
 *     registryUrl: 'http://localhost:8080/apis/ccompat/v7',
 *     onEvent: async (event) => { ... event.type, event.payload, event.metadata.instanceId ... },
 *   });
 *   await consumer.start();
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Consumer, Kafka, logLevel } from 'kafkajs';
import { EsflowHeader, headersAsText } from '../event-headers';
import {
  KafkaBridgeError,
  KafkaErrorCode,
  isKafkaBridgeError,
  translateKafkaError,
} from '../kafka-errors';

/** The esflow facts carried in the headers of every bridged event. */
export interface EsflowEventMetadata {
  readonly eventId: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly stream: string;
  readonly revision: number;
  readonly workflow?: string;
  readonly instanceId: string;
  readonly schemaSubject?: string;
  readonly schemaVersion?: number;
  readonly position?: string;
  readonly recordedAt?: string;
}

/** One esflow event as delivered to a handler. */
export interface EsflowKafkaEvent<TPayload = Record<string, unknown>> {
  /** The event type (`PaymentReceived`): the Avro record's name. */
  readonly type: string;
  /** The value decoded with the writer's schema (found by the id in the Confluent header). */
  readonly payload: TPayload;
  readonly metadata: EsflowEventMetadata;
  /** The writer schema's registry id (bytes 1-4 of the value). */
  readonly schemaId: number;
  /** Every header, as text. */
  readonly headers: Readonly<Record<string, string>>;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** Remembers which event ids were handled. The default keeps the newest ones in memory. */
export interface SeenEventIds {
  has(eventId: string): boolean | Promise<boolean>;
  add(eventId: string): void | Promise<void>;
}

/**
 * Options of {@link createEsflowConsumer}: the brokers, consumer group and topics, the registry to
 * decode with, and the handler. Delivery is at least once from Kafka; duplicates are dropped by
 * event id through `seen`.
 */
export interface EsflowConsumerOptions<TPayload> {
  readonly brokers: readonly string[];
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Base URL of the Confluent-compatible registry API (Apicurio: `.../apis/ccompat/v7`). */
  readonly registryUrl: string;
  readonly clientId?: string;
  /** Start a new group at the beginning of the topics (default true). */
  readonly fromBeginning?: boolean;
  /**
   * Duplicates are dropped by event id. The default remembers the last 100 000 ids in memory;
   * give a durable set (e.g. a table written in the handler's own transaction) to drop
   * redeliveries across restarts too.
   */
  readonly seen?: SeenEventIds;
  /** Handles one event; throwing makes the consumer retry it (the offset is not committed). */
  readonly onEvent: (event: EsflowKafkaEvent<TPayload>) => Promise<void>;
  /**
   * Told when the consumer fails (a handler kept throwing, the group was lost, Kafka went
   * away): `restarting` says whether it starts again by itself.
   */
  readonly onError?: (error: KafkaBridgeError, restarting: boolean) => void;
  /** Told about events that were dropped as duplicates. */
  readonly onDuplicate?: (eventId: string) => void;
  /**
   * Told about records that are not esflow events (no esflow headers or no Confluent framing);
   * they are skipped. Values the registry cannot decode are not skipped: they are retried.
   */
  readonly onSkipped?: (
    error: KafkaBridgeError,
    where: { topic: string; partition: number; offset: string },
  ) => void;
}

/**
 * A running consumer made by {@link createEsflowConsumer}, with counters of delivered, duplicate
 * and skipped records.
 */
export interface EsflowConsumer {
  /** Connects, joins the group and starts delivering; errors are {@link KafkaBridgeError}s. */
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): { readonly delivered: number; readonly duplicates: number; readonly skipped: number };
}

/** A bounded in-memory {@link SeenEventIds}: forgets the oldest ids beyond `capacity`. */
export class RecentEventIds implements SeenEventIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 100_000) {}

  has(eventId: string): boolean {
    return this.ids.has(eventId);
  }

  add(eventId: string): void {
    this.ids.delete(eventId);
    this.ids.add(eventId);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }
}

/**
 * Reads the esflow metadata from a record's headers; a record without the event id, stream or
 * revision headers is not an esflow event (NOT_AN_ESFLOW_EVENT).
 */
export function readEventHeaders(headers: Readonly<Record<string, string>>): {
  type: string;
  metadata: EsflowEventMetadata;
} {
  const type = headers[EsflowHeader.EventType];
  const eventId = headers[EsflowHeader.EventId];
  const stream = headers[EsflowHeader.Stream];
  const revision = Number(headers[EsflowHeader.Revision]);
  if (!type || !eventId || !stream || !Number.isInteger(revision))
    throw new KafkaBridgeError(
      KafkaErrorCode.NotAnEsflowEvent,
      'the record lacks the esflow-event-type, esflow-event-id, esflow-stream or esflow-revision header',
    );
  const optional = (name: string, value: string | undefined) =>
    value === undefined ? {} : { [name]: value };
  const schemaVersion = headers[EsflowHeader.SchemaVersion];
  return {
    type,
    metadata: {
      eventId,
      stream,
      revision,
      instanceId: headers[EsflowHeader.InstanceId] ?? stream.slice(stream.indexOf('-') + 1),
      ...optional('correlationId', headers[EsflowHeader.CorrelationId]),
      ...optional('causationId', headers[EsflowHeader.CausationId]),
      ...optional('workflow', headers[EsflowHeader.Workflow]),
      ...optional('schemaSubject', headers[EsflowHeader.SchemaSubject]),
      ...(schemaVersion === undefined ? {} : { schemaVersion: Number(schemaVersion) }),
      ...optional('position', headers[EsflowHeader.Position]),
      ...optional('recordedAt', headers[EsflowHeader.RecordedAt]),
    },
  };
}

/** The schema id of a Confluent-framed value (magic byte 0, 4-byte big-endian id). */
export function confluentSchemaId(value: Uint8Array): number {
  if (value.byteLength < 5 || value[0] !== 0)
    throw new KafkaBridgeError(
      KafkaErrorCode.NotAnEsflowEvent,
      'the value is not in the Confluent wire format (magic byte 0 + 4-byte schema id)',
    );
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(1, false);
}

/**
 * Creates a read_committed consumer of esflow topics that decodes each value through the registry
 * and hands it to `onEvent`, skipping event ids that `seen` holds. An id is added only after its
 * handler resolves, so a handler that throws sees the event again. Nothing connects until
 * `start()`, which rejects with a {@link KafkaBridgeError} if joining the group fails.
 */
export function createEsflowConsumer<TPayload = Record<string, unknown>>(
  options: EsflowConsumerOptions<TPayload>,
): EsflowConsumer {
  const registry = new SchemaRegistry({ host: options.registryUrl });
  const seen = options.seen ?? new RecentEventIds();
  let consumer: Consumer | undefined;
  let delivered = 0;
  let duplicates = 0;
  let skipped = 0;

  async function decode(value: Buffer): Promise<TPayload> {
    try {
      return (await registry.decode(value)) as TPayload;
    } catch (error) {
      const status = (error as { status?: number }).status;
      throw new KafkaBridgeError(
        KafkaErrorCode.DecodeFailed,
        `cannot decode the value through the registry: ${(error as Error).message}`,
        { retriable: status === undefined || status >= 500, cause: error },
      );
    }
  }

  return {
    async start() {
      if (consumer) return;
      const kafka = new Kafka({
        clientId: options.clientId ?? options.groupId,
        brokers: [...options.brokers],
        logLevel: logLevel.WARN,
      });
      consumer = kafka.consumer({ groupId: options.groupId, readUncommitted: false });
      consumer.on(consumer.events.CRASH, ({ payload }) =>
        options.onError?.(
          translateKafkaError(payload.error, { operation: `consume as ${options.groupId}` }),
          payload.restart,
        ),
      );
      try {
        await consumer.connect();
        await consumer.subscribe({
          topics: [...options.topics],
          fromBeginning: options.fromBeginning ?? true,
        });
        await consumer.run({
          eachMessage: async ({ topic, partition, message }) => {
            const headers = headersAsText(message.headers);
            let read: ReturnType<typeof readEventHeaders>;
            let schemaId: number;
            try {
              read = readEventHeaders(headers);
              schemaId = confluentSchemaId(message.value ?? new Uint8Array());
            } catch (error) {
              skipped++;
              options.onSkipped?.(error as KafkaBridgeError, {
                topic,
                partition,
                offset: message.offset,
              });
              return;
            }
            const { type, metadata } = read;
            if (await seen.has(metadata.eventId)) {
              duplicates++;
              options.onDuplicate?.(metadata.eventId);
              return;
            }
            const payload = await decode(message.value!);
            await options.onEvent({
              type,
              payload,
              metadata,
              schemaId,
              headers,
              topic,
              partition,
              offset: message.offset,
            });
            await seen.add(metadata.eventId);
            delivered++;
          },
        });
      } catch (error) {
        await consumer.disconnect().catch(() => undefined);
        consumer = undefined;
        throw isKafkaBridgeError(error)
          ? error
          : translateKafkaError(error, { operation: `start consumer group ${options.groupId}` });
      }
    },

    async stop() {
      const running = consumer;
      consumer = undefined;
      await running?.disconnect();
    },

    stats: () => ({ delivered, duplicates, skipped }),
  };
}
