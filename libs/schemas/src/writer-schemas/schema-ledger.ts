import { ErrorCode, EsflowError, EventStore, ExpectedRevision, RecordedEvent } from '@esflow/core';
import { uuidV5 } from '@esflow/core/node';
import { RegisteredSchema } from '../registry/schema-registry.port';
import { schemaFingerprint } from './schema-fingerprint';

/**
 * The stream where esflow keeps the writer schema of every schema id it writes under. No
 * workflow stream is named like it (those are `<workflow>-<id>`, with a camelCase workflow name
 * and a `-`), so no workflow prefix filter matches it: projections and the Kafka bridge, which
 * read only their workflows' streams, never see it. Without a `-` it is in no EventStoreDB
 * category either.
 */
export const WRITER_SCHEMA_STREAM = 'esflow.schemas';

/** The type of the events of {@link WRITER_SCHEMA_STREAM}: one per kept schema id. */
export const WRITER_SCHEMA_KEPT = 'WriterSchemaKept';

/**
 * A writer schema esflow keeps: the registry's id, subject and version it was registered as, its
 * text as registered, and its fingerprint ({@link schemaFingerprint}).
 */
export interface KeptSchema extends RegisteredSchema {
  readonly fingerprint: string;
}

/** `registered` with its fingerprint. */
export function keptSchema(registered: RegisteredSchema): KeptSchema {
  const { subject, version, id, schema } = registered;
  return { subject, version, id, schema, fingerprint: schemaFingerprint(schema) };
}

function parseEntry(event: RecordedEvent): KeptSchema {
  let entry: Partial<Record<keyof KeptSchema, unknown>> | undefined;
  try {
    entry = JSON.parse(Buffer.from(event.data).toString('utf8')) as typeof entry;
  } catch {
    entry = undefined;
  }
  const { id, subject, version, schema } = entry ?? {};
  if (
    !Number.isInteger(id) ||
    typeof subject !== 'string' ||
    !Number.isInteger(version) ||
    typeof schema !== 'string'
  )
    throw new EsflowError(
      ErrorCode.CorruptEvent,
      `${event.streamName}@${event.revision} is not a kept writer schema ({ id, subject, version, schema, fingerprint } as JSON)`,
    );
  // The fingerprint is recomputed rather than trusted: it is compared with ones computed now.
  return keptSchema({ id: id as number, subject, version: version as number, schema });
}

/**
 * The writer schemas esflow has written under, kept beside the events in the event store itself
 * (the stream {@link WRITER_SCHEMA_STREAM}), so that stored events stay readable whatever
 * happens to the registry, on every store.
 */
export class SchemaLedger {
  constructor(private readonly store: EventStore) {}

  /** Every kept schema by id. Should an id have been kept twice, the first entry is the one. */
  async load(): Promise<Map<number, KeptSchema>> {
    const kept = new Map<number, KeptSchema>();
    for (const event of await this.store.readStream(WRITER_SCHEMA_STREAM)) {
      if (event.type !== WRITER_SCHEMA_KEPT) continue;
      const entry = parseEntry(event);
      if (!kept.has(entry.id)) kept.set(entry.id, entry);
    }
    return kept;
  }

  /**
   * Appends one entry per schema, each its own append with an id derived from the schema id and
   * fingerprint: processes that keep the same schema at once write it once (the store recognises
   * the repeated event id), and nothing is kept half.
   */
  async keep(schemas: readonly KeptSchema[]): Promise<void> {
    await Promise.all(
      schemas.map((schema) =>
        this.store.append(
          WRITER_SCHEMA_STREAM,
          [
            {
              eventId: uuidV5(`${WRITER_SCHEMA_STREAM}/${schema.id}/${schema.fingerprint}`),
              type: WRITER_SCHEMA_KEPT,
              data: Buffer.from(
                JSON.stringify({
                  id: schema.id,
                  subject: schema.subject,
                  version: schema.version,
                  schema: schema.schema,
                  fingerprint: schema.fingerprint,
                }),
                'utf8',
              ),
              metadata: { contentType: 'application/json', schemaId: schema.id },
            },
          ],
          { expectedRevision: ExpectedRevision.Any },
        ),
      ),
    );
  }
}
