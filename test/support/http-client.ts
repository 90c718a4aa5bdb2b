import { request as rawRequest } from 'node:http';
import { connect } from 'node:net';

export interface HttpResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A tiny JSON client over fetch for black-box tests of the REST API. Like any JSON client it
 * declares `Content-Type: application/json` on every state-changing call, with or without a body
 * (esflow refuses one that does not, so that no web form can call it).
 */
export function httpClient(baseUrl: string) {
  async function request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpResponse<T>> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined && SAFE_METHODS.has(method)
          ? {}
          : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (e.g. /metrics, /docs): keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }
  return {
    request,
    get: <T = Record<string, unknown>>(path: string, headers?: Record<string, string>) =>
      request<T>('GET', path, undefined, headers),
    post: <T = Record<string, unknown>>(
      path: string,
      body: unknown,
      headers?: Record<string, string>,
    ) => request<T>('POST', path, body, headers),
  };
}

/**
 * Sends `path` byte for byte (no URL normalisation of `.`/`..` segments, unlike fetch), as a
 * hostile or sloppy client would, and returns status, content type and parsed body.
 */
export function rawHttp(baseUrl: string, method: string, path: string, body?: unknown) {
  const url = new URL(baseUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<{ status: number; contentType: string; body: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = rawRequest(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers:
            payload || !SAFE_METHODS.has(method) ? { 'content-type': 'application/json' } : {},
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type']),
              body: text ? JSON.parse(text) : {},
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    },
  );
}

/** What came back on a raw socket: the parsed status line, headers and body, and the raw text. */
export interface RawExchange {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Whether the server closed the connection (it is not kept for another request). */
  readonly closed: boolean;
  readonly raw: string;
}

/**
 * Writes `bytes` to a fresh connection exactly as given (malformed HTTP included) and waits for
 * the server's first complete answer, or for it to close the connection, or for `timeoutMs`.
 * The connection is left open after the write, so what the server does unasked is seen too.
 */
export function rawExchange(
  baseUrl: string,
  bytes: string | Buffer,
  timeoutMs = 15_000,
): Promise<RawExchange> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      const parsed = parseResponse(received.toString('latin1'));
      if (!parsed && !closed) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (!parsed) reject(new Error(`no HTTP answer, connection closed; got: ${received}`));
      else resolve({ ...parsed, closed, raw: received.toString() });
    };
    const timer = setTimeout(() => {
      settled = true;
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms; got: ${received}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // A complete answer on a connection the server keeps: settle now.
      const parsed = parseResponse(received.toString('latin1'));
      if (parsed && parsed.headers['connection'] !== 'close') finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', (error) => {
      if (!settled && received.length === 0) {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.write(bytes);
  });
}

function parseResponse(
  text: string,
): { status: number; headers: Record<string, string>; body: string } | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? NaN);
  const body = text.slice(end + 4);
  if (Number.isFinite(length) && Buffer.byteLength(body, 'latin1') < length) return undefined;
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}
