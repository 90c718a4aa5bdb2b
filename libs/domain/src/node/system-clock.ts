import { Clock } from '../ports/clock.port';

export const systemClock: Clock = { now: () => new Date() };
