import { InstanceStatus } from '../workflow/event-metadata';

export interface InstanceSummary {
  readonly workflow: string;
  readonly id: string;
  readonly version: number;
  readonly state: unknown;
  readonly status: InstanceStatus;
  readonly revision: number;
  readonly updatedAt: string;
}

export interface ListInstancesQuery {
  readonly workflow?: string;
  /** A state value: a string, or the JSON of an object state. */
  readonly state?: string;
  readonly status?: string;
  readonly limit: number;
  /** Opaque cursor from a previous page's `next`. */
  readonly after?: string;
}

export interface InstancePage {
  readonly items: readonly InstanceSummary[];
  /** Cursor for the next page, or null on the last page. */
  readonly next: string | null;
}

/** The instance list read model: filtered, in a stable order (workflow, then id), paged. */
export interface InstanceList {
  list(query: ListInstancesQuery): Promise<InstancePage>;
}
