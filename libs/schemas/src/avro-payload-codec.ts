import * as avro from 'avsc';
import {
  EncodedPayload,
  ErrorCode,
  EsflowError,
  PayloadCodec,
  SchemaReference,
  ValidationIssue,
} from '@esflow/core';
import { validatePayload } from './payload-validator';
import { SchemaRegistry, subjectFor, SubjectNamingStrategy } from './registry/schema-registry.port';
import { SchemaCatalog } from './schema-catalog';
import { frame, unframe } from './wire-format';

/**
 * What {@link AvroPayloadCodec.create} needs: the catalog of current schemas, the registry they are
 * registered in, and the subject naming (default `record`: the subject is the record's full name).
 */
export interface AvroPayloadCodecOptions {
  readonly catalog: SchemaCatalog;
  readonly registry: SchemaRegistry;
  readonly subjectNaming?: SubjectNamingStrategy;
}

/**
 * The payload codec over Avro: validates against the catalog's (current) schemas, writes the
 * Confluent wire format with the registry's id, and reads any registered writer version by
 * resolving it to the current reader schema.
 */
export class AvroPayloadCodec implements PayloadCodec {
  private readonly writers = new Map<number, Promise<avro.Type>>();
  private readonly resolvers = new Map<string, avro.Resolver>();

  private constructor(
    private readonly catalog: SchemaCatalog,
    private readonly registry: SchemaRegistry,
    /** Current schema of each record name, as registered. */
    private readonly references: ReadonlyMap<string, SchemaReference>,
  ) {}

  /** Registers the current version of every catalog schema (idempotently) and returns a codec. */
  static async create(options: AvroPayloadCodecOptions): Promise<AvroPayloadCodec> {
    const references = new Map<string, SchemaReference>();
    for (const name of options.catalog.names()) {
      const entry = options.catalog.get(name)!;
      const registered = await options.registry.register(
        subjectFor(name, options.subjectNaming),
        entry.expanded,
      );
      references.set(name, {
        subject: registered.subject,
        version: registered.version,
        id: registered.id,
      });
    }
    return new AvroPayloadCodec(options.catalog, options.registry, references);
  }

  hasSchema(schemaName: string): boolean {
    return this.catalog.get(schemaName) !== undefined;
  }

  validate(schemaName: string, payload: unknown): readonly ValidationIssue[] {
    return validatePayload(this.readerType(schemaName), payload);
  }

  async encode(schemaName: string, payload: unknown): Promise<EncodedPayload> {
    const type = this.readerType(schemaName);
    const schema = this.references.get(schemaName)!;
    return { data: frame(schema.id, type.toBuffer(payload)), schema };
  }

  async decode(schemaName: string, data: Uint8Array): Promise<Record<string, unknown>> {
    const reader = this.readerType(schemaName);
    const { schemaId, payload } = unframe(data);
    const buffer = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (schemaId === this.references.get(schemaName)?.id) return toPlain(reader.fromBuffer(buffer));
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
      writer = this.registry
        .schemaById(id)
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
