import {
  ErrorCode,
  EsflowError,
  instanceIdProblem,
  Rejection,
  ValidationIssue,
} from '@esflow/core';

/** Throws a rejection so the problem-details filter renders it; its fields become extensions. */
export function rejected(rejection: Rejection): never {
  const { code, message, ...details } = rejection;
  throw new EsflowError(code, message, { details });
}

export function malformed(message: string, errors: readonly ValidationIssue[] = []): EsflowError {
  return new EsflowError(
    ErrorCode.MalformedRequest,
    message,
    errors.length ? { details: { errors } } : {},
  );
}

/** Workflow names and instance ids: checked before they reach a stream name. */
export function checkId(value: string, path: string): string {
  const problem = instanceIdProblem(value);
  if (problem)
    throw new EsflowError(ErrorCode.InvalidId, `${path} ${problem}`, {
      details: { errors: [{ path, message: problem }] },
    });
  return value;
}

/** `If-Match: "3"` (or 3, or W/"3") → 3; absent or `*` → no precondition. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!match)
    throw malformed('If-Match must be the revision from an ETag, e.g. "3"', [
      { path: 'If-Match', message: `"${header}" is not a revision` },
    ]);
  return Number(match[1]);
}

const TOKEN = /^[\x21-\x7e]{1,255}$/;

/** Idempotency-Key, X-Correlation-Id, X-Causation-Id: 1–255 visible ASCII characters. */
export function parseToken(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  if (!TOKEN.test(header))
    throw malformed(`${name} must be 1 to 255 visible ASCII characters`, [
      { path: name, message: 'invalid value' },
    ]);
  return header;
}

export const etagOf = (revision: number) => `"${revision}"`;
