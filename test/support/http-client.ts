import { request as rawRequest } from 'node:http';

export interface HttpResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** A tiny JSON client over fetch for black-box tests of the REST API. */
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
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
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
          headers: payload ? { 'content-type': 'application/json' } : {},
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
