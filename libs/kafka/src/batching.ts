import { OutgoingRecord } from './event-headers';

/**
 * Limits of one bridge transaction. A batch takes pending events in store order until either limit
 * is reached, and always at least one event.
 */
export interface BatchLimits {
  /** Most events in one transaction. */
  readonly maxEvents: number;
  /** Most value bytes in one transaction; a single larger event still forms a batch alone. */
  readonly maxBytes: number;
}

/** The bridge's default batch limits: 500 events or 512 KiB of values per transaction. */
export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxEvents: 500, maxBytes: 512 * 1024 };

/**
 * How many of the pending events (in store order) go into the next transaction: as many as fit
 * both limits, at least one when any is pending. Order is never changed, so per-instance
 * (per-key) order on Kafka is the store's order.
 */
export function nextBatchSize(
  pending: readonly { readonly data: Uint8Array }[],
  limits: BatchLimits,
): number {
  let bytes = 0;
  let count = 0;
  for (const event of pending) {
    if (count >= limits.maxEvents) break;
    bytes += event.data.byteLength;
    if (count > 0 && bytes > limits.maxBytes) break;
    count++;
  }
  return count;
}

/** Records grouped per topic, keeping their order within each topic. */
export function groupByTopic(
  records: readonly OutgoingRecord[],
): { topic: string; records: OutgoingRecord[] }[] {
  const byTopic = new Map<string, OutgoingRecord[]>();
  for (const record of records) {
    const list = byTopic.get(record.topic);
    if (list) list.push(record);
    else byTopic.set(record.topic, [record]);
  }
  return [...byTopic].map(([topic, list]) => ({ topic, records: list }));
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000 };

/**
 * Delay before attempt `attempt` (1 = the first retry): exponential from `initialMs`, capped at
 * `maxMs`, with "equal jitter" (half fixed, half random) so restarted bridges do not stampede.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const exponential = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

/** The lag of the bridge behind the store: pending events and the age of the oldest one. */
export function lagOf(
  pending: readonly { readonly recordedAt: Date }[],
  nowMs: number,
): { events: number; seconds: number } {
  const oldest = pending[0];
  if (!oldest) return { events: 0, seconds: 0 };
  return {
    events: pending.length,
    seconds: Math.max(0, Math.round((nowMs - oldest.recordedAt.getTime()) / 100) / 10),
  };
}
