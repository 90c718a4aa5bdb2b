import { Clock } from '../ports/clock.port';

/** The wall clock: `now()` is `new Date()`. */
export const systemClock: Clock = { now: () => new Date() };
