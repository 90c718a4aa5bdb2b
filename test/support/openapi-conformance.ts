import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Checks real HTTP exchanges against an OpenAPI 3.0 document, as a client generated from it
 * would assume them, and counts which of the document's answers were seen:
 * - the status is declared for the operation;
 * - the content type is one the response declares (by essence, `type/subtype`);
 * - the body matches the declared schema (ajv), read strictly: an object schema that does not
 *   say `additionalProperties` admits no member it does not list, so an undeclared member fails;
 * - every declared header that is required is there, every declared header that is there matches
 *   its schema, and none of the API's own headers is sent where it is not declared.
 * A problem (`application/problem+json`) is counted by status and `code`.
 */

/** The headers the API itself sets (not the transport's): each must be declared where sent. */
const API_HEADERS = [
  'etag',
  'location',
  'idempotent-replayed',
  'esflow-consistency',
  'retry-after',
  'allow',
  'x-correlation-id',
];
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** One request and its answer, as the client saw them. */
export interface Exchange {
  readonly method: string;
  /** The request path (without the query). */
  readonly path: string;
  readonly status: number;
  /** Response headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw body text ('' for none). */
  readonly body: string;
}

interface Operation {
  readonly id: string;
  readonly method: string;
  readonly template: string;
  readonly matcher: RegExp;
  readonly literalSegments: number;
  readonly responses: JsonObject;
}

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const essence = (contentType: string) => contentType.split(';', 1)[0]!.trim().toLowerCase();
const isJson = (mediaType: string) =>
  mediaType === 'application/json' || /^application\/[\w.+-]+\+json$/.test(mediaType);
const componentName = (ref: string) => ref.replace('#/components/schemas/', '');

/** `schema` with refs to components renamed to their ajv keys, read strictly (see above). */
function strictSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (!isObject(schema)) return schema;
  const copy: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') copy[key] = componentName(value);
    else if (key === 'properties' && isObject(value))
      copy[key] = Object.fromEntries(
        Object.entries(value).map(([name, property]) => [name, strictSchema(property)]),
      );
    else if (key === 'example' || key === 'discriminator') continue;
    else copy[key] = strictSchema(value);
  }
  if (isObject(schema['properties']) && schema['additionalProperties'] === undefined)
    copy['additionalProperties'] = false;
  return copy;
}

/** A declared answer: `operationId status` or, for a problem, `operationId status code`. */
export type Answer = string;

export class OpenApiConformance {
  private readonly ajv: Ajv;
  private readonly operations: Operation[] = [];
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly seen = new Set<Answer>();
  readonly violations: string[] = [];

  constructor(readonly document: JsonObject) {
    // `nullable` is OpenAPI 3.0's own keyword, which ajv knows; unknown keywords (x-…) are ignored.
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    const components = isObject(document['components']) ? document['components'] : {};
    const schemas = isObject(components['schemas']) ? components['schemas'] : {};
    for (const [name, schema] of Object.entries(schemas))
      this.ajv.addSchema(strictSchema(schema) as object, name);
    const paths = isObject(document['paths']) ? document['paths'] : {};
    for (const [template, item] of Object.entries(paths)) {
      if (!isObject(item)) continue;
      for (const method of METHODS) {
        const operation = item[method];
        if (!isObject(operation)) continue;
        const segments = template.split('/');
        this.operations.push({
          id: String(operation['operationId']),
          method: method.toUpperCase(),
          template,
          matcher: new RegExp(
            `^${segments.map((s) => (s.startsWith('{') ? '[^/]+' : s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/')}$`,
          ),
          literalSegments: segments.filter((s) => !s.startsWith('{')).length,
          responses: isObject(operation['responses']) ? operation['responses'] : {},
        });
      }
    }
  }

  /** The operation ids of the document. */
  operationIds(): string[] {
    return this.operations.map((operation) => operation.id);
  }

  /** The operation a request is for: by method and path (the most literal template wins). */
  operationFor(method: string, path: string): string | undefined {
    return this.operations
      .filter((op) => op.method === method.toUpperCase() && op.matcher.test(path))
      .sort((a, b) => b.literalSegments - a.literalSegments)[0]?.id;
  }

  /** The operation id of `method template` (throws if the document has none). */
  operation(method: string, template: string): string {
    const found = this.operations.find(
      (op) => op.method === method.toUpperCase() && op.template === template,
    );
    if (!found) throw new Error(`the document has no ${method} ${template}`);
    return found.id;
  }

  /**
   * Checks one exchange against operation `operationId` (default: the one its method and path
   * name; give it for a 405, which answers a method the path does not have). Returns the
   * violations found (they are also kept in {@link violations}).
   */
  check(exchange: Exchange, operationId?: string): string[] {
    const id = operationId ?? this.operationFor(exchange.method, exchange.path);
    const what = `${exchange.method} ${exchange.path} → ${exchange.status}`;
    const operation = this.operations.find((op) => op.id === id);
    const found: string[] = [];
    if (!operation) found.push(`${what}: no operation in the document`);
    else {
      const response = operation.responses[String(exchange.status)];
      if (!isObject(response)) found.push(`${what}: status not declared for ${operation.id}`);
      else
        found.push(
          ...this.checkResponse(operation.id, exchange, response).map((v) => `${what}: ${v}`),
        );
    }
    this.violations.push(...found);
    return found;
  }

  private checkResponse(id: string, exchange: Exchange, response: JsonObject): string[] {
    const found: string[] = [];
    const declaredHeaders = isObject(response['headers']) ? response['headers'] : {};
    const declaredNames = new Set(Object.keys(declaredHeaders).map((name) => name.toLowerCase()));
    for (const [name, header] of Object.entries(declaredHeaders)) {
      if (!isObject(header)) continue;
      const value = exchange.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header['required'] === true) found.push(`required header ${name} missing`);
        continue;
      }
      const schema = isObject(header['schema']) ? header['schema'] : {};
      const typed =
        (schema['type'] === 'integer' || schema['type'] === 'number') &&
        /^-?\d+(\.\d+)?$/.test(value)
          ? Number(value)
          : value;
      const validate = this.validator(`${id} ${exchange.status} header ${name}`, schema);
      if (!validate(typed))
        found.push(
          `header ${name}: ${JSON.stringify(value)} ${this.ajv.errorsText(validate.errors)}`,
        );
    }
    for (const name of API_HEADERS)
      if (exchange.headers[name] !== undefined && !declaredNames.has(name))
        found.push(`header ${name} sent but not declared`);

    const content = isObject(response['content']) ? response['content'] : undefined;
    const contentType = exchange.headers['content-type'];
    if (!content) {
      if (exchange.body !== '') found.push(`a body is sent but none is declared`);
      this.seen.add(`${id} ${exchange.status}`);
      return found;
    }
    if (contentType === undefined) {
      found.push('no Content-Type');
      return found;
    }
    const mediaType = Object.keys(content).find((key) => essence(key) === essence(contentType));
    if (!mediaType) {
      found.push(`Content-Type ${contentType} not declared (${Object.keys(content).join(', ')})`);
      return found;
    }
    const media = content[mediaType];
    const schema = isObject(media) && isObject(media['schema']) ? media['schema'] : {};
    let body: Json;
    try {
      body = isJson(essence(mediaType)) ? (JSON.parse(exchange.body) as Json) : exchange.body;
    } catch {
      found.push(`the body is not JSON: ${exchange.body.slice(0, 200)}`);
      return found;
    }
    const validate = this.validator(`${id} ${exchange.status} ${mediaType}`, schema);
    if (!validate(body))
      found.push(
        `body ${JSON.stringify(body).slice(0, 300)} does not match: ${this.ajv.errorsText(validate.errors)}`,
      );
    this.seen.add(`${id} ${exchange.status}`);
    const code = isObject(body) && typeof body['code'] === 'string' ? body['code'] : undefined;
    if (essence(mediaType) === 'application/problem+json' && code) {
      // Counted under its own code, or under `*` where one schema admits many codes (503).
      const codes = this.problemCodes(schema);
      this.seen.add(`${id} ${exchange.status} ${codes.includes(code) ? code : '*'}`);
    }
    return found;
  }

  private validator(key: string, schema: JsonObject): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(strictSchema(schema) as object);
      this.validators.set(key, validate);
    }
    return validate;
  }

  /** The codes of the problem schemas of a response: one each, or `*` for one admitting many. */
  private problemCodes(schema: JsonObject): string[] {
    const members = Array.isArray(schema['oneOf']) ? schema['oneOf'] : [schema];
    return members.map((member) => {
      const ref = isObject(member) && typeof member['$ref'] === 'string' ? member['$ref'] : '';
      const code = this.componentCode(componentName(ref));
      return code ?? '*';
    });
  }

  private componentCode(name: string): string | undefined {
    const components = this.document['components'];
    const schemas = isObject(components) ? components['schemas'] : undefined;
    const schema = isObject(schemas) ? schemas[name] : undefined;
    const properties = isObject(schema) ? schema['properties'] : undefined;
    const code = isObject(properties) ? properties['code'] : undefined;
    const values = isObject(code) && Array.isArray(code['enum']) ? code['enum'] : [];
    return values.length === 1 ? String(values[0]) : undefined;
  }

  /** Every answer the document declares: each status of each operation, each problem code. */
  declared(): Answer[] {
    const answers: Answer[] = [];
    for (const operation of this.operations)
      for (const [status, response] of Object.entries(operation.responses)) {
        answers.push(`${operation.id} ${status}`);
        const content = isObject(response) ? response['content'] : undefined;
        const problem = isObject(content) ? content['application/problem+json'] : undefined;
        const schema = isObject(problem) ? problem['schema'] : undefined;
        if (isObject(schema))
          for (const code of this.problemCodes(schema))
            answers.push(`${operation.id} ${status} ${code}`);
      }
    return answers;
  }

  /** The declared answers seen so far. */
  exercised(): ReadonlySet<Answer> {
    return this.seen;
  }
}
