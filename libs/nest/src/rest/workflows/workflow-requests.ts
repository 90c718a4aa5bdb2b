import { pageLimit } from '../http/paging';
import { z } from 'zod';
import {
  ListInstancesQuery,
  MAX_MIGRATION_REASON_LENGTH,
  MAX_TERMINATION_REASON_LENGTH,
  UnmappablePolicy,
  ValidationIssue,
} from '@esflow/core';
import { malformed } from '../http/request-parsing';
import { MigrationFilter, migrationStateProblem } from '../../migrations/migration-filter';

const issuesOf = (error: z.ZodError): ValidationIssue[] =>
  error.issues.map((issue) => ({
    path: issue.path.join('.'),
    message:
      issue.code === 'unrecognized_keys'
        ? `unknown field(s): ${issue.keys.join(', ')}`
        : issue.message,
  }));

/** Parses `value` with `schema`, or throws MALFORMED_REQUEST naming each broken field. */
export function parseRequest(schema: z.ZodTypeAny, value: unknown, what: string): unknown {
  const result = schema.safeParse(value);
  if (!result.success) throw malformed(`${what} is not valid`, issuesOf(result.error));
  return result.data;
}

/**
 * A payload member of the envelope (`input`, `payload`): required, and a JSON object. Only its
 * envelope is checked here (MALFORMED_REQUEST); its fields are the schema's (SCHEMA_VALIDATION_FAILED).
 */
const payloadObject = (what: string) =>
  z.unknown().superRefine((value, context) => {
    if (value === undefined)
      context.addIssue({ code: z.ZodIssueCode.custom, message: `is required: ${what}` });
    else if (typeof value !== 'object' || value === null || Array.isArray(value))
      context.addIssue({
        code: z.ZodIssueCode.custom,
        message: `must be a JSON object (${what}), got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
      });
  });

const startBody = z
  .object(
    {
      id: z.string({ invalid_type_error: 'must be a string' }).optional(),
      input: payloadObject('the start event payload'),
    },
    {
      invalid_type_error: 'the body must be a JSON object',
      required_error: 'the body must be a JSON object',
    },
  )
  .strict();

const sendBody = z
  .object(
    {
      type: z
        .string({
          required_error: 'is required: the event type, e.g. PaymentReceived',
          invalid_type_error: 'must be a string',
        })
        .min(1),
      payload: payloadObject('the event payload'),
    },
    {
      invalid_type_error: 'the body must be a JSON object',
      required_error: 'the body must be a JSON object',
    },
  )
  .strict();

const listQuery = z
  .object({
    workflow: z.string().optional(),
    state: z.string().optional(),
    status: z.enum(['running', 'completed', 'cancelled', 'failed', 'terminated']).optional(),
    limit: pageLimit,
    after: z.string().optional(),
    waitFor: z
      .string()
      .regex(
        /^[A-Za-z0-9._:-]{1,200}@\d{1,15}$/,
        'must be <instance id>@<revision>, e.g. order-1001@4',
      )
      .transform((text) => {
        const at = text.lastIndexOf('@');
        return { id: text.slice(0, at), revision: Number(text.slice(at + 1)) };
      })
      .optional(),
  })
  .strict();

const terminateBody = z
  .object(
    {
      reason: z
        .string({
          required_error: 'is required: why the instance is terminated, for the record',
          invalid_type_error: 'must be a string',
        })
        .refine((reason) => reason.trim().length > 0, 'must not be empty')
        .refine(
          (reason) => reason.length <= MAX_TERMINATION_REASON_LENGTH,
          `must be at most ${MAX_TERMINATION_REASON_LENGTH} characters`,
        ),
    },
    {
      invalid_type_error: 'the body must be a JSON object',
      required_error: 'the body must be a JSON object',
    },
  )
  .strict();

/** The largest definition version a migration names: an Avro `int`, as `InstanceMigrated` records it. */
export const MAX_DEFINITION_VERSION = 2 ** 31 - 1;
/** How many states one migration may map. */
export const MAX_STATE_MAPPINGS = 100;
/** The longest `idPrefix` of a batch's filter: an instance id's longest. */
const MAX_ID_PREFIX_LENGTH = 200;

const definitionVersion = (what: string) =>
  z
    .number({
      required_error: `is required: ${what}`,
      invalid_type_error: 'must be a whole number',
    })
    .int('must be a whole number')
    .min(1, 'must be a positive whole number')
    .max(MAX_DEFINITION_VERSION, `must be at most ${MAX_DEFINITION_VERSION}`);

/** The fields of a migration, one instance's or a batch's. */
const migrationFields = {
  toVersion: definitionVersion('the definition version to migrate to, e.g. 2'),
  stateMapping: z
    .record(
      z.string().min(1, 'a source state path must not be empty'),
      z
        .string({ invalid_type_error: 'must be a state path (a string), e.g. "awaitingPayment"' })
        .refine((path) => path.trim() !== '', 'must be a state path, e.g. "awaitingPayment"'),
      {
        invalid_type_error:
          'must be a JSON object: source state path → target state path (dotted, or a state value as JSON)',
      },
    )
    .refine(
      (mapping) => Object.keys(mapping).length <= MAX_STATE_MAPPINGS,
      `must map at most ${MAX_STATE_MAPPINGS} states`,
    )
    .optional(),
  contextPatch: z
    .record(z.unknown(), {
      invalid_type_error: 'must be a JSON object: a JSON merge patch (RFC 7396) of the context',
    })
    .optional(),
  unmappable: z
    .enum(['refuse', 'cancel'], {
      errorMap: () => ({ message: 'must be "refuse" or "cancel"' }),
    })
    .optional(),
  dryRun: z.boolean({ invalid_type_error: 'must be true or false' }).optional(),
  reason: z
    .string({ invalid_type_error: 'must be a string' })
    .max(MAX_MIGRATION_REASON_LENGTH, `must be at most ${MAX_MIGRATION_REASON_LENGTH} characters`)
    .optional(),
};

const BODY_OBJECT = {
  invalid_type_error: 'the body must be a JSON object',
  required_error: 'the body must be a JSON object',
};

const migrateBody = z.object(migrationFields, BODY_OBJECT).strict();

const migrationFilter = z
  .object(
    {
      fromVersion: definitionVersion('the version the instances run on, e.g. 1'),
      state: z
        .string({ invalid_type_error: 'must be a string: a dotted state path, or JSON' })
        .superRefine((text, context) => {
          const problem = migrationStateProblem(text);
          if (problem) context.addIssue({ code: z.ZodIssueCode.custom, message: problem });
        })
        .optional(),
      idPrefix: z
        .string({ invalid_type_error: 'must be a string' })
        .min(1, 'must not be empty')
        .max(MAX_ID_PREFIX_LENGTH, `must be at most ${MAX_ID_PREFIX_LENGTH} characters`)
        .optional(),
    },
    {
      required_error: 'is required: which instances, e.g. {"fromVersion": 1}',
      invalid_type_error: 'must be a JSON object, e.g. {"fromVersion": 1}',
    },
  )
  .strict();

const migrationBatchBody = z
  .object({ filter: migrationFilter, ...migrationFields }, BODY_OBJECT)
  .strict();

/** A migration's own fields, as a request gives them. */
export interface MigrationFields {
  readonly toVersion: number;
  readonly stateMapping?: Record<string, string>;
  readonly contextPatch?: Record<string, unknown>;
  readonly unmappable?: UnmappablePolicy;
  readonly dryRun?: boolean;
  readonly reason?: string;
}

export const parseMigrateBody = (body: unknown) =>
  parseRequest(migrateBody, body, 'the request body') as MigrationFields;
export const parseMigrationBatchBody = (body: unknown) =>
  parseRequest(migrationBatchBody, body, 'the request body') as MigrationFields & {
    readonly filter: MigrationFilter;
  };
export const parseTerminateBody = (body: unknown) =>
  parseRequest(terminateBody, body, 'the request body') as { reason: string };
export const parseStartBody = (body: unknown) =>
  parseRequest(startBody, body, 'the request body') as { id?: string; input: unknown };
export const parseSendBody = (body: unknown) =>
  parseRequest(sendBody, body, 'the request body') as { type: string; payload: unknown };
export type ListRequest = ListInstancesQuery & {
  readonly waitFor?: { id: string; revision: number };
};
export const parseListQuery = (query: unknown): ListRequest =>
  parseRequest(listQuery, query, 'the query') as ListRequest;
