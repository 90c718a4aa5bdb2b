import { Sleep } from '../ports/sleeper.port';

/** Bounded retries of an optimistic write that lost a race, with full-jitter back-off. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * The engine's default retry policy: at most 8 attempts, each retry after a random delay below a
 * ceiling that doubles from 2 ms up to 100 ms.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 2,
  maxDelayMs: 100,
};

export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

export async function sleepBeforeRetry(
  policy: RetryPolicy,
  attempt: number,
  random: () => number,
  sleep: Sleep,
): Promise<void> {
  await sleep(backoffDelay(policy, attempt, random));
}
