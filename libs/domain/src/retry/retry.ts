import { realSleep, Sleep, sleepUnlessAborted } from '../ports/sleeper.port';

/**
 * How long to wait before each retry: exponential from `initialDelayMs`, doubling per retry, capped
 * at `maxDelayMs`, with jitter so that many clients retrying at once do not stampede.
 * `full` jitter waits a random time below the ceiling (best for contention: optimistic writes);
 * `equal` waits at least half of it (best for an outage: reconnects keep a steady pace).
 */
export interface BackoffPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: 'full' | 'equal';
}

/** A {@link BackoffPolicy} with a bound: at most `maxAttempts` attempts in all (Infinity: no bound). */
export interface RetryPolicy extends BackoffPolicy {
  readonly maxAttempts: number;
}

/**
 * The delay before retry number `retryNumber` (1 = the first retry) under `policy`; `random`
 * returns a number in [0, 1). Deterministic for a given `random`.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  retryNumber: number,
  random: () => number,
): number {
  const ceiling = Math.min(
    policy.maxDelayMs,
    policy.initialDelayMs * 2 ** Math.max(0, Math.min(retryNumber - 1, 52)),
  );
  return policy.jitter === 'full'
    ? Math.floor(random() * ceiling)
    : Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** Whether a failure is worth retrying: it says so itself (`retriable: true`, as EsflowError does). */
export function isRetriable(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { retriable?: unknown }).retriable === true
  );
}

/** What {@link retry} is told besides the policy. */
export interface RetryOptions {
  /** Which failures are retried (default {@link isRetriable}); any other is thrown at once. */
  readonly retriable?: (error: unknown) => boolean;
  /**
   * Whether this failure came after real progress (e.g. a session that published before it
   * failed): the count of attempts starts again, so a long-lived loop never runs out of them and
   * backs off from the shortest delay.
   */
  readonly madeProgress?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log or to report a `retrying` status. */
  readonly onRetry?: (error: unknown, retryNumber: number, delayMs: number) => void;
  /** Aborting it ends the wait at once and {@link retry} rethrows the last failure. */
  readonly signal?: AbortSignal;
  readonly sleep?: Sleep;
  readonly random?: () => number;
}

/**
 * Runs `operation` until it succeeds, retrying the failures `retriable` accepts after the
 * policy's back-off, at most `policy.maxAttempts` attempts in all; the last failure (or the first
 * one that is not retriable) is thrown unchanged. `operation` gets the attempt number (1-based).
 * The one retry loop of esflow: the engine's optimistic writes, the stores' reconnects and the
 * processors' sessions all declare a policy and use it.
 */
export async function retry<T>(
  policy: RetryPolicy,
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const retriable = options.retriable ?? isRetriable;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      failures = options.madeProgress?.(error) ? 1 : failures + 1;
      if (!retriable(error) || failures >= policy.maxAttempts || options.signal?.aborted)
        throw error;
      const delay = backoffDelay(policy, failures, random);
      options.onRetry?.(error, failures, delay);
      await sleepUnlessAborted(sleep, delay, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}
