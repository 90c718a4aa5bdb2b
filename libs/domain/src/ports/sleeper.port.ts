/** Waits without blocking; injected so retry back-off can be driven by tests. */
export type Sleep = (milliseconds: number) => Promise<void>;

/** The real {@link Sleep}: resolves after `milliseconds` on a `setTimeout` timer. */
export const realSleep: Sleep = (milliseconds) =>
  new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Waits `ms` with `sleep`, or less: resolves at once when `signal` aborts. */
export function sleepUnlessAborted(sleep: Sleep, ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return sleep(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void sleep(ms).then(done);
  });
}

/**
 * Waits `ms` on a real timer, or less: resolves at once when `signal` aborts, and then clears
 * the timer, so nothing is left pending (a process can exit as soon as its work is done).
 */
export function realSleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
