import { ErrorCode, EsflowError } from '@esflow/core';
import {
  CompatibilityLevel,
  DEFAULT_EVENT_STREAM_LEVEL,
  isCompatibilityLevel,
} from '../compatibility/compatibility-level';
import { ReleasedVersion } from '../compatibility/check-compatibility';
import { GateRule } from './gate-failure';

/** A subject's released versions and level, as the gate checks them. */
export interface ReleasedSubject {
  readonly level: CompatibilityLevel;
  /** Oldest first. */
  readonly versions: readonly ReleasedVersion[];
}

/** What registering a schema gave: its version under the subject and its global id. */
export interface RegistrationResult {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
}

/**
 * The gate's view of a live Confluent-compatible schema registry (Confluent Schema Registry,
 * Apicurio's `/apis/ccompat/v7`, Redpanda, Karapace), over its REST API with plain fetch.
 */
export interface RegistryHistory {
  /** The registry's base URL, for messages. */
  readonly url: string;
  /**
   * The released versions and level of each subject. Subjects without versions are absent. The
   * level is the subject's own, else the registry's global one.
   */
  released(subjects: readonly string[]): Promise<Map<string, ReleasedSubject>>;
  /**
   * Registers `schema` as the next version of `subject`. A subject that has no versions yet is
   * first given `levelForNewSubject` (so event streams start BACKWARD_TRANSITIVE rather than on the
   * registry's default). A schema the registry refuses is a SCHEMA_INCOMPATIBLE (409) or
   * INVALID_DEFINITION (422) error carrying the registry's message.
   */
  register(
    subject: string,
    schema: string,
    levelForNewSubject?: CompatibilityLevel,
  ): Promise<RegistrationResult>;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

function detailOf(answer: Answer): string {
  return typeof answer.body === 'object' && answer.body !== null && 'message' in answer.body
    ? String((answer.body as { message: unknown }).message)
    : JSON.stringify(answer.body);
}

/**
 * A client for the gate over plain fetch; `fetchFn` is injectable for tests. (The registry port's
 * HTTP adapter has no global-level fallback and lists versions one request each; the gate needs
 * `GET /config/{subject}?defaultToGlobal=true` and `GET /subjects/{subject}/versions`.)
 */
export function createRegistryHistory(
  url: string,
  fetchFn: typeof fetch = globalThis.fetch,
): RegistryHistory {
  const base = url.replace(/\/+$/, '');
  const subjectPath = (subject: string) => `/subjects/${encodeURIComponent(subject)}`;

  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    let response: Response;
    try {
      response = await fetchFn(`${base}${path}`, {
        method,
        headers: { Accept: CONTENT_TYPE, 'Content-Type': CONTENT_TYPE },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new EsflowError(
        ErrorCode.StoreUnavailable,
        `the schema registry at ${base} is unreachable: ${(error as Error).message}`,
        { retriable: true, cause: error },
      );
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON: keep the text for the message.
    }
    return { status: response.status, body: parsed };
  }

  function unexpected(what: string, answer: Answer): EsflowError {
    return new EsflowError(
      ErrorCode.InvalidConfiguration,
      `the schema registry at ${base} answered ${what} with HTTP ${answer.status}: ${detailOf(answer)}`,
      { retriable: answer.status >= 500 },
    );
  }

  async function versionsOf(subject: string): Promise<number[]> {
    const answer = await call('GET', `${subjectPath(subject)}/versions`);
    if (answer.status === 404) return [];
    if (answer.status !== 200 || !Array.isArray(answer.body))
      throw unexpected(`GET ${subjectPath(subject)}/versions`, answer);
    return (answer.body as number[]).slice().sort((a, b) => a - b);
  }

  async function levelOf(subject: string): Promise<CompatibilityLevel> {
    for (const path of [`/config/${encodeURIComponent(subject)}?defaultToGlobal=true`, '/config']) {
      const answer = await call('GET', path);
      if (answer.status === 404) continue;
      const level = (answer.body as { compatibilityLevel?: unknown } | undefined)
        ?.compatibilityLevel;
      if (answer.status !== 200 || !isCompatibilityLevel(level))
        throw unexpected(`GET ${path}`, answer);
      return level;
    }
    return CompatibilityLevel.Backward; // Confluent's default when nothing is configured.
  }

  return {
    url: base,

    async released(subjects) {
      const result = new Map<string, ReleasedSubject>();
      for (const subject of subjects) {
        const numbers = await versionsOf(subject);
        if (numbers.length === 0) continue;
        const versions: ReleasedVersion[] = [];
        for (const version of numbers) {
          const path = `${subjectPath(subject)}/versions/${version}`;
          const answer = await call('GET', path);
          const body = answer.body as { schema?: unknown; schemaType?: unknown } | undefined;
          if (answer.status !== 200 || typeof body?.schema !== 'string')
            throw unexpected(`GET ${path}`, answer);
          if (body.schemaType !== undefined && body.schemaType !== 'AVRO')
            throw new EsflowError(
              ErrorCode.InvalidConfiguration,
              `subject ${subject} version ${version} in ${base} is a ${String(body.schemaType)} schema, not Avro`,
            );
          versions.push({ version, schema: body.schema });
        }
        result.set(subject, { level: await levelOf(subject), versions });
      }
      return result;
    },

    async register(subject, schema, levelForNewSubject = DEFAULT_EVENT_STREAM_LEVEL) {
      if ((await versionsOf(subject)).length === 0) {
        const path = `/config/${encodeURIComponent(subject)}`;
        const answer = await call('PUT', path, { compatibility: levelForNewSubject });
        if (answer.status !== 200) throw unexpected(`PUT ${path}`, answer);
      }
      const path = `${subjectPath(subject)}/versions`;
      const answer = await call('POST', path, { schema });
      if (answer.status === 409 || answer.status === 422)
        throw new EsflowError(
          answer.status === 409 ? ErrorCode.SchemaIncompatible : ErrorCode.InvalidDefinition,
          `${subject}: the registry at ${base} refused the schema (${GateRule.RegistryRejected}, HTTP ${answer.status}): ${detailOf(answer)}`,
          { details: { subject, status: answer.status } },
        );
      const id = (answer.body as { id?: unknown } | undefined)?.id;
      if (answer.status !== 200 || typeof id !== 'number') throw unexpected(`POST ${path}`, answer);
      // The version this schema has under the subject (an identical older one keeps its own).
      const lookup = await call('POST', subjectPath(subject), { schema });
      const version = (lookup.body as { version?: unknown } | undefined)?.version;
      if (lookup.status === 200 && typeof version === 'number') return { subject, version, id };
      return { subject, version: (await versionsOf(subject)).at(-1) ?? 1, id };
    },
  };
}
