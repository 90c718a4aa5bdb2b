import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type {
  HeadersObject,
  ReferenceObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { COMMAND_STATUSES, ErrorCode } from '@esflow/core';
import { problemTypeOf, STATUS_BY_CODE } from '../http/problem-details.filter';
import { ModelProperty, schemaModel } from './schema-model';
import { STATE_VALUE_SCHEMA } from './state-value';

/** The media type of every failure (RFC 9457). */
export const PROBLEM_JSON = 'application/problem+json';

/** Every stable error code, in declaration order: generated from `ErrorCode`, so it cannot drift. */
export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/**
 * The HTTP status each code is answered with: `STATUS_BY_CODE`, which `writeProblem` answers by,
 * plus INTERNAL (500), what it answers any other fault with. A retriable fault whose code is not
 * listed is answered 503 under its own code (see {@link SERVICE_UNAVAILABLE_CODES}).
 * HEADERS_TOO_LARGE (431) is answered by the HTTP parser before any route, and NOT_FOUND for a
 * path no route has, so no operation declares them.
 */
export const PROBLEM_STATUS = {
  ...STATUS_BY_CODE,
  [ErrorCode.Internal]: 500,
} as const;

/** A code an HTTP client can be answered with. */
export type HttpErrorCode = keyof typeof PROBLEM_STATUS;

/** Any operation may meet a fault: unexpected (500) or transient (503, retriable). */
export const FAULT_CODES = [ErrorCode.Internal, ErrorCode.StoreUnavailable] as const;
/** What esflow's JSON body edge refuses on every state-changing request. */
export const BODY_EDGE_CODES = [
  ErrorCode.MalformedRequest,
  ErrorCode.PayloadTooLarge,
  ErrorCode.UnsupportedMediaType,
] as const;

const hasStatus = (code: ErrorCode): code is HttpErrorCode => code in PROBLEM_STATUS;

/**
 * The codes a 503 can carry: a retriable fault keeps its own code, unless the code has a 4xx
 * status (then that status is answered), so every code but those.
 */
export const SERVICE_UNAVAILABLE_CODES: readonly ErrorCode[] = ERROR_CODES.filter(
  (code) => !hasStatus(code) || PROBLEM_STATUS[code] >= 500,
);

/** One broken rule, as `errors` lists them. */
export const ValidationIssueModel = schemaModel(
  'ValidationIssue',
  'One broken rule: the dotted path of the field (`input.items.0.quantity`; empty for the body itself) and the rule',
  {
    path: { type: 'string', example: 'input.items.0.quantity' },
    message: { type: 'string', example: 'is required: must be a 32-bit integer' },
  },
);

/** The timer whose firing moved an instance on, as a refused event is told. */
export const TimerMoveModel = schemaModel(
  'TimerMove',
  'A timer that fired and moved the instance on: its id, the machine event it delivered, when, and the revision of its TimerFired',
  {
    timerId: { type: 'string' },
    eventType: {
      type: 'string',
      example: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
    },
    firedAt: { type: 'string', format: 'date-time' },
    revision: { type: 'integer', minimum: 0 },
  },
);

const errors = (required: boolean): ModelProperty => ({
  type: [ValidationIssueModel],
  maxItems: 20,
  required,
  description: 'Which field broke which rule; at most 20 (see `moreErrors`)',
});
const moreErrors: ModelProperty = {
  type: 'integer',
  minimum: 1,
  required: false,
  description: 'How many further errors there were beyond the 20 listed',
};
const bytes = (description: string, required = true): ModelProperty => ({
  type: 'integer',
  minimum: 0,
  description,
  required,
});
const text = (description: string, required = true): ModelProperty => ({
  type: 'string',
  description,
  required,
});
const names = (description: string, required = true): ModelProperty => ({
  type: [String],
  description,
  required,
});

interface ProblemSpec {
  /** What the code means, for the response descriptions. */
  readonly meaning: string;
  /** The extension members the code carries (beside the RFC 9457 ones and `code`). */
  readonly extensions?: Readonly<Record<string, ModelProperty>>;
}

/**
 * What each code means and which extension members it carries, from the `Rejection` variants,
 * the `EsflowError` details and the HTTP edge that raise it. A schema is made for a code only
 * when an operation declares it.
 */
const PROBLEMS: Readonly<Record<Exclude<HttpErrorCode, 'STORE_UNAVAILABLE'>, ProblemSpec>> = {
  [ErrorCode.MalformedRequest]: {
    meaning:
      'the body is not JSON or not the envelope, or a header or query parameter is not valid',
    extensions: { errors: errors(false), moreErrors },
  },
  [ErrorCode.InvalidId]: {
    meaning:
      'a workflow name or instance id is not 1–200 of `[A-Za-z0-9._:-]` (nor `.`/`..`), or not valid percent-encoding',
    extensions: {
      errors: errors(false),
      path: text('Which id broke the rule (for an id derived from the input)', false),
    },
  },
  [ErrorCode.SchemaValidationFailed]: {
    meaning: "the payload does not match the event's schema",
    extensions: { errors: errors(true), moreErrors },
  },
  [ErrorCode.UnknownEventType]: {
    meaning: "the workflow's definition has no such input event",
    extensions: {
      eventType: text('The event type sent'),
      knownTypes: names('The input events of the definition the instance is pinned to'),
    },
  },
  [ErrorCode.UnknownMessage]: {
    meaning: 'no workflow declares a message of that name',
    extensions: {
      name: text('The message name sent'),
      knownMessages: names('The message names the workflows declare'),
    },
  },
  [ErrorCode.MessageNotFound]: {
    meaning: 'no message of that id was received',
    extensions: { messageId: text('The message id asked for') },
  },
  [ErrorCode.MessageSettled]: {
    meaning:
      'the message is delivered, started or discarded (or a start found its instance already started): there is nothing to retry or discard',
    extensions: {
      messageId: text('The message'),
      messageStatus: text('Where it stands: delivered, started, duplicate or discarded'),
    },
  },
  [ErrorCode.HostNotAllowed]: {
    meaning: 'the `Host` header names a host this api does not serve (see ESFLOW_ALLOWED_HOSTS)',
  },
  [ErrorCode.Unauthenticated]: {
    meaning:
      'access control is on and the request has no valid credentials: send `Authorization: Bearer <JWT or API key>` or `X-API-Key`; `WWW-Authenticate` says more',
  },
  [ErrorCode.Forbidden]: {
    meaning:
      'the caller is known but its role does not allow the call (reads need `reader`, every state-changing call `operator`)',
    extensions: {
      requiredRole: {
        type: 'string',
        enum: ['reader', 'operator'],
        description: 'The role the call needs',
      },
      roles: names("The caller's roles"),
    },
  },
  [ErrorCode.WorkflowNotFound]: {
    meaning: 'no workflow of that name is registered',
    extensions: { workflow: text('The workflow name asked for') },
  },
  [ErrorCode.InstanceNotFound]: {
    meaning: 'no instance of the workflow has that id',
    extensions: { workflow: text('The workflow'), id: text('The instance id') },
  },
  [ErrorCode.NotFound]: {
    meaning:
      'no such route; or, for a batch migration, no batch of that id in this api process (it keeps them in memory)',
    extensions: { migrationId: text('The batch migration asked for', false) },
  },
  [ErrorCode.ProjectionNotFound]: { meaning: 'no projection of that name' },
  [ErrorCode.MethodNotAllowed]: {
    meaning: 'the path exists but not with this method; `Allow` lists those it has',
    extensions: { allowed: names('The methods the path accepts (as in `Allow`)') },
  },
  [ErrorCode.InstanceAlreadyExists]: {
    meaning:
      'an instance with that id exists (a start is not repeated without its Idempotency-Key)',
    extensions: { workflow: text('The workflow'), id: text('The instance id') },
  },
  [ErrorCode.RevisionConflict]: {
    meaning: 'the instance is not at the `If-Match` revision (or moved on concurrently): reload it',
    extensions: {
      expectedRevision: {
        type: 'integer',
        minimum: -1,
        description: 'The revision the request expected (-1: none was given)',
      },
      actualRevision: {
        type: 'integer',
        minimum: -1,
        description: 'The revision the instance is at',
      },
    },
  },
  [ErrorCode.RebuildInProgress]: {
    meaning: 'a rebuild of the projection is already requested or running',
    extensions: { projection: text('The projection') },
  },
  [ErrorCode.ProjectionNotStopped]: {
    meaning: 'the projection has not stopped on a failed event: there is nothing to retry or skip',
  },
  [ErrorCode.ProjectionRequestPending]: {
    meaning:
      'a retry or skip of the failed event is already waiting for the projector: one decision per failed event',
    extensions: {
      projection: text('The projection'),
      pending: { type: 'string', enum: ['retry', 'skip'], description: 'What is waiting' },
    },
  },
  [ErrorCode.PayloadTooLarge]: {
    meaning:
      'the body is over the body limit (ESFLOW_BODY_LIMIT), or the event would be stored larger than ESFLOW_MAX_EVENT_SIZE',
    extensions: {
      limitBytes: bytes('The limit that was broken'),
      eventType: text('The event that was too large (for the event limit)', false),
      eventBytes: bytes('Its stored size (for the event limit)', false),
    },
  },
  [ErrorCode.InstanceTooLarge]: {
    meaning: "the instance's events would hold more than ESFLOW_MAX_INSTANCE_SIZE",
    extensions: {
      instanceBytes: bytes('What the instance would hold'),
      limitBytes: bytes('The limit'),
    },
  },
  [ErrorCode.UnsupportedMediaType]: {
    meaning:
      'a state-changing request must declare `Content-Type: application/json` (with or without a body), in UTF-8',
    extensions: { accepted: names('The media types accepted', false) },
  },
  [ErrorCode.EventNotAccepted]: {
    meaning: 'the current state has no transition for the event',
    extensions: {
      eventType: text('The event type sent'),
      state: { ...STATE_VALUE_SCHEMA, description: 'The state the instance is in' },
      acceptedEvents: names('The events the current state accepts'),
      movedByTimer: {
        type: TimerMoveModel,
        required: false,
        description: 'When a timer moved the instance on last: the timer that fired',
      },
    },
  },
  [ErrorCode.InstanceNotRunning]: {
    meaning:
      'the instance is not running any more (completed, cancelled, failed or terminated): there is nothing left to terminate or migrate',
    extensions: {
      workflow: text('The workflow'),
      id: text('The instance'),
      instanceStatus: {
        type: 'string',
        enum: ['completed', 'cancelled', 'failed', 'terminated'],
        description: 'Its status',
      },
      state: { ...STATE_VALUE_SCHEMA, description: 'The state it is in' },
    },
  },
  [ErrorCode.MigrationRefused]: {
    meaning:
      "the migration is not possible as asked, and nothing was written: the target version is not registered or is the one the instance runs on, a state maps to one the target lacks (or to a final one), the context fails the target's check, or a timer, invoked command or buffered message cannot follow (`unmappable: cancel` cancels those); `errors` names each (`toVersion`, `stateMapping.<path>`, `state`, `context.<field>`, `timers.<id>`, `commands.<id>`, `messages.<id>`)",
    extensions: {
      fromVersion: {
        type: 'integer',
        minimum: 1,
        description: 'The version the instance runs on (a batch: `filter.fromVersion`)',
      },
      toVersion: { type: 'integer', minimum: 1, description: 'The version asked for' },
      errors: errors(true),
      moreErrors,
    },
  },
  [ErrorCode.IdempotencyKeyReused]: {
    meaning:
      'the Idempotency-Key was used on this instance for another request (another operation, event type or body)',
    extensions: { idempotencyKey: text('The key') },
  },
  [ErrorCode.RebuildTooSoon]: {
    meaning:
      'the last rebuild of the projection finished moments ago (ESFLOW_REBUILD_COOLDOWN_MS); ask again after `Retry-After`',
    extensions: {
      projection: text('The projection'),
      rebuiltAt: {
        type: 'string',
        format: 'date-time',
        description: 'When the last rebuild swapped in',
      },
      retryAfterSeconds: { type: 'integer', minimum: 1, description: 'As `Retry-After`' },
    },
  },
  [ErrorCode.CommandNotFound]: {
    meaning: 'the command queue knows no command of that id (yet: it follows the log)',
    extensions: { commandId: text('The command id asked for') },
  },
  [ErrorCode.CommandNotInFlight]: {
    meaning:
      'the command is settled otherwise (completed with another outcome, failed, withdrawn, or resolved by an operator): there is nothing left to report',
    extensions: {
      commandId: text('The command'),
      commandStatus: {
        type: 'string',
        enum: [...COMMAND_STATUSES],
        description: 'Its status in the command queue (which follows the log)',
      },
    },
  },
  [ErrorCode.LeaseNotHeld]: {
    meaning:
      'the worker does not hold the lease of the command: it never leased it, or its lease expired and another worker took it, or the command is not leased any more',
    extensions: {
      commandId: text('The command'),
      workerId: text('The worker that asked'),
      leaseOwner: {
        type: 'string',
        nullable: true,
        description: 'Who holds its lease now (null: nobody)',
      },
    },
  },
  [ErrorCode.IncidentNotFound]: {
    meaning:
      'no command has an incident of that id: never raised (or not indexed yet: the queue follows the log), or its command had another incident since',
    extensions: { incidentId: text('The incident id asked for') },
  },
  [ErrorCode.HeadersTooLarge]: { meaning: 'the request headers are too large' },
  [ErrorCode.Internal]: {
    meaning: 'an unexpected fault (logged by the api; no internals are shown)',
  },
};

/** `EVENT_NOT_ACCEPTED` → `EventNotAcceptedProblem`. */
export function problemSchemaName(code: string): string {
  const pascal = code
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return `${pascal}Problem`;
}

/** The RFC 9457 members every problem has, for a problem of `status` whose code is `code`. */
function problemMembers(status: number, code: ModelProperty, type: ModelProperty) {
  return {
    type,
    title: text('A short summary of the status, e.g. "Unprocessable content"'),
    status: { type: 'integer', enum: [status], description: 'The HTTP status' },
    detail: text('What went wrong, for a person (at most 500 characters and a note of the rest)'),
    instance: text("The request's path and query"),
    code,
  } satisfies Record<string, ModelProperty>;
}

const models = new Map<HttpErrorCode, Type<unknown>>();

/**
 * The problem schema of one code: the RFC 9457 members with `code`, `status` and `type` fixed to
 * the code's, and the code's extension members. 503 answers any retriable fault, so its schema
 * admits every code such a fault keeps ({@link SERVICE_UNAVAILABLE_CODES}) and whatever details it
 * carried.
 */
export function problemModel(code: HttpErrorCode): Type<unknown> {
  const known = models.get(code);
  if (known) return known;
  const status = PROBLEM_STATUS[code];
  const model =
    code === ErrorCode.StoreUnavailable
      ? schemaModel(
          'ServiceUnavailableProblem',
          'A transient fault (the store or the schema registry is unreachable): try again later. The code is STORE_UNAVAILABLE or the code of the retriable fault; its details follow as members.',
          {
            ...problemMembers(
              status,
              {
                enum: [...SERVICE_UNAVAILABLE_CODES],
                enumName: 'ServiceUnavailableCode',
                description:
                  'STORE_UNAVAILABLE, or the code of the retriable fault (any code without a 4xx status)',
              },
              {
                type: 'string',
                pattern: '^urn:esflow:problem:[a-z0-9-]+$',
                description: 'The problem type: a URN made of the code',
              },
            ),
            retryAfterSeconds: {
              type: 'integer',
              minimum: 0,
              required: false,
              description: 'As `Retry-After`, when the fault says when to come back',
            },
          },
          { additionalProperties: true },
        )
      : schemaModel(problemSchemaName(code), `${code}: ${PROBLEMS[code].meaning}.`, {
          ...problemMembers(
            status,
            { type: 'string', enum: [code], description: 'The stable error code' },
            {
              type: 'string',
              enum: [problemTypeOf(code)],
              description: 'The problem type: a URN made of the code',
            },
          ),
          ...PROBLEMS[code].extensions,
        });
  models.set(code, model);
  return model;
}

const meaningOf = (code: HttpErrorCode) =>
  code === ErrorCode.StoreUnavailable
    ? 'the event store (or another dependency) is unreachable; retriable faults keep their own code'
    : PROBLEMS[code].meaning;

/** `Retry-After`, in seconds, on refusals that say when to come back. */
export const retryAfterHeader = (required: boolean) => ({
  description: 'Seconds to wait before asking again (as the `retryAfterSeconds` member)',
  required,
  schema: { type: 'integer', minimum: 0 },
});

/** The content of a response that is one of `codes` (a union told apart by `code`). */
export function problemContent(codes: readonly HttpErrorCode[]): {
  [PROBLEM_JSON]: { schema: SchemaObject | ReferenceObject };
} {
  const refs = codes.map((code) => ({ $ref: getSchemaPath(problemModel(code)) }));
  const schema =
    refs.length === 1
      ? refs[0]!
      : {
          oneOf: refs,
          discriminator: {
            propertyName: 'code',
            mapping: Object.fromEntries(codes.map((code, i) => [code, refs[i]!.$ref])),
          },
        };
  return { [PROBLEM_JSON]: { schema } };
}

/**
 * Declares the problems an operation (or every operation of a controller) can answer, grouped by
 * HTTP status: each status gets one `application/problem+json` response whose schema is the
 * union of its codes' problem schemas, discriminated by `code`, and `Retry-After` where the code
 * sends it. Declare every code of an operation in one call: a later response for the same
 * status replaces an earlier one.
 */
export function ApiProblems(...codes: HttpErrorCode[]): ReturnType<typeof applyDecorators> {
  const byStatus = new Map<number, HttpErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = PROBLEM_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ApiExtraModels(ValidationIssueModel, TimerMoveModel, ...codes.map(problemModel)),
    ...[...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, group]) => {
        const headers: HeadersObject = {};
        if (group.includes(ErrorCode.RebuildTooSoon))
          headers['Retry-After'] = retryAfterHeader(true);
        if (group.includes(ErrorCode.StoreUnavailable))
          headers['Retry-After'] = retryAfterHeader(false);
        return ApiResponse({
          status,
          description: group.map((code) => `**${code}**: ${meaningOf(code)}`).join('; '),
          ...(Object.keys(headers).length > 0 ? { headers } : {}),
          content: problemContent(group),
        });
      }),
  );
}

/**
 * Registers the problems of esflow's HTTP edge (`hardenHttpEdge`'s host allowlist, the global
 * `ProblemDetailsFilter`'s 405 and 500) as components, for the host to add to every operation of
 * its document: no controller answers them itself.
 */
export const ApiEdgeProblemModels = () =>
  ApiExtraModels(
    problemModel(ErrorCode.HostNotAllowed),
    problemModel(ErrorCode.MethodNotAllowed),
    problemModel(ErrorCode.Internal),
  );
