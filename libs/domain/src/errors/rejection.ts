import type { TimerMove } from '../workflow/instance-state';
import { ErrorCode, ValidationIssue } from './esflow-error';

/**
 * An expected business outcome that is not success: returned as a value by use-case handlers,
 * never thrown. The API maps `code` to an HTTP status; nothing was written when one is returned.
 */
export type Rejection =
  | { readonly code: typeof ErrorCode.InvalidId; readonly message: string; readonly path: string }
  | {
      readonly code: typeof ErrorCode.WorkflowNotFound;
      readonly message: string;
      readonly workflow: string;
    }
  | {
      readonly code: typeof ErrorCode.InstanceNotFound;
      readonly message: string;
      readonly workflow: string;
      readonly id: string;
    }
  | {
      readonly code: typeof ErrorCode.InstanceAlreadyExists;
      readonly message: string;
      readonly workflow: string;
      readonly id: string;
    }
  | {
      readonly code: typeof ErrorCode.SchemaValidationFailed;
      readonly message: string;
      readonly errors: readonly ValidationIssue[];
    }
  | {
      readonly code: typeof ErrorCode.UnknownEventType;
      readonly message: string;
      readonly eventType: string;
      readonly knownTypes: readonly string[];
    }
  | {
      readonly code: typeof ErrorCode.RevisionConflict;
      readonly message: string;
      readonly expectedRevision: number;
      readonly actualRevision: number;
    }
  | {
      readonly code: typeof ErrorCode.IdempotencyKeyReused;
      readonly message: string;
      readonly idempotencyKey: string;
    }
  | {
      readonly code: typeof ErrorCode.PayloadTooLarge;
      readonly message: string;
      readonly eventType: string;
      readonly eventBytes: number;
      readonly limitBytes: number;
    }
  | {
      readonly code: typeof ErrorCode.InstanceTooLarge;
      readonly message: string;
      readonly instanceBytes: number;
      readonly limitBytes: number;
    }
  | {
      readonly code: typeof ErrorCode.EventNotAccepted;
      readonly message: string;
      readonly eventType: string;
      readonly state: unknown;
      readonly acceptedEvents: readonly string[];
      /** When a timer moved the instance on last: the loser of a race is told who won. */
      readonly movedByTimer?: TimerMove;
    }
  | {
      readonly code: typeof ErrorCode.InstanceNotRunning;
      readonly message: string;
      readonly workflow: string;
      readonly id: string;
      /** Its status: completed, cancelled, failed or terminated. */
      readonly instanceStatus: string;
      readonly state: unknown;
    }
  | {
      readonly code: typeof ErrorCode.MalformedRequest;
      readonly message: string;
      readonly errors: readonly ValidationIssue[];
    }
  | {
      readonly code: typeof ErrorCode.MigrationRefused;
      readonly message: string;
      readonly fromVersion: number;
      readonly toVersion: number;
      /** What cannot be migrated, by where it is: `toVersion`, `stateMapping.<path>`, `context.<field>`, `timers.<id>`... */
      readonly errors: readonly ValidationIssue[];
    }
  | {
      readonly code: typeof ErrorCode.UnknownMessage;
      readonly message: string;
      readonly name: string;
      readonly knownMessages: readonly string[];
    }
  | {
      readonly code: typeof ErrorCode.MessageNotFound;
      readonly message: string;
      readonly messageId: string;
    }
  | {
      readonly code: typeof ErrorCode.MessageSettled;
      readonly message: string;
      readonly messageId: string;
      /** Where the message stands: delivered, started, duplicate or discarded. */
      readonly messageStatus: string;
    };

/**
 * The outcome of a use case: `{ ok: true, value }`, or `{ ok: false, rejection }` for an expected
 * business outcome. Faults are thrown as {@link EsflowError}, never returned.
 */
export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly rejection: Rejection };

/** A successful {@link Result} holding `value`. */
export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
/**
 * A failed {@link Result} holding `rejection`; a handler returns one only when it has written
 * nothing.
 */
export const reject = <T>(rejection: Rejection): Result<T> => ({ ok: false, rejection });
