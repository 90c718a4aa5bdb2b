import type { Clock, Sleep } from '@esflow/core';

/**
 * A clock that moves only when a test moves it, for timers: give it to the engine (`clock`) and
 * to the timer service (`clock` and `sleep`). `sleep(ms)` resolves once the clock has been
 * advanced by at least `ms` from when it was called, never on its own, so a test decides
 * exactly when each timer falls due.
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly sleepers: { readonly until: number; readonly wake: () => void }[] = [];

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  /** A {@link Sleep} driven by this clock. */
  readonly sleep: Sleep = (milliseconds) =>
    new Promise<void>((resolve) => {
      const until = this.current + Math.max(0, milliseconds);
      if (until <= this.current) return resolve();
      this.sleepers.push({ until, wake: resolve });
    });

  /** Moves the clock on by `milliseconds` and wakes every sleeper whose time has come. */
  advance(milliseconds: number): Date {
    return this.set(new Date(this.current + milliseconds));
  }

  /** Moves the clock to `instant` (never back) and wakes every sleeper whose time has come. */
  set(instant: Date | string): Date {
    this.current = Math.max(this.current, new Date(instant).getTime());
    for (let i = this.sleepers.length - 1; i >= 0; i--) {
      const sleeper = this.sleepers[i]!;
      if (sleeper.until > this.current) continue;
      this.sleepers.splice(i, 1);
      sleeper.wake();
    }
    return this.now();
  }

  /** How many sleeps are waiting for the clock to move. */
  get waiting(): number {
    return this.sleepers.length;
  }
}
