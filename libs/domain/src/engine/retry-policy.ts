import { RetryPolicy } from '../retry/retry';

/**
 * The engine's policy for an optimistic write that lost a race (without `If-Match`): at most 8
 * attempts, each retry after a random delay below a ceiling that doubles from 2 ms up to 100 ms
 * (full jitter: racing writers spread out at once).
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  initialDelayMs: 2,
  maxDelayMs: 100,
  jitter: 'full',
};
