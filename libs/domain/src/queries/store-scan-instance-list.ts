import { EventStore, RecordedEvent } from '../event-store/event-store.port';
import { readEsflowMetadata } from '../workflow/event-metadata';
import {
  InstanceList,
  InstancePage,
  InstanceSummary,
  ListInstancesQuery,
} from './instance-list.port';

const PAGE = 1_000;

/**
 * The instance list computed by scanning the whole global log: correct, but O(all events) per
 * call. It stands in until the projector's read model serves `GET /workflows`.
 */
export class StoreScanInstanceList implements InstanceList {
  constructor(
    private readonly store: EventStore,
    private readonly workflows: () => readonly string[],
  ) {}

  async list(query: ListInstancesQuery): Promise<InstancePage> {
    const names = query.workflow ? [query.workflow] : this.workflows();
    const latest = new Map<string, RecordedEvent>();
    const filter = { streamNamePrefixes: names.map((name) => `${name}-`) };
    for (let after: RecordedEvent['position'] | undefined; ; ) {
      const page = await this.store.readAll({
        ...(after ? { after } : {}),
        maxCount: PAGE,
        filter,
      });
      for (const event of page) latest.set(event.streamName, event);
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.position;
    }
    const summaries = [...latest.values()]
      .map(summarise)
      .filter((s) => query.state === undefined || stateMatches(s.state, query.state))
      .filter((s) => query.status === undefined || s.status === query.status)
      .sort((a, b) => cursorOf(a).localeCompare(cursorOf(b)));
    const from =
      query.after === undefined ? 0 : summaries.findIndex((s) => cursorOf(s) > query.after!);
    const start = from === -1 ? summaries.length : from;
    const items = summaries.slice(start, start + query.limit);
    const hasMore = start + query.limit < summaries.length;
    return { items, next: hasMore ? cursorOf(items[items.length - 1]!) : null };
  }
}

function summarise(event: RecordedEvent): InstanceSummary {
  const metadata = readEsflowMetadata(event.metadata);
  return {
    workflow: metadata.workflow,
    id: metadata.instanceId,
    version: metadata.definitionVersion,
    state: metadata.stateAfter,
    status: metadata.statusAfter,
    revision: event.revision,
    updatedAt: event.recordedAt.toISOString(),
  };
}

export function stateMatches(state: unknown, wanted: string): boolean {
  return typeof state === 'string' ? state === wanted : JSON.stringify(state) === wanted;
}

/** Neither workflow names nor instance ids contain `/`, so `workflow/id` orders and splits cleanly. */
const cursorOf = (summary: InstanceSummary) => `${summary.workflow}/${summary.id}`;
