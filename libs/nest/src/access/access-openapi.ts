import type { OpenAPIObject } from '@nestjs/swagger';
import type {
  OperationObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ErrorCode } from '@esflow/core';
import { problemTypeOf } from '../rest/http/problem-details.filter';
import { PROBLEM_JSON } from '../rest/openapi/problems';
import type { EsflowAccessOptions } from './access-options';
import { requirementOf } from './esflow-access.guard';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The RFC 9457 members of a problem of `status` and `code`, as esflow's other problems have. */
function problemSchema(
  status: number,
  code: string,
  description: string,
  extra: Record<string, SchemaObject> = {},
): SchemaObject {
  const properties: Record<string, SchemaObject> = {
    type: {
      type: 'string',
      enum: [problemTypeOf(code)],
      description: 'The problem type: a URN made of the code',
    },
    title: { type: 'string', description: 'A short summary of the status' },
    status: { type: 'integer', enum: [status], description: 'The HTTP status' },
    detail: { type: 'string', description: 'What went wrong, for a person' },
    instance: { type: 'string', description: "The request's path and query" },
    code: { type: 'string', enum: [code], description: 'The stable error code' },
    ...extra,
  };
  return { type: 'object', description, properties, required: Object.keys(properties) };
}

const UNAUTHENTICATED: ResponseObject = {
  description:
    '**UNAUTHENTICATED**: no valid credentials (access control is on); `WWW-Authenticate` says why',
  headers: {
    'WWW-Authenticate': {
      description:
        'The Bearer challenge (RFC 6750), with `error="invalid_token"` for a refused one',
      required: true,
      schema: { type: 'string', example: 'Bearer realm="esflow"' },
    },
  },
  content: { [PROBLEM_JSON]: { schema: { $ref: '#/components/schemas/UnauthenticatedProblem' } } },
};

const FORBIDDEN: ResponseObject = {
  description: "**FORBIDDEN**: the caller's role does not allow the call",
  content: { [PROBLEM_JSON]: { schema: { $ref: '#/components/schemas/ForbiddenProblem' } } },
};

/**
 * Declares access control in an OpenAPI document (call it only when access control is on): the
 * `bearer` (a JWT or an API key) and `apiKey` (`X-API-Key`) security schemes, and on each
 * operation that is not public, both as alternatives plus its 401 UNAUTHENTICATED and 403
 * FORBIDDEN answers. What an operation needs follows the guard's rule by method and path, so
 * an operation whose handler declares `@EsflowAccess` otherwise is not described by it.
 */
export function describeAccessControl(
  document: OpenAPIObject,
  options: Pick<EsflowAccessOptions, 'health' | 'metrics'>,
): OpenAPIObject {
  const components = (document.components ??= {});
  components.securitySchemes = {
    ...components.securitySchemes,
    bearer: {
      type: 'http',
      scheme: 'bearer',
      description: 'A JWT from the configured issuer, or an API key',
    },
    apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key' },
  };
  components.schemas = {
    ...components.schemas,
    UnauthenticatedProblem: problemSchema(
      401,
      ErrorCode.Unauthenticated,
      'UNAUTHENTICATED: the request has no valid credentials.',
    ),
    ForbiddenProblem: problemSchema(
      403,
      ErrorCode.Forbidden,
      "FORBIDDEN: the caller's role does not allow the call.",
      {
        requiredRole: { type: 'string', enum: ['reader', 'operator'] },
        roles: { type: 'array', items: { type: 'string', enum: ['reader', 'operator'] } },
      },
    ),
  };
  const rules = { health: options.health ?? 'public', metrics: options.metrics ?? 'reader' };
  for (const [path, item] of Object.entries(document.paths))
    for (const method of METHODS) {
      const operation: OperationObject | undefined = item[method];
      if (!operation) continue;
      const needs = requirementOf(rules, method, path.replace(/\{[^}]+\}/g, 'x'));
      if (needs === 'public') {
        operation.security = [];
        continue;
      }
      operation.security = [{ bearer: [] }, { apiKey: [] }];
      operation.responses['401'] = UNAUTHENTICATED;
      operation.responses['403'] = FORBIDDEN;
      operation.responses = Object.fromEntries(
        Object.entries(operation.responses).sort(([a], [b]) => a.localeCompare(b)),
      );
    }
  return document;
}
