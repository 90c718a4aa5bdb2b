/** Waits without blocking; injected so retry back-off can be driven by tests. */
export type Sleep = (milliseconds: number) => Promise<void>;

/** The real {@link Sleep}: resolves after `milliseconds` on a `setTimeout` timer. */
export const realSleep: Sleep = (milliseconds) =>
  new Promise((resolve) => setTimeout(resolve, milliseconds));
