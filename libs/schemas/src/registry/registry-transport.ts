/**
 * What the two ways esflow talks to a registry share — the Confluent API through
 * @kafkajs/confluent-schema-registry, Apicurio's admin API through `fetch`: the URL as messages
 * show it and as it is sent, and an exchange that got no HTTP answer, in words.
 */

/** `url` as messages show it: a password in it becomes `***`. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** A registry URL split into the base that is called and the Basic credentials of its user part. */
export interface RegistryEndpoint {
  /** The URL without credentials and without a trailing slash. */
  readonly base: string;
  readonly auth?: { readonly username: string; readonly password: string };
}

/** The base URL and the `user:password@` credentials in it (sent as Basic auth, never in the URL). */
export function registryEndpoint(url: string): RegistryEndpoint {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { base: url.replace(/\/+$/, '') };
  const auth = {
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
  parsed.username = '';
  parsed.password = '';
  return { base: parsed.toString().replace(/\/+$/, ''), auth };
}

const IO_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'refused the connection (nothing listens there)',
  ENOTFOUND: 'has a host name that does not resolve',
  EAI_AGAIN: 'has a host name that does not resolve (DNS lookup failed)',
  ECONNRESET: 'closed the connection without answering',
  UND_ERR_SOCKET: 'closed the connection without answering',
  EHOSTUNREACH: 'is unreachable (no route to the host)',
  ENETUNREACH: 'is unreachable (no route to the network)',
};

/** The words for `did not answer within …`: a call that timed out. */
export const timedOut = (timeoutMs: number): string => `did not answer within ${timeoutMs} ms`;

/**
 * An exchange that got no HTTP answer, in words, from its system error code (`ECONNREFUSED`, …)
 * when there is one and its message.
 */
export function ioFailure(code: string | undefined, message: string): string {
  if (code && IO_FAILURES[code]) return IO_FAILURES[code];
  if (code?.startsWith('ERR_TLS') || code?.includes('CERT'))
    return `failed the TLS handshake (${code})`;
  return `could not be reached (${code ? `${code}: ` : ''}${message})`;
}
