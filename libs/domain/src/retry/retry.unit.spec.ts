import { describe, expect, it } from 'vitest';
import { backoffDelay, isRetriable, retry, RetryPolicy } from './retry';

const transient = (message = 'down') => Object.assign(new Error(message), { retriable: true });
const policy: RetryPolicy = { maxAttempts: 4, initialDelayMs: 10, maxDelayMs: 50, jitter: 'full' };

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, with full jitter below the ceiling', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(policy, n, () => 0.999))).toEqual([
      9, 19, 39, 49, 49,
    ]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
  });

  it('waits at least half the ceiling with equal jitter', () => {
    const equal = { ...policy, jitter: 'equal' as const };
    expect(backoffDelay(equal, 1, () => 0)).toBe(5);
    expect(backoffDelay(equal, 1, () => 1)).toBe(10);
    expect(backoffDelay(equal, 30, () => 0)).toBe(25);
  });

  it('stays finite for any retry number', () => {
    expect(backoffDelay(policy, 10_000, () => 0.5)).toBe(25);
  });
});

describe('retry', () => {
  const noSleep = { sleep: async () => {} };

  it('retries retriable failures and returns the first success', async () => {
    const attempts: number[] = [];
    const result = await retry(
      policy,
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw transient();
        return 'done';
      },
      noSleep,
    );
    expect(result).toBe('done');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('throws a failure that is not retriable at once', async () => {
    let calls = 0;
    await expect(
      retry(
        policy,
        async () => {
          calls++;
          throw new Error('bug');
        },
        noSleep,
      ),
    ).rejects.toThrow('bug');
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the last failure, having waited the policy delays', async () => {
    const waits: number[] = [];
    let calls = 0;
    await expect(
      retry(
        policy,
        async () => {
          calls++;
          throw transient(`failure ${calls}`);
        },
        { sleep: async (ms) => void waits.push(ms), random: () => 0.999 },
      ),
    ).rejects.toThrow('failure 4');
    expect(calls).toBe(4);
    expect(waits).toEqual([9, 19, 39]);
  });

  it('starts counting again after a failure that followed progress', async () => {
    const retryNumbers: number[] = [];
    let calls = 0;
    await expect(
      retry(
        { ...policy, maxAttempts: 3 },
        async () => {
          calls++;
          throw Object.assign(transient(), { progressed: calls % 2 === 0 });
        },
        {
          ...noSleep,
          madeProgress: (error) => (error as { progressed: boolean }).progressed,
          onRetry: (_error, n) => retryNumbers.push(n),
          // Stop the endless loop after a while.
          retriable: () => calls < 7,
        },
      ),
    ).rejects.toThrow();
    expect(retryNumbers).toEqual([1, 1, 2, 1, 2, 1]);
  });

  it('ends the wait when aborted, rethrowing the last failure', async () => {
    // A one-minute wait: without the abort the test would time out.
    const controller = new AbortController();
    const pending = retry(
      { ...policy, initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'equal' },
      async () => {
        throw transient('still down');
      },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toThrow('still down');
  });

  it('recognises retriable failures by their flag, across package boundaries', () => {
    expect(isRetriable(transient())).toBe(true);
    expect(isRetriable({ code: 'STORE_UNAVAILABLE', retriable: true })).toBe(true);
    expect(isRetriable(new Error('x'))).toBe(false);
    expect(isRetriable(undefined)).toBe(false);
  });
});
