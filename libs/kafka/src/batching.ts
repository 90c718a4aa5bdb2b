import type { BatchLimits as CoreBatchLimits } from '@esflow/core';
import { OutgoingRecord } from './event-headers';

/**
 * Limits of one bridge transaction. A batch takes pending events in store order until either limit
 * is reached, and always at least one event.
 */
export interface BatchLimits extends CoreBatchLimits {
  /** Most value bytes in one transaction; a single larger event still forms a batch alone. */
  readonly maxBytes: number;
}

/** The bridge's default batch limits: 500 events or 512 KiB of values per transaction. */
export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxEvents: 500, maxBytes: 512 * 1024 };

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
