import { createServer as createHttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@esflow/core';
import { createConfluentHttpRegistry } from './confluent-http-registry';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterAll(async () => {
  sockets.forEach((socket) => socket.destroy());
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

const listening = (server: Server) =>
  new Promise<string>((resolve) => {
    servers.push(server);
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });

/** An HTTP server answering every request with `answer`. */
const answering = (answer: (request: IncomingMessage, response: ServerResponse) => void) =>
  listening(createHttpServer(answer));

const registryAt = (url: string, timeoutMs?: number) =>
  createConfluentHttpRegistry({
    url,
    configuredBy: 'SCHEMA_REGISTRY_URL',
    ...(timeoutMs ? { timeoutMs } : {}),
  });

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as { code: string; retriable: boolean; message: string },
  );

describe('Confluent-compatible HTTP registry: failures in words', () => {
  it('names the URL, the variable and the cause of a refused connection', async () => {
    const closed = createServer();
    const url = await listening(closed);
    await new Promise((resolve) => closed.close(resolve));
    const failure = await failureOf(registryAt(url).latest('s'));
    expect(failure).toMatchObject({ code: ErrorCode.StoreUnavailable, retriable: true });
    expect(failure.message).toBe(
      `the schema registry at ${url} (SCHEMA_REGISTRY_URL) refused the connection (nothing listens there) (GET /subjects/s/versions/latest)`,
    );
  });

  it('times out a registry that accepts the connection but never answers', async () => {
    const url = await listening(createServer((socket) => sockets.push(socket)));
    const started = Date.now();
    const failure = await failureOf(registryAt(url, 300).schemaById(1));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(failure.message).toBe(
      `the schema registry at ${url} (SCHEMA_REGISTRY_URL) did not answer within 300 ms (GET /schemas/ids/1)`,
    );
  });

  it('tells a wrong base path (404 without a registry error code, or not JSON) from a missing subject', async () => {
    const url = await answering((request, response) => {
      if (request.url?.startsWith('/apis/ccompat/v7/')) {
        response.writeHead(404, { 'Content-Type': 'application/json' });
        response.end('{"error_code":40401,"message":"Subject not found"}');
      } else if (request.url?.startsWith('/html/')) {
        response.writeHead(200, { 'Content-Type': 'text/html' });
        response.end('<html>a web page</html>');
      } else {
        response.writeHead(404, { 'Content-Type': 'application/json' });
        response.end('{"detail":"RESTEASY003210: Could not find resource"}');
      }
    });
    expect(await registryAt(`${url}/apis/ccompat/v7`).latest('s')).toBeUndefined();
    const wrongPath = await failureOf(registryAt(url).latest('s'));
    expect(wrongPath).toMatchObject({ code: ErrorCode.InvalidConfiguration, retriable: false });
    expect(wrongPath.message).toBe(
      `the schema registry at ${url} (SCHEMA_REGISTRY_URL) is not a Confluent-compatible schema registry API at that path: GET /subjects/s/versions/latest answered HTTP 404 without a registry error code (Apicurio Registry serves it under /apis/ccompat/v7)`,
    );
    const html = await failureOf(registryAt(`${url}/html`).versions('s'));
    expect(html.message).toContain(
      'answered HTTP 200 with a body that is not JSON (<html>a web page</html>)',
    );
  });

  it('sends the credentials of the URL as Basic auth and says when access is refused', async () => {
    const url = await answering((request, response) => {
      const ok =
        request.headers.authorization ===
        `Basic ${Buffer.from('esflow:s3cret').toString('base64')}`;
      response.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
      response.end(ok ? '[1, 2]' : '{"message":"Unauthorized"}');
    });
    const withCredentials = url.replace('http://', 'http://esflow:s3cret@');
    expect(await registryAt(withCredentials).versions('s')).toEqual([1, 2]);
    const wrong = withCredentials.replace('s3cret', 'wrong');
    const denied = await failureOf(registryAt(wrong).versions('s'));
    expect(denied.message).not.toContain('wrong@');
    expect(denied.message).toContain(`${url.replace('http://', 'http://esflow:***@')}`);
    const refused = await failureOf(registryAt(url).versions('s'));
    expect(refused.message).toContain(
      'refused access (HTTP 401 for GET /subjects/s/versions: Unauthorized)',
    );
  });

  it('bounds a call whose answer stops halfway through its body', async () => {
    const url = await answering((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.write('{"schema":');
      const trickle = setInterval(() => response.write(' '), 100);
      response.on('close', () => clearInterval(trickle));
    });
    const started = Date.now();
    const failure = await failureOf(registryAt(url, 500).schemaById(7));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(failure).toMatchObject({ code: ErrorCode.StoreUnavailable, retriable: true });
    expect(failure.message).toBe(
      `the schema registry at ${url} (SCHEMA_REGISTRY_URL) did not answer within 500 ms (GET /schemas/ids/7)`,
    );
  });

  it('makes the Confluent calls of the port, and says what the registry refused', async () => {
    const calls: string[] = [];
    const url = await answering((request, response) => {
      let received = '';
      request.on('data', (chunk: Buffer) => (received += chunk.toString()));
      request.on('end', () => {
        calls.push(
          `${request.method} ${request.url} ${request.headers['content-type'] ?? '-'} ${received}`,
        );
        const reply = (status: number, answer: unknown) => {
          response.writeHead(status, { 'Content-Type': 'application/vnd.schemaregistry.v1+json' });
          response.end(JSON.stringify(answer));
        };
        if (request.url === '/subjects/a.B/versions' && request.method === 'POST')
          return received.includes('bad')
            ? reply(409, { error_code: 409, message: 'Schema being registered is incompatible' })
            : reply(200, { id: 7 });
        if (request.url === '/subjects/a.B' && request.method === 'POST')
          return reply(200, { subject: 'a.B', id: 7, version: 2, schema: '{}' });
        if (request.url === '/config/a.B' && request.method === 'PUT')
          return reply(200, { compatibility: 'FULL' });
        if (request.url === '/config/a.B') return reply(200, { compatibilityLevel: 'FULL' });
        if (request.url === '/subjects/a.B/versions/2')
          return reply(200, { subject: 'a.B', id: 7, version: 2, schema: '{}' });
        reply(404, { error_code: 40401, message: 'Subject not found' });
      });
    });
    const registry = registryAt(url);
    expect(await registry.register('a.B', '{}')).toEqual({
      subject: 'a.B',
      version: 2,
      id: 7,
      schema: '{}',
    });
    await registry.setCompatibility('a.B', 'FULL');
    expect(await registry.compatibility('a.B')).toBe('FULL');
    expect(await registry.version('a.B', 2)).toMatchObject({ id: 7, version: 2 });
    expect(await registry.compatibility('c.D')).toBeUndefined();
    const body = '{"schemaType":"AVRO","schema":"{}"}';
    const confluent = 'application/vnd.schemaregistry.v1+json';
    expect(calls).toEqual([
      `POST /subjects/a.B/versions ${confluent} ${body}`,
      `POST /subjects/a.B ${confluent} ${body}`,
      `PUT /config/a.B ${confluent} {"compatibility":"FULL"}`,
      `GET /config/a.B ${confluent} `,
      `GET /subjects/a.B/versions/2 ${confluent} `,
      `GET /config/c.D ${confluent} `,
    ]);
    const incompatible = await failureOf(registry.register('a.B', '"bad"'));
    expect(incompatible).toMatchObject({ code: ErrorCode.SchemaIncompatible, retriable: false });
    expect(incompatible.message).toBe(
      `the schema registry at ${url} (SCHEMA_REGISTRY_URL) refused an incompatible schema (POST /subjects/a.B/versions: Schema being registered is incompatible)`,
    );
  });
});
