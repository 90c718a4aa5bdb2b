import { backoffDelay, RetryPolicy } from '../retry/retry';

/**
 * How a command type is retried: at most `maxAttempts` attempts in all, the wait before retry
 * n exponential from `initialDelayMs` (doubling, capped at `maxDelayMs`) with jitter. Declared per
 * command type in `defineWorkflow({ retries })`; the same policy governs in-process handlers and
 * external workers.
 */
export type CommandRetryPolicy = RetryPolicy;

/**
 * Five attempts, 1 s doubling to 60 s between them, with equal jitter (at least half the wait):
 * the policy of a command type that declares none.
 */
export const DEFAULT_COMMAND_RETRY: CommandRetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
  jitter: 'equal',
};

/** What comes after a failed attempt: another one at `retryAt`, or none (the failure is final). */
export type AfterFailure = { readonly retryAt: Date } | { readonly exhausted: true };

/**
 * What comes after attempt number `attempts` (1-based) failed under `policy`: a retry after the
 * policy's back-off, or, once `attempts` reached `maxAttempts` (or the failure is not retryable),
 * none. `random` returns a number in [0, 1). Deterministic for a given `random`.
 */
export function afterFailedAttempt(
  policy: CommandRetryPolicy,
  attempts: number,
  now: Date,
  random: () => number,
  retryable = true,
): AfterFailure {
  if (!retryable || attempts >= policy.maxAttempts) return { exhausted: true };
  return { retryAt: new Date(now.getTime() + backoffDelay(policy, attempts, random)) };
}

/** The retry policy of `commandType` in a workflow definition: its declared one, or the default. */
export function commandRetryPolicyOf(
  definition: { readonly retries: Readonly<Record<string, CommandRetryPolicy>> },
  commandType: string,
): CommandRetryPolicy {
  return definition.retries[commandType] ?? DEFAULT_COMMAND_RETRY;
}
