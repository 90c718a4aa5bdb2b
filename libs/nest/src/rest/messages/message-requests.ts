import { z } from 'zod';
import { MAX_MESSAGE_TTL_SECONDS, MESSAGE_STATUSES, MessageStatus } from '@esflow/core';
import { pageLimit } from '../http/paging';
import { parseRequest } from '../workflows/workflow-requests';

// The body of `POST /messages`, the operators' bodies and the list's query, checked strictly (an
// unknown member is MALFORMED_REQUEST, naming it) before anything is read or written. The ids'
// own rules (characters, length) and the payload's schema are the correlator's to check.

/** The longest reason of a discard, in characters. */
export const MAX_DISCARD_REASON_LENGTH = 2000;
/** The longest `by` of an operator action, in characters. */
export const MAX_OPERATOR_LENGTH = 200;

const object = <T extends z.ZodRawShape>(shape: T) =>
  z
    .object(shape, {
      invalid_type_error: 'the body must be a JSON object',
      required_error: 'the body must be a JSON object',
    })
    .strict();

const requiredText = (what: string) =>
  z.string({ required_error: `is required: ${what}`, invalid_type_error: 'must be a string' });

const messageBody = object({
  name: requiredText('the message name a workflow declares, e.g. PaymentReceived').min(
    1,
    'must not be empty',
  ),
  correlationKey: requiredText(
    'the key value the message is matched by (for a start message: the new instance id)',
  ),
  messageId: requiredText('the sender\'s id of this message; a repeat is answered "duplicate"'),
  payload: z.record(z.unknown(), {
    required_error: 'is required: the fields of the event the message becomes',
    invalid_type_error: 'must be a JSON object (the fields of the event the message becomes)',
  }),
  ttlSeconds: z
    .number({ invalid_type_error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1')
    .max(MAX_MESSAGE_TTL_SECONDS, `must be at most ${MAX_MESSAGE_TTL_SECONDS}`)
    .optional(),
});

const by = z
  .string({ invalid_type_error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(MAX_OPERATOR_LENGTH, `must be at most ${MAX_OPERATOR_LENGTH} characters`)
  .optional();

const retryBody = object({ by });
const discardBody = object({
  reason: requiredText('why it is discarded, for the record')
    .min(1, 'must not be empty')
    .max(MAX_DISCARD_REASON_LENGTH, `must be at most ${MAX_DISCARD_REASON_LENGTH} characters`),
  by,
});

const messageQuery = z
  .object({
    status: z.enum(MESSAGE_STATUSES as [MessageStatus, ...MessageStatus[]]).optional(),
    name: z.string().optional(),
    correlationKey: z.string().optional(),
    workflow: z.string().optional(),
    instance_id: z.string().optional(),
    limit: pageLimit,
    after: z.string().optional(),
  })
  .strict();

/** `POST /messages`. */
export type MessageCall = z.infer<typeof messageBody>;
/** `POST /messages/{messageId}/retry`. */
export type RetryMessageCall = z.infer<typeof retryBody>;
/** `POST /messages/{messageId}/discard`. */
export type DiscardMessageCall = z.infer<typeof discardBody>;
/** `GET /messages`. */
export type MessageListCall = z.infer<typeof messageQuery>;

/** The body of `POST /messages`, checked; MALFORMED_REQUEST naming each broken field. */
export const parseMessageBody = (body: unknown) =>
  parseRequest(messageBody, body, 'the request body') as MessageCall;
/** The body of `POST /messages/{messageId}/retry` (none is `{}`), checked likewise. */
export const parseRetryMessageBody = (body: unknown) =>
  parseRequest(retryBody, body ?? {}, 'the request body') as RetryMessageCall;
/** The body of `POST /messages/{messageId}/discard`, checked likewise. */
export const parseDiscardMessageBody = (body: unknown) =>
  parseRequest(discardBody, body, 'the request body') as DiscardMessageCall;
/** The query of `GET /messages`, checked likewise (an unknown parameter too). */
export const parseMessageQuery = (query: unknown) =>
  parseRequest(messageQuery, query, 'the query') as MessageListCall;
