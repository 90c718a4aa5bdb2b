import { Clock } from '@esflow/domain';

export const systemClock: Clock = { now: () => new Date() };
