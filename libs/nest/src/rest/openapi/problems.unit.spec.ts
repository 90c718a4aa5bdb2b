import { Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, EsflowError } from '@esflow/core';
import { writeProblem } from '../http/problem-details.filter';
import { ERROR_CODES, PROBLEM_STATUS, SERVICE_UNAVAILABLE_CODES } from './problems';

/** What `writeProblem` answers for `error`: the status and the body's code. */
function answerTo(error: unknown): { status: number; code: unknown } {
  let status = 0;
  let body: Record<string, unknown> = {};
  const response = {
    headersSent: false,
    setHeader: () => response,
    status: (value: number) => ((status = value), response),
    type: () => response,
    json: (value: Record<string, unknown>) => ((body = value), response),
  };
  const request = { method: 'GET', originalUrl: '/x', path: '/x', app: {} };
  writeProblem(request as unknown as Request, response as unknown as Response, error);
  return { status, code: body['code'] };
}

const inTable = (code: ErrorCode): code is keyof typeof PROBLEM_STATUS => code in PROBLEM_STATUS;

describe('the problem statuses of the OpenAPI document', () => {
  // writeProblem logs the 5xx it answers; not wanted here.
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']));

  it('lists every error code, in ErrorCode order', () => {
    expect(ERROR_CODES).toEqual(Object.values(ErrorCode));
  });

  it('gives each code the status writeProblem answers it with', () => {
    for (const code of ERROR_CODES) {
      if (!inTable(code)) continue;
      const status = PROBLEM_STATUS[code];
      const retriable = code === ErrorCode.StoreUnavailable;
      expect(answerTo(new EsflowError(code, 'x', { retriable })), code).toEqual({ status, code });
    }
  });

  it('leaves out only the codes no client is answered with under their own name (500 INTERNAL, or 503 when retriable)', () => {
    const outside = ERROR_CODES.filter((code) => !inTable(code));
    expect(outside.length).toBeGreaterThan(0);
    for (const code of outside) {
      expect(answerTo(new EsflowError(code, 'x')), code).toEqual({
        status: 500,
        code: ErrorCode.Internal,
      });
    }
  });

  it('admits in the 503 problem exactly the codes a retriable fault is answered 503 with', () => {
    for (const code of ERROR_CODES) {
      const answer = answerTo(new EsflowError(code, 'x', { retriable: true }));
      expect(answer.status === 503 && answer.code === code, code).toBe(
        SERVICE_UNAVAILABLE_CODES.includes(code),
      );
    }
  });
});
