import { AllStreamFilter, EventStore, GlobalPosition } from '../event-store/event-store.port';

/** How far a processor is behind the log: events still to apply, and the age of the oldest. */
export interface Lag {
  readonly events: number;
  readonly seconds: number;
}

/** Where the store cannot count (no `countEvents`), lag is counted by reading, up to this many. */
export const LAG_COUNT_LIMIT = 10_000;

/**
 * The lag of a processor at `after` (its checkpoint) over the events matching `filter`. Exact,
 * at any backlog, where the store counts (`countEvents`: SQLite, memory); elsewhere counted by
 * reading up to {@link LAG_COUNT_LIMIT} events (`exact: false` when the bound was reached). The
 * age is that of the oldest event not applied yet, one read either way.
 */
export async function measureLag(
  store: EventStore,
  options: {
    readonly after: GlobalPosition | undefined;
    readonly filter?: AllStreamFilter;
    readonly now: Date;
  },
): Promise<Lag & { readonly exact: boolean }> {
  const range = {
    ...(options.after ? { after: options.after } : {}),
    ...(options.filter ? { filter: options.filter } : {}),
  };
  const [oldest] = await store.readAll({ ...range, maxCount: 1 });
  if (!oldest) return { events: 0, seconds: 0, exact: true };
  const seconds =
    Math.max(0, Math.round((options.now.getTime() - oldest.recordedAt.getTime()) / 100)) / 10;
  if (store.countEvents) return { events: await store.countEvents(range), seconds, exact: true };
  const counted = (await store.readAll({ ...range, maxCount: LAG_COUNT_LIMIT })).length;
  return { events: counted, seconds, exact: counted < LAG_COUNT_LIMIT };
}
