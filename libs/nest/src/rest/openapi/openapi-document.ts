import type { INestApplication } from '@nestjs/common';
import { PROBLEM_JSON } from './problems';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type {
  OperationObject,
  ReferenceObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * Answers of a host's HTTP edge (`hardenHttpEdge`, a global filter), which no controller declares because
 * none of them produces them: the host allowlist (`hardenHttpEdge`) refuses a foreign `Host` on
 * every route, the global `ProblemDetailsFilter` answers a method the path does not have with 405
 * and `Allow`, and an unexpected fault in a host controller with 500. The problem schemas are the
 * ones @esflow/nest registers (by these names) for its own operations.
 */
const EDGE_PROBLEMS = [
  {
    status: '400',
    code: 'HOST_NOT_ALLOWED',
    schema: 'HostNotAllowedProblem',
    meaning: 'the `Host` header names a host this api does not serve (see ESFLOW_ALLOWED_HOSTS)',
  },
  {
    status: '405',
    code: 'METHOD_NOT_ALLOWED',
    schema: 'MethodNotAllowedProblem',
    meaning:
      'answered instead of this operation for a method the path does not have; `Allow` lists those it has',
    headers: {
      Allow: {
        description: 'The methods the path accepts',
        required: true,
        schema: { type: 'string', pattern: '^[A-Z]+(, [A-Z]+)*$', example: 'GET, HEAD' },
      },
    },
  },
  {
    status: '500',
    code: 'INTERNAL',
    schema: 'InternalProblem',
    meaning: 'an unexpected fault (logged by the api; no internals are shown)',
  },
] as const;

/** What every esflow host answers before routing, which no operation can list. */
const EDGE_DESCRIPTION = `Every failure is an RFC 9457 problem (\`application/problem+json\`) with a stable \`code\`; each
response lists the codes it can carry, and each code has its own schema with the members it adds.
Every state-changing request must say \`Content-Type: application/json\`, with or without a body.

Some answers come before any route, from the HTTP parser, so no operation lists them: 400
MALFORMED_REQUEST for a request that is not valid HTTP/1.1, 408 (code MALFORMED_REQUEST) when the
headers take over 10 s to arrive, 431 HEADERS_TOO_LARGE; these problems have no \`instance\` and the
connection is closed. An unknown path is 404 NOT_FOUND.`;

/** What {@link createEsflowOpenApiDocument} puts in the document's `info` and `tags`. */
export interface EsflowOpenApiOptions {
  /** The document's title (default `esflow`). */
  readonly title?: string;
  /** What the service does; esflow appends how its failures and HTTP edge answer. */
  readonly description?: string;
  /** The API's version (default `1`, esflow's REST contract). */
  readonly version?: string;
  /** The license of the API, if it has one. */
  readonly license?: { readonly name: string; readonly url: string };
  /**
   * Further tags, beside esflow's `workflows`, `projections`, `timers`, `commands`, `incidents`
   * and `operations`.
   */
  readonly tags?: readonly { readonly name: string; readonly description: string }[];
}

/**
 * The OpenAPI document of a host that serves esflow's REST API (`EsflowRestModule`): what
 * @nestjs/swagger makes of every controller of `app`, completed with what it cannot say from them
 * — the answers of the HTTP edge (`hardenHttpEdge` and a global `ProblemDetailsFilter`) on every
 * operation (400 HOST_NOT_ALLOWED, 405 with `Allow`, 500), no security scheme, a relative
 * server — and with every operation's responses in status order. Serve it with
 * `SwaggerModule.setup('docs', app, document)`. Throws if `app` does not mount `EsflowRestModule`
 * (its problem schemas are missing then).
 */
export function createEsflowOpenApiDocument(
  app: INestApplication,
  options: EsflowOpenApiOptions = {},
): OpenAPIObject {
  let builder = new DocumentBuilder()
    .setTitle(options.title ?? 'esflow')
    .setDescription(
      [options.description, EDGE_DESCRIPTION].filter((text) => text !== undefined).join('\n\n'),
    )
    .setVersion(options.version ?? '1')
    .addServer('/', 'The host serving this document')
    .addTag('workflows', 'Start instances, send them events, read them, list them')
    .addTag('projections', 'Read-model status, operator actions and statistics')
    .addTag('timers', 'The timers workflows scheduled: pending, fired, cancelled, superseded')
    .addTag(
      'commands',
      'External workers: lease the commands workflows dispatched, report them completed or failed',
    )
    .addTag(
      'incidents',
      'Commands that failed for good, and what operators decide for them: retry or resolve',
    )
    .addTag('operations', 'Health and metrics');
  if (options.license) builder = builder.setLicense(options.license.name, options.license.url);
  for (const tag of options.tags ?? []) builder = builder.addTag(tag.name, tag.description);
  const document = SwaggerModule.createDocument(app, builder.build());
  // No operation needs credentials (esflow listens on loopback unless configured otherwise).
  document.security = [];
  return describeHttpEdge(document);
}

/** Adds {@link EDGE_PROBLEMS} to every operation of `document`, and sorts the responses. */
function describeHttpEdge(document: OpenAPIObject): OpenAPIObject {
  const schemas = document.components?.schemas ?? {};
  for (const { schema } of EDGE_PROBLEMS)
    if (!schemas[schema])
      throw new Error(
        `OpenAPI: the ${schema} schema is missing (it comes with EsflowRestModule's controllers)`,
      );
  for (const path of Object.values(document.paths))
    for (const method of METHODS) {
      const operation = path[method];
      if (!operation) continue;
      for (const problem of EDGE_PROBLEMS) addProblem(document, operation, problem);
      operation.responses = Object.fromEntries(
        Object.entries(operation.responses).sort(([a], [b]) => a.localeCompare(b)),
      );
    }
  return document;
}

type EdgeProblem = (typeof EDGE_PROBLEMS)[number];

function addProblem(document: OpenAPIObject, operation: OperationObject, problem: EdgeProblem) {
  const ref = `#/components/schemas/${problem.schema}`;
  const line = `**${problem.code}**: ${problem.meaning}`;
  const existing = operation.responses[problem.status] as ResponseObject | undefined;
  if (!existing) {
    operation.responses[problem.status] = {
      description: line,
      ...('headers' in problem ? { headers: problem.headers } : {}),
      content: { [PROBLEM_JSON]: { schema: { $ref: ref } } },
    };
    return;
  }
  const media = existing.content?.[PROBLEM_JSON];
  if (!media?.schema)
    throw new Error(
      `OpenAPI: a ${problem.status} that is not a problem cannot take ${problem.code}`,
    );
  const members = (media.schema as SchemaObject).oneOf ?? [media.schema];
  if (members.some((member) => (member as ReferenceObject).$ref === ref)) return;
  const all = [...members, { $ref: ref }] as ReferenceObject[];
  media.schema = {
    oneOf: all,
    discriminator: {
      propertyName: 'code',
      mapping: Object.fromEntries(
        all.map((member) => [codeOf(document, member.$ref), member.$ref]),
      ),
    },
  };
  existing.description = `${existing.description}; ${line}`;
}

/** The one `code` a problem schema admits. */
function codeOf(document: OpenAPIObject, ref: string): string {
  const schema = document.components?.schemas?.[ref.split('/').pop()!] as SchemaObject | undefined;
  const code = (schema?.properties?.['code'] as SchemaObject | undefined)?.enum;
  if (code?.length !== 1) throw new Error(`OpenAPI: ${ref} is not the problem of one code`);
  return String(code[0]);
}
