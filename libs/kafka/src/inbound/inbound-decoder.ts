/**
 * Reading inbound values through a Confluent-compatible schema registry. A value the registry
 * cannot be asked about (not Confluent-framed) or does not know (unknown schema id), or that its
 * writer schema cannot read, is unreadable: said in words, for quarantine. A registry that does
 * not answer is a fault, thrown (retriable): the record waits, it is not quarantined.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { KafkaBridgeError, KafkaErrorCode } from '../kafka-errors';

/** What the decoder made of a value: the result, or why it cannot be read. */
export type Readable<T> =
  | ({ readonly readable: true } & T)
  | { readonly readable: false; readonly problem: string };

/** The writer schema of a value: its registry id and, for an Avro record, its full name. */
export interface WriterSchema {
  readonly schemaId: number;
  readonly recordName: string | undefined;
}

/**
 * Decodes Confluent-framed values (magic byte 0, 4-byte big-endian schema id, then the
 * encoded value) with their writer schema. Both methods throw a retriable DECODE_FAILED
 * {@link KafkaBridgeError} when the registry cannot be reached or answers with anything but
 * the schema or "not found"; everything else about the value is answered, not thrown.
 */
export interface InboundDecoder {
  /** The writer schema of `value`, without decoding it (cached per schema id). */
  writerSchema(value: Buffer | null): Promise<Readable<WriterSchema>>;
  /** `value` decoded with its writer schema (Avro: records, longs as numbers, bytes as Buffers). */
  decode(value: Buffer | null): Promise<Readable<{ readonly value: unknown }>>;
}

const hexHead = (value: Buffer) =>
  [...value.subarray(0, 8)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');

/** Why `value` is not Confluent-framed, or undefined when it is. */
export function framingProblem(value: Buffer | null): string | undefined {
  if (value === null) return 'the record has no value (a tombstone)';
  if (value.byteLength < 5 || value[0] !== 0)
    return `the value is not in the Confluent wire format (magic byte 0, 4-byte schema id): ${value.byteLength} bytes, starting ${hexHead(value) || '(nothing)'}`;
  return undefined;
}

const schemaIdOf = (value: Buffer) => value.readUInt32BE(1);

const statusOf = (error: unknown) => (error as { status?: unknown }).status;

/** A promise that rejects after `ms` as an unanswered registry (retriable). */
function withRegistryTimeout<T>(operation: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KafkaBridgeError(
            KafkaErrorCode.DecodeFailed,
            `the schema registry did not answer within ${ms} ms (${what})`,
            { retriable: true },
          ),
        ),
      ms,
    );
  });
  return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
}

/**
 * An {@link InboundDecoder} over the registry at `registryUrl` (the base of its
 * Confluent-compatible API: Apicurio's is `.../apis/ccompat/v7`). Schemas are cached by id; a
 * registry call that takes longer than `timeoutMs` (default 10 s) counts as unanswered.
 */
export function registryDecoder(
  registryUrl: string,
  options: { readonly timeoutMs?: number } = {},
): InboundDecoder {
  const registry = new SchemaRegistry({ host: registryUrl });
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function writerSchema(value: Buffer | null): Promise<Readable<WriterSchema>> {
    const problem = framingProblem(value);
    if (problem) return { readable: false, problem };
    const schemaId = schemaIdOf(value!);
    try {
      const schema = await withRegistryTimeout(
        registry.getSchema(schemaId),
        timeoutMs,
        `schema id ${schemaId}`,
      );
      const name = (schema as { name?: unknown }).name;
      return { readable: true, schemaId, recordName: typeof name === 'string' ? name : undefined };
    } catch (error) {
      if (statusOf(error) === 404)
        return {
          readable: false,
          problem: `schema id ${schemaId} is unknown to the schema registry`,
        };
      if (error instanceof KafkaBridgeError) throw error;
      throw new KafkaBridgeError(
        KafkaErrorCode.DecodeFailed,
        `the schema registry cannot be asked for schema id ${schemaId}: ${(error as Error).message}`,
        { retriable: true, cause: error },
      );
    }
  }

  return {
    writerSchema,
    async decode(value) {
      const schema = await writerSchema(value);
      if (!schema.readable) return schema;
      try {
        // The schema is cached now: this call only decodes.
        return { readable: true, value: await registry.decode(value!) };
      } catch (error) {
        return {
          readable: false,
          problem: `the value cannot be decoded with its writer schema (id ${schema.schemaId}${schema.recordName ? `, ${schema.recordName}` : ''}): ${(error as Error).message}`,
        };
      }
    },
  };
}
