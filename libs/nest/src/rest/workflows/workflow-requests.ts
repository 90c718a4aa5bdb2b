import { pageLimit } from '../http/paging';
import { z } from 'zod';
import { ListInstancesQuery, MAX_TERMINATION_REASON_LENGTH, ValidationIssue } from '@esflow/core';
import { malformed } from '../http/request-parsing';

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
