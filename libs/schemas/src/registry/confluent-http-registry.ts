import { SchemaRegistry as ConfluentClient } from '@kafkajs/confluent-schema-registry';
import { ErrorCode, EsflowError } from '@esflow/core';
import { CompatibilityLevel } from '../compatibility/compatibility-level';
import { RegisteredSchema, SchemaRegistry } from './schema-registry.port';

type Endpoint = (params: Record<string, unknown>) => Promise<ClientResponse<never>>;
interface ConfluentApi {
  Schema: { find: Endpoint };
  Subject: {
    register: Endpoint;
    registered: Endpoint;
    version: Endpoint;
    config: Endpoint;
    updateConfig: Endpoint;
  };
}

interface ClientResponse<T> {
  data(): T;
}
interface ClientError {
  status?: number;
  message?: string;
}

/** Calls the client and turns its HTTP failures into esflow errors; 404 becomes undefined. */
async function call<T>(
  what: string,
  request: () => Promise<ClientResponse<unknown>>,
): Promise<T | undefined> {
  try {
    return (await request()).data() as T;
  } catch (error) {
    const { status, message } = error as ClientError;
    if (status === 404) return undefined;
    if (status === 409)
      throw new EsflowError(
        ErrorCode.SchemaIncompatible,
        `${what}: the registry refused an incompatible schema (${message ?? ''})`,
        {
          cause: error,
        },
      );
    if (status === 422)
      throw new EsflowError(
        ErrorCode.InvalidDefinition,
        `${what}: the registry refused the schema as invalid (${message ?? ''})`,
        { cause: error },
      );
    throw new EsflowError(
      ErrorCode.StoreUnavailable,
      `${what}: schema registry unavailable (${message ?? String(error)})`,
      {
        retriable: true,
        cause: error,
      },
    );
  }
}

/**
 * The registry port over a Confluent-compatible HTTP registry (Confluent Schema Registry,
 * Apicurio's ccompat API, Karapace), through @kafkajs/confluent-schema-registry's HTTP client.
 * No client type crosses this adapter.
 */
export function createConfluentHttpRegistry(options: { url: string }): SchemaRegistry {
  // The client's raw endpoint map: its high-level register() also rewrites subject levels, which
  // an adapter must not do behind the caller's back.
  const api = (new ConfluentClient({ host: options.url }) as unknown as { api: ConfluentApi }).api;
  const ids = new Map<number, string>();

  const registry: SchemaRegistry = {
    async register(subject, schema) {
      const registered = await call(`register ${subject}`, () =>
        api.Subject.register({ subject, body: { schemaType: 'AVRO', schema } }),
      );
      const found = await call<{ id: number; version: number }>(`look up ${subject}`, () =>
        api.Subject.registered({ subject, body: { schemaType: 'AVRO', schema } }),
      );
      const id = (registered as { id: number } | undefined)?.id ?? found?.id;
      if (id === undefined || found === undefined)
        throw new EsflowError(ErrorCode.StoreUnavailable, `registry did not confirm ${subject}`, {
          retriable: true,
        });
      return { subject, version: found.version, id, schema };
    },

    async schemaById(id) {
      const cached = ids.get(id);
      if (cached) return cached;
      const found = await call<{ schema: string }>(`schema ${id}`, () => api.Schema.find({ id }));
      if (!found)
        throw new EsflowError(ErrorCode.SchemaNotFound, `no schema with id ${id} in the registry`);
      ids.set(id, found.schema);
      return found.schema;
    },

    async latest(subject) {
      return registry.version(subject, 'latest' as unknown as number);
    },

    async version(subject, version) {
      const found = await call<{ id: number; version: number; schema: string }>(
        `${subject} v${version}`,
        () => api.Subject.version({ subject, version }),
      );
      return found
        ? ({
            subject,
            version: found.version,
            id: found.id,
            schema: found.schema,
          } satisfies RegisteredSchema)
        : undefined;
    },

    async versions(subject) {
      // The client has no call for GET /subjects/{subject}/versions; ask for each up to the latest.
      const latest = await registry.latest(subject);
      if (!latest) return [];
      const all: number[] = [];
      for (let v = 1; v <= latest.version; v++) if (await registry.version(subject, v)) all.push(v);
      return all;
    },

    async setCompatibility(subject, level) {
      await call(`set ${subject} level`, () =>
        api.Subject.updateConfig({ subject, body: { compatibility: level } }),
      );
    },

    async compatibility(subject) {
      const found = await call<{
        compatibilityLevel?: CompatibilityLevel;
        compatibility?: CompatibilityLevel;
      }>(`${subject} level`, () => api.Subject.config({ subject }));
      return found?.compatibilityLevel ?? found?.compatibility;
    },

    async close() {},
  };
  return registry;
}
