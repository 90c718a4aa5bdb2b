import { pageLimit } from '../http/paging';
import { z } from 'zod';
import { COMMAND_STATUSES, CommandStatus } from '@esflow/core';
import { parseRequest } from '../workflows/workflow-requests';

// The bodies and queries of the external-worker and incident calls, checked strictly (an unknown
// member is MALFORMED_REQUEST, naming it) before anything is read or written.

/** A worker's id: 1–200 visible ASCII characters (`kyc-worker-1`, `host-7/pid-42`). */
export const WORKER_ID_PATTERN = '^[\\x21-\\x7e]{1,200}$';
/** A command type, as `defineWorkflow` names them: PascalCase, at most 200 characters. */
export const COMMAND_TYPE_PATTERN = '^[A-Z][A-Za-z0-9]{0,199}$';

/** What a lease takes when the body does not say: 10 commands, for 30 s. */
export const LEASE_DEFAULTS = { max: 10, leaseMs: 30_000 } as const;
/** The bounds of a lease: 1–50 command types, 1–100 commands, 1 s to 10 min. */
export const LEASE_LIMITS = {
  commandTypes: 50,
  max: 100,
  leaseMsMin: 1_000,
  leaseMsMax: 600_000,
} as const;
/** The longest error a worker may report, in characters. */
export const MAX_ERROR_LENGTH = 4096;
/** The longest note of an incident decision, in characters. */
export const MAX_NOTE_LENGTH = 2000;
/** The longest `resolvedBy` of an incident decision, in characters. */
export const MAX_RESOLVED_BY_LENGTH = 200;

const object = <T extends z.ZodRawShape>(shape: T) =>
  z
    .object(shape, {
      invalid_type_error: 'the body must be a JSON object',
      required_error: 'the body must be a JSON object',
    })
    .strict();

const workerId = z
  .string({
    required_error: 'is required: the id of the worker (1–200 visible ASCII characters)',
    invalid_type_error: 'must be a string',
  })
  .regex(new RegExp(WORKER_ID_PATTERN), 'must be 1 to 200 visible ASCII characters');

const wholeNumber = (what: string, min: number, max: number) =>
  z
    .number({ invalid_type_error: `must be a number: ${what}` })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const leaseBody = object({
  workerId,
  commandTypes: z
    .array(
      z
        .string({ invalid_type_error: 'must be a string' })
        .regex(
          new RegExp(COMMAND_TYPE_PATTERN),
          'must be a command type: PascalCase letters and digits, at most 200',
        ),
      {
        required_error: 'is required: the command types this worker carries out',
        invalid_type_error: 'must be a list of command types',
      },
    )
    .min(1, 'must name at least one command type')
    .max(LEASE_LIMITS.commandTypes, `must name at most ${LEASE_LIMITS.commandTypes} command types`),
  max: wholeNumber('how many commands at most', 1, LEASE_LIMITS.max).default(LEASE_DEFAULTS.max),
  leaseMs: wholeNumber(
    'how long the lease lasts, in ms',
    LEASE_LIMITS.leaseMsMin,
    LEASE_LIMITS.leaseMsMax,
  ).default(LEASE_DEFAULTS.leaseMs),
});

/** A JSON object, as an event's payload is. */
const jsonObject = (what: string) =>
  z.record(z.unknown(), {
    required_error: `is required: ${what}`,
    invalid_type_error: `must be a JSON object (${what})`,
  });

const completeBody = object({
  workerId,
  reply: z
    .object(
      {
        type: z
          .string({
            required_error: 'is required: the reply event type, e.g. KYCCompleted',
            invalid_type_error: 'must be a string',
          })
          .min(1, 'must not be empty'),
        payload: jsonObject('the reply event payload'),
      },
      { invalid_type_error: 'must be a JSON object: { type, payload }' },
    )
    .strict()
    .optional(),
  // Any JSON value; the invoke's output record checks it.
  output: z.unknown().optional(),
});

const failBody = object({
  workerId,
  error: z
    .string({
      required_error: 'is required: what went wrong, for the operator',
      invalid_type_error: 'must be a string',
    })
    .min(1, 'must not be empty')
    .max(MAX_ERROR_LENGTH, `must be at most ${MAX_ERROR_LENGTH} characters`),
  retryable: z.boolean({ invalid_type_error: 'must be true or false' }).default(true),
});

const note = z
  .string({ required_error: 'is required: why', invalid_type_error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(MAX_NOTE_LENGTH, `must be at most ${MAX_NOTE_LENGTH} characters`);
const resolvedBy = z
  .string({ invalid_type_error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(MAX_RESOLVED_BY_LENGTH, `must be at most ${MAX_RESOLVED_BY_LENGTH} characters`)
  .optional();

const retryIncidentBody = object({ note: note.optional(), resolvedBy });
// An invoked actor's command settled by hand: the output the invoke's output record checks.
const resolveIncidentBody = object({ note, resolvedBy, output: z.unknown().optional() });

const commandQuery = z
  .object({
    status: z.enum(COMMAND_STATUSES as [CommandStatus, ...CommandStatus[]]).optional(),
    command_type: z.string().optional(),
    workflow: z.string().optional(),
    instance_id: z.string().optional(),
    limit: pageLimit,
    after: z.string().optional(),
  })
  .strict();

const incidentQuery = z
  .object({
    workflow: z.string().optional(),
    instance_id: z.string().optional(),
    limit: pageLimit,
    after: z.string().optional(),
  })
  .strict();

/** `POST /commands/lease`: who leases which types, how many, for how long. */
export type LeaseCall = z.infer<typeof leaseBody>;
/** `POST /commands/{commandId}/complete`. */
export type CompleteCall = z.infer<typeof completeBody>;
/** `POST /commands/{commandId}/fail`. */
export type FailCall = z.infer<typeof failBody>;
/** `POST /incidents/{incidentId}/retry` and `/resolve`. */
export type IncidentCall = {
  readonly note?: string;
  readonly resolvedBy?: string;
  readonly output?: unknown;
};
/** `GET /commands`. */
export type CommandListCall = z.infer<typeof commandQuery>;
/** `GET /incidents`. */
export type IncidentListCall = z.infer<typeof incidentQuery>;

/** The body of `POST /commands/lease`, checked; MALFORMED_REQUEST naming each broken field. */
export const parseLeaseBody = (body: unknown) =>
  parseRequest(leaseBody, body, 'the request body') as LeaseCall;
/** The body of `POST /commands/{commandId}/complete`, checked likewise. */
export const parseCompleteBody = (body: unknown) =>
  parseRequest(completeBody, body, 'the request body') as CompleteCall;
/** The body of `POST /commands/{commandId}/fail`, checked likewise. */
export const parseFailBody = (body: unknown) =>
  parseRequest(failBody, body, 'the request body') as FailCall;
/** The body of `POST /incidents/{incidentId}/retry` (none is `{}`), checked likewise. */
export const parseRetryIncidentBody = (body: unknown) =>
  parseRequest(retryIncidentBody, body ?? {}, 'the request body') as IncidentCall;
/** The body of `POST /incidents/{incidentId}/resolve`, checked likewise. */
export const parseResolveIncidentBody = (body: unknown) =>
  parseRequest(resolveIncidentBody, body, 'the request body') as IncidentCall;
/** The query of `GET /commands`, checked likewise (an unknown parameter too). */
export const parseCommandQuery = (query: unknown) =>
  parseRequest(commandQuery, query, 'the query') as CommandListCall;
/** The query of `GET /incidents`, checked likewise (an unknown parameter too). */
export const parseIncidentQuery = (query: unknown) =>
  parseRequest(incidentQuery, query, 'the query') as IncidentListCall;
