import { ErrorCode, EsflowError } from '@esflow/core';
import { ioFailure, registryEndpoint, timedOut } from './registry-transport';

/**
 * HTTP calls outside the Confluent API, which @kafkajs/confluent-schema-registry does not make:
 * Apicurio Registry's own API on the same server (`/apis/registry/v3/system/info`,
 * `/apis/registry/v3/admin/import`). Each is bounded by the timeout (connecting, waiting and
 * reading), sends the URL's credentials as Basic auth, and fails without an HTTP answer as an
 * {@link EsflowError} naming the registry, the call and the cause in words.
 */
export interface RegistryHttp {
  /** How messages name the registry, e.g. `the schema registry at http://… (SCHEMA_REGISTRY_URL)`. */
  readonly description: string;
  /** The configured URL without its credentials. */
  readonly base: string;
  /** `method url` (absolute), answered as it is: any status; only I/O fails. */
  send(
    method: string,
    url: string,
    body?: { readonly contentType: string; readonly data: Uint8Array },
  ): Promise<{ readonly status: number; readonly text: string }>;
}

/** The system error code under a fetch failure (`fetch failed` → cause → code), and its message. */
function rootCause(error: unknown): { code?: string; message: string } {
  let message = (error as Error).message;
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const found = current as {
      code?: unknown;
      errors?: unknown;
      cause?: unknown;
      message?: unknown;
    };
    if (typeof found.message === 'string' && found.message) message = found.message;
    if (typeof found.code === 'string') return { code: found.code, message };
    current =
      Array.isArray(found.errors) && found.errors.length > 0 ? found.errors[0] : found.cause;
  }
  return { message };
}

/** Calls on the server of the registry at `url`, over `fetch`, each under an `AbortSignal.timeout`. */
export function registryHttp(options: {
  readonly url: string;
  readonly timeoutMs: number;
  readonly description: string;
}): RegistryHttp {
  const { base, auth } = registryEndpoint(options.url);
  const { description, timeoutMs } = options;
  const authorization = auth
    ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
    : undefined;
  return {
    description,
    base,
    async send(method, url, body) {
      try {
        const response = await fetch(url, {
          method,
          signal: AbortSignal.timeout(timeoutMs),
          headers: {
            Accept: 'application/json',
            ...(body ? { 'Content-Type': body.contentType } : {}),
            ...(authorization ? { Authorization: authorization } : {}),
          },
          ...(body ? { body: body.data } : {}),
        });
        return { status: response.status, text: await response.text() };
      } catch (error) {
        const { code, message } = rootCause(error);
        const words =
          (error as { name?: unknown }).name === 'TimeoutError'
            ? timedOut(timeoutMs)
            : ioFailure(code, message);
        throw new EsflowError(
          ErrorCode.StoreUnavailable,
          `${description} ${words} (${method} ${url})`,
          {
            retriable: true,
            cause: error,
          },
        );
      }
    },
  };
}
