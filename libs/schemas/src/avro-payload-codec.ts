import * as avro from 'avsc';
import {
  EncodedPayload,
  ErrorCode,
  EsflowError,
  EventStore,
  PayloadCodec,
  ValidationIssue,
} from '@esflow/core';
import { validatePayload } from './payload-validator';
import { SchemaRegistry, SubjectNamingStrategy } from './registry/schema-registry.port';
import { SchemaCatalog } from './schema-catalog';
import { frame, unframe } from './wire-format';
import { WriterSchemas } from './writer-schemas/writer-schemas';

/**
 * What {@link AvroPayloadCodec.create} needs: the catalog of current schemas, the registry they are
 * registered in, the event store the writer schemas are kept in (beside the events), and the
 * subject naming (default `record`: the subject is the record's full name).
 */
export interface AvroPayloadCodecOptions {
  readonly catalog: SchemaCatalog;
  readonly registry: SchemaRegistry;
  readonly store: EventStore;
  readonly subjectNaming?: SubjectNamingStrategy;
}

/**
 * The payload codec over Avro: validates against the catalog's (current) schemas, writes the
 * Confluent wire format with the registry's id, and reads any writer version by resolving it to
 * the current reader schema. Writer schemas come from those esflow keeps in the event store
 * ({@link WriterSchemas}), so reading needs no registry.
 */
export class AvroPayloadCodec implements PayloadCodec {
  private readonly writers = new Map<number, Promise<avro.Type>>();
  private readonly resolvers = new Map<string, avro.Resolver>();

  private constructor(
    private readonly catalog: SchemaCatalog,
    /** The kept writer schemas, the ids new events are written under, the registry's status. */
    readonly writerSchemas: WriterSchemas,
  ) {}

  /**
   * Checks the registry against the kept writer schemas, registers the current version of every
   * catalog schema (idempotently), keeps each new id, and returns a codec. Throws
   * INVALID_CONFIGURATION when the registry answers kept ids with other schemas (see
   * {@link WriterSchemas.open}). A registry that cannot be reached is needed only for a schema
   * with no kept id yet (else STORE_UNAVAILABLE, naming the subjects): with every schema kept,
   * the codec encodes under the kept ids and decodes with the kept schemas without it.
   */
  static async create(options: AvroPayloadCodecOptions): Promise<AvroPayloadCodec> {
    return new AvroPayloadCodec(options.catalog, await WriterSchemas.open(options));
  }

  hasSchema(schemaName: string): boolean {
    return this.catalog.get(schemaName) !== undefined;
  }

  schemaOf(schemaName: string): unknown {
    const entry = this.catalog.get(schemaName);
    return entry ? (JSON.parse(entry.expanded) as unknown) : undefined;
  }

  validate(schemaName: string, payload: unknown): readonly ValidationIssue[] {
    return validatePayload(this.readerType(schemaName), payload);
  }

  async encode(schemaName: string, payload: unknown): Promise<EncodedPayload> {
    const type = this.readerType(schemaName);
    const schema = this.writerSchemas.reference(schemaName)!;
    return { data: frame(schema.id, type.toBuffer(payload)), schema };
  }

  async decode(schemaName: string, data: Uint8Array): Promise<Record<string, unknown>> {
    const reader = this.readerType(schemaName);
    const { schemaId, payload } = unframe(data);
    const buffer = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (schemaId === this.writerSchemas.reference(schemaName)?.id)
      return toPlain(reader.fromBuffer(buffer));
    const writer = await this.writerType(schemaId);
    const key = `${schemaName}@${schemaId}`;
    let resolver = this.resolvers.get(key);
    if (!resolver) {
      resolver = reader.createResolver(writer);
      this.resolvers.set(key, resolver);
    }
    return toPlain(reader.fromBuffer(buffer, resolver));
  }

  private readerType(schemaName: string): avro.Type {
    const entry = this.catalog.get(schemaName);
    if (!entry)
      throw new EsflowError(
        ErrorCode.SchemaNotFound,
        `no Avro schema named ${schemaName} in the catalog`,
      );
    return entry.type;
  }

  private writerType(id: number): Promise<avro.Type> {
    let writer = this.writers.get(id);
    if (!writer) {
      writer = this.writerSchemas
        .writer(id)
        .then((text) => avro.Type.forSchema(JSON.parse(text) as avro.Schema));
      writer.catch(() => this.writers.delete(id));
      this.writers.set(id, writer);
    }
    return writer;
  }
}

/** avsc decodes records as class instances; callers get plain JSON-like objects. */
function toPlain(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}
