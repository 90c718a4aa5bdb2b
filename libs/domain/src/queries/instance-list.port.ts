import { InstanceStatus } from '../workflow/event-metadata';

/**
 * One row of the instance list: an instance's definition version, state value, status, revision and
 * last update (ISO 8601) as the `instances` projection last applied them, so it may lag the
 * instance's stream.
 */
export interface InstanceSummary {
  readonly workflow: string;
  readonly id: string;
  readonly version: number;
  readonly state: unknown;
  readonly status: InstanceStatus;
  readonly revision: number;
  readonly updatedAt: string;
}

/**
 * Filters and paging for {@link InstanceList.list}: optional workflow, state and status filters
 * (all must match), at most `limit` items, after the cursor of a previous page.
 */
export interface ListInstancesQuery {
  readonly workflow?: string;
  /** A state value: a string, or the JSON of an object state. */
  readonly state?: string;
  readonly status?: string;
  readonly limit: number;
  /** Opaque cursor from a previous page's `next`. */
  readonly after?: string;
}

/** One page of the instance list, in its stable order (workflow, then id). */
export interface InstancePage {
  readonly items: readonly InstanceSummary[];
  /** Cursor for the next page, or null on the last page. */
  readonly next: string | null;
}

/** The instance list read model: filtered, in a stable order (workflow, then id), paged. */
export interface InstanceList {
  list(query: ListInstancesQuery): Promise<InstancePage>;
}
