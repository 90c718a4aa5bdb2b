import { SchemaRegistry as ConfluentClient } from '@kafkajs/confluent-schema-registry';
import { ErrorCode, EsflowError } from '@esflow/core';
import { CompatibilityLevel } from '../compatibility/compatibility-level';
import { importIntoApicurio } from './apicurio-import';
import { registryHttp } from './registry-http';
import { ioFailure, redactedUrl, registryEndpoint, timedOut } from './registry-transport';
import { RegisteredSchema, SchemaRegistry } from './schema-registry.port';

/** Options of {@link createConfluentHttpRegistry}. */
export interface ConfluentHttpRegistryOptions {
  /**
   * Base URL of the Confluent-compatible API (Confluent: `http://host:8081`; Apicurio:
   * `http://host:8080/apis/ccompat/v7`); `user:password@` in it is sent as Basic auth.
   */
  readonly url: string;
  /** Longest wait for one call, connecting and reading included (default 5 000 ms). */
  readonly timeoutMs?: number;
  /** Where the URL was configured (e.g. `SCHEMA_REGISTRY_URL`), named in every error. */
  readonly configuredBy?: string;
}

/** The default of {@link ConfluentHttpRegistryOptions.timeoutMs}. */
export const DEFAULT_REGISTRY_TIMEOUT_MS = 5_000;

// The client's raw endpoint map (mappersmith resources), kept here: no client type leaves this
// file. Its high-level register() also rewrites subject levels, which an adapter must not do
// behind the caller's back, and it caches; the endpoints do exactly one call each.
interface ClientAnswer {
  status(): number;
  rawData(): unknown;
  header(name: string): string | undefined;
}
type Endpoint = (params: Record<string, unknown>) => Promise<ClientAnswer>;
interface ConfluentApi {
  Schema: { find: Endpoint };
  Subject: {
    latestVersion: Endpoint;
    version: Endpoint;
    register: Endpoint;
    registered: Endpoint;
    config: Endpoint;
    updateConfig: Endpoint;
  };
}
/** How the client fails (its `ResponseError`): the status, and `<clientId> - <message>`. */
interface ClientError {
  status?: number;
  message?: string;
}

const CLIENT_ID = 'esflow';
const ACCEPT =
  'application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json';
// What the client lets through: a failed answer becomes its ResponseError (status and message,
// no body: a registry's `error_code` is not seen, so a 404 counts as "no such subject" when it
// carries a registry message); a good one keeps its body but not its content type (the client
// marks every answer JSON). A failed exchange is a "status 400" with the system error's message.
/** The client's message when the answer carried none of the registry's: `Error, status 404: …`. */
const NO_REGISTRY_MESSAGE = /^Error, status \d+(?:: ([\s\S]*))?$/;
/** A web server's own 404 (Confluent's Jetty on an unknown path: `HTTP 404 Not Found`). */
const PLAIN_NOT_FOUND = /^(HTTP 404\b.*|404: Not Found|Not Found)$/i;
/** No HTTP answer: a system error code in the gateway's message, or a TLS failure. */
const SYSTEM_CODE = /\b(E[A-Z]{3,}(?:_[A-Z0-9]+)*)\b/;
const TLS_FAILURE = /certificate|\bSSL\b|\bTLS\b/i;

const path = (subject: string) => `/subjects/${encodeURIComponent(subject)}`;
const body = (schema: string) => ({ schemaType: 'AVRO', schema });

/**
 * The registry port over a Confluent-compatible HTTP registry (Confluent Schema Registry,
 * Apicurio's ccompat API, Karapace), through @kafkajs/confluent-schema-registry's client. Every
 * call has a timeout (the client's own retries included); every failure is an esflow error
 * naming the registry (its URL and where it was configured), the call and the cause in words:
 * refused, timed out, not a Confluent-compatible API at that path, refused access, an
 * incompatible or invalid schema. Nothing is cached: each answer is the registry's own, so a
 * wiped registry is noticed. `restore` works on Apicurio Registry 3 (its admin import API);
 * elsewhere it throws saying what to do. No client type crosses this adapter.
 */
export function createConfluentHttpRegistry(options: ConfluentHttpRegistryOptions): SchemaRegistry {
  const description = `the schema registry at ${redactedUrl(options.url)}${options.configuredBy ? ` (${options.configuredBy})` : ''}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REGISTRY_TIMEOUT_MS;
  const { base, auth } = registryEndpoint(options.url);
  // No `retry` option: the client merges it into a default shared by every client of the
  // process (the Kafka consumer's too). Its retries (3, of GETs that fail without an answer or
  // with a 5xx, 0.1 s to 0.4 s apart) stay, bounded with the call by the deadline below.
  const api = (
    new ConfluentClient({
      host: base,
      clientId: CLIENT_ID,
      ...(auth ? { auth: { ...auth } } : {}),
    }) as unknown as {
      api: ConfluentApi;
    }
  ).api;

  const notConfluent = (call: string, what: string) =>
    new EsflowError(
      ErrorCode.InvalidConfiguration,
      `${description} is not a Confluent-compatible schema registry API at that path: ${call} answered ${what} (Apicurio Registry serves it under /apis/ccompat/v7)`,
    );

  /**
   * One call of the Confluent API (`call` names it in messages: `GET /subjects/…`), its answer's
   * JSON; undefined when the registry answers 404 with a message of its own (no such subject,
   * version or schema).
   */
  async function json<T>(
    call: string,
    endpoint: Endpoint,
    params: Record<string, unknown>,
  ): Promise<T | undefined> {
    const signal = AbortSignal.timeout(timeoutMs);
    // The signal cancels the exchange; the race returns even if the client never settles
    // (an answer that stops halfway through its body).
    const deadline = new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
    );
    let answer: ClientAnswer;
    try {
      answer = await Promise.race([
        endpoint({ ...params, timeout: timeoutMs, signal, headers: { Accept: ACCEPT } }),
        deadline,
      ]);
    } catch (error) {
      if (signal.aborted) throw unanswered(call, timedOut(timeoutMs), error);
      return failed(call, error);
    }
    const status = answer.status();
    if (status >= 300) {
      const location = answer.header('location');
      throw notConfluent(call, `HTTP ${status}${location ? ` redirecting to ${location}` : ''}`);
    }
    const text = String(answer.rawData() ?? '');
    if (!text.trim()) return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw notConfluent(
        call,
        `HTTP ${status} with a body that is not JSON (${text.slice(0, 80).trim()})`,
      );
    }
  }

  const unanswered = (call: string, words: string, cause: unknown) =>
    new EsflowError(ErrorCode.StoreUnavailable, `${description} ${words} (${call})`, {
      retriable: true,
      cause,
    });

  /** The client's failure in words: no answer (refused, timed out, …) or the registry's answer. */
  function failed(call: string, error: unknown): undefined {
    const { status, message = String(error) } = error as ClientError;
    const said = message.startsWith(`${CLIENT_ID} - `)
      ? message.slice(CLIENT_ID.length + 3)
      : message;
    // What the answer said without a message of the registry's (a body, or the gateway's error).
    const bare = NO_REGISTRY_MESSAGE.exec(said);
    const rest = bare ? (bare[1] ?? '').replace('[object Object]', '').trim() : said;
    // Without an answer the client reports status 400 and the system error's message (never
    // empty, never a document).
    if (status === undefined || (status === 400 && bare && rest && !/^[<{[]/.test(rest))) {
      if (/^Timeout \(\d+ms\)$/.test(rest)) throw unanswered(call, timedOut(timeoutMs), error);
      if (/socket hang up/i.test(rest))
        throw unanswered(call, ioFailure('ECONNRESET', rest), error);
      if (TLS_FAILURE.test(rest))
        throw unanswered(call, `failed the TLS handshake (${rest})`, error);
      throw unanswered(call, ioFailure(SYSTEM_CODE.exec(rest)?.[1], rest), error);
    }
    if (status === 404) {
      if (bare || PLAIN_NOT_FOUND.test(said))
        throw notConfluent(call, 'HTTP 404 without a registry error code');
      return undefined;
    }
    const detail = `HTTP ${status} for ${call}${rest ? `: ${rest.slice(0, 200)}` : ''}`;
    if (status === 409)
      throw new EsflowError(
        ErrorCode.SchemaIncompatible,
        `${description} refused an incompatible schema (${call}: ${rest})`,
      );
    if (status === 422)
      throw new EsflowError(
        ErrorCode.InvalidDefinition,
        `${description} refused the schema as invalid (${call}: ${rest})`,
      );
    if (status === 401 || status === 403)
      throw new EsflowError(
        ErrorCode.InvalidConfiguration,
        `${description} refused access (${detail}); give its credentials in the URL (https://user:password@host/...)`,
      );
    if (status >= 500)
      throw new EsflowError(ErrorCode.StoreUnavailable, `${description} failed (${detail})`, {
        retriable: true,
      });
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `${description} refused the request (${detail})`,
    );
  }

  const registry: SchemaRegistry = {
    description,

    async register(subject, schema) {
      const registered = await json<{ id: number }>(
        `POST ${path(subject)}/versions`,
        api.Subject.register,
        { subject, body: body(schema) },
      );
      const found = await json<{ id: number; version: number }>(
        `POST ${path(subject)}`,
        api.Subject.registered,
        { subject, body: body(schema) },
      );
      const id = registered?.id ?? found?.id;
      if (id === undefined || found === undefined)
        throw new EsflowError(
          ErrorCode.StoreUnavailable,
          `${description} did not confirm ${subject}: registered, but not found under the subject`,
          { retriable: true },
        );
      return { subject, version: found.version, id, schema };
    },

    async schemaById(id) {
      const found = await json<{ schema: string }>(`GET /schemas/ids/${id}`, api.Schema.find, {
        id,
      });
      if (!found)
        throw new EsflowError(
          ErrorCode.SchemaNotFound,
          `${description} has no schema with id ${id}`,
        );
      return found.schema;
    },

    async latest(subject) {
      return version(subject, 'latest', api.Subject.latestVersion, { subject });
    },

    async version(subject, number) {
      return version(subject, String(number), api.Subject.version, { subject, version: number });
    },

    async versions(subject) {
      // The client has no endpoint for the list: its version endpoint, on the list's path.
      const found = await json<number[]>(`GET ${path(subject)}/versions`, api.Subject.version, {
        subject,
        path: '/subjects/{subject}/versions',
      });
      return found ?? [];
    },

    async setCompatibility(subject, level) {
      await json(`PUT /config/${encodeURIComponent(subject)}`, api.Subject.updateConfig, {
        subject,
        body: { compatibility: level },
      });
    },

    async compatibility(subject) {
      const found = await json<{
        compatibilityLevel?: CompatibilityLevel;
        compatibility?: CompatibilityLevel;
      }>(`GET /config/${encodeURIComponent(subject)}`, api.Subject.config, { subject });
      return found?.compatibilityLevel ?? found?.compatibility;
    },

    async restore(schemas) {
      if (schemas.length > 0)
        await importIntoApicurio(
          registryHttp({ url: options.url, timeoutMs, description }),
          schemas,
          new Date(),
        );
    },

    async close() {},
  };

  async function version(
    subject: string,
    which: string,
    endpoint: Endpoint,
    params: Record<string, unknown>,
  ): Promise<RegisteredSchema | undefined> {
    const found = await json<{ id: number; version: number; schema: string }>(
      `GET ${path(subject)}/versions/${which}`,
      endpoint,
      params,
    );
    return found
      ? { subject, version: found.version, id: found.id, schema: found.schema }
      : undefined;
  }

  return registry;
}
