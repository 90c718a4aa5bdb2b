import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ErrorCode, EsflowError } from '@esflow/core';
import { problemTypeOf, writeProblem } from './problem-details.filter';

/** How a host's HTTP server is hardened by {@link hardenHttpEdge}. */
export interface HttpEdgeOptions {
  /**
   * Host names requests may be addressed to (the `Host` header, without the port), or `'*'` for
   * any. Default: the loopback names when listening on a loopback address (so a web page that
   * rebinds a DNS name to 127.0.0.1 cannot talk to the api), any otherwise.
   */
  readonly allowedHosts?: readonly string[] | '*';
  /** The address the server listens on, to choose the default of `allowedHosts`. */
  readonly listenHost: string;
  /**
   * How long a client may take to send a request's headers, counted from the connection or from
   * the end of the previous response on it (default 10 s). Enforced by esflow itself: Node checks
   * its own `headersTimeout` only every 30 s.
   */
  readonly headersTimeoutMs?: number;
  /** How long a client may take to send its whole request (default 30 s). */
  readonly requestTimeoutMs?: number;
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1', '[::1]'];

/** Whether `host` (as the server binds it) is a loopback address. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.includes(host) || host.startsWith('127.');
}

/**
 * Hardens the HTTP edge of an esflow host, before it listens:
 * - routes match case-sensitively (`/Workflows` is not `/workflows`);
 * - requests addressed to a host name not allowed are refused (400 HOST_NOT_ALLOWED);
 * - a client gets `headersTimeoutMs` for its headers (then 408 and the connection is closed) and
 *   `requestTimeoutMs` for its whole request, not Node's minutes;
 * - requests Node cannot parse (a bad request line, both `Content-Length` and
 *   `Transfer-Encoding`, headers over Node's limit) are answered as problem details
 *   (400 MALFORMED_REQUEST, 431 HEADERS_TOO_LARGE) instead of Node's bare answer, and the
 *   connection is closed.
 */
export function hardenHttpEdge(app: INestApplication, options: HttpEdgeOptions): void {
  const express = app.getHttpAdapter().getInstance() as {
    set(name: string, value: unknown): void;
    router?: { caseSensitive?: boolean };
  };
  express.set('case sensitive routing', true);
  // Express reads the setting when it creates its router, which Nest has done already: routes
  // are added when the app initialises, after this, and take the router's flag then.
  if (express.router) express.router.caseSensitive = true;
  const allowed = options.allowedHosts ?? (isLoopback(options.listenHost) ? LOOPBACK_HOSTS : '*');
  if (allowed !== '*') app.use(hostAllowlist(allowed));
  const server = app.getHttpServer() as Server;
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  server.headersTimeout = headersTimeoutMs;
  server.requestTimeout = Math.max(options.requestTimeoutMs ?? 30_000, headersTimeoutMs);
  server.on('clientError', answerClientError);
  boundHeaderBlocks(server, headersTimeoutMs);
}

/**
 * Gives every header block `timeoutMs` to arrive: a deadline armed when a connection opens and
 * whenever it has no request in flight, cleared when Node has parsed a request's headers.
 */
function boundHeaderBlocks(server: Server, timeoutMs: number): void {
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  const inFlight = new WeakMap<Socket, number>();
  const arm = (socket: Socket) => {
    clearTimeout(deadlines.get(socket));
    if (socket.destroyed) return;
    const deadline = setTimeout(() => {
      if ((inFlight.get(socket) ?? 0) === 0) writeRawProblem(socket, REQUEST_TIMEOUT);
    }, timeoutMs);
    deadline.unref();
    deadlines.set(socket, deadline);
  };
  server.on('connection', (socket: Socket) => {
    arm(socket);
    socket.once('close', () => clearTimeout(deadlines.get(socket)));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    clearTimeout(deadlines.get(socket));
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      const left = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, left);
      if (left === 0) arm(socket);
    };
    response.once('finish', settle);
    response.once('close', settle);
  });
}

/** Express middleware refusing requests whose `Host` is not one of `hosts` (port ignored). */
export function hostAllowlist(hosts: readonly string[]) {
  const allowed = new Set(hosts.map((host) => host.toLowerCase()));
  return (request: Request, response: Response, next: NextFunction): void => {
    const header = (request.headers.host ?? '').toLowerCase();
    const name = header.startsWith('[')
      ? header.slice(0, header.indexOf(']') + 1)
      : header.split(':')[0]!;
    if (allowed.has(name)) return next();
    writeProblem(
      request,
      response,
      new EsflowError(
        ErrorCode.HostNotAllowed,
        `requests to host "${name.slice(0, 100)}" are not served here; allowed: ${[...allowed].join(', ')} (set ESFLOW_ALLOWED_HOSTS)`,
      ),
    );
  };
}

interface RawProblem {
  readonly status: number;
  readonly code: ErrorCode;
  readonly title: string;
  readonly detail: string;
}

const REQUEST_TIMEOUT: RawProblem = {
  status: 408,
  code: ErrorCode.MalformedRequest,
  title: 'Request timeout',
  detail: 'the request took too long to arrive',
};

/** Node's parser gave up on a request: answer a problem (if the socket can still take it). */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  writeRawProblem(
    socket,
    error.code === 'HPE_HEADER_OVERFLOW'
      ? {
          status: 431,
          code: ErrorCode.HeadersTooLarge,
          title: 'Request header fields too large',
          detail: 'the request headers are too large',
        }
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT'
        ? REQUEST_TIMEOUT
        : {
            status: 400,
            code: ErrorCode.MalformedRequest,
            title: 'Bad request',
            detail: 'the request is not valid HTTP/1.1',
          },
  );
}

/** Writes a problem straight to the socket (no request object exists) and closes it. */
function writeRawProblem(socket: Socket, problem: RawProblem): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({
    type: problemTypeOf(problem.code),
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    code: problem.code,
  });
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
