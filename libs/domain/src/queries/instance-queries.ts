import { ErrorCode } from '../errors/esflow-error';
import { ok, reject, Result } from '../errors/rejection';
import { InstanceRepository } from '../engine/instance-repository';
import { EventStore } from '../event-store/event-store.port';
import { DecodedEvent, InstanceView, viewOf } from '../workflow/instance-state';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { streamNameOf } from '../workflow/workflow-definition';

/**
 * One recorded event of an instance, as {@link InstanceQueries.history} returns it: revision, type,
 * payload decoded to the current schema version, esflow metadata and the store's record time
 * (ISO 8601).
 */
export interface HistoryEntry {
  readonly revision: number;
  readonly type: string;
  /** The payload decoded with the current schema (older versions resolved to it). */
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly recordedAt: string;
}

function historyEntryOf({ recorded, payload }: DecodedEvent): HistoryEntry {
  return {
    revision: recorded.revision,
    type: recorded.type,
    data: payload,
    metadata: recorded.metadata,
    recordedAt: recorded.recordedAt.toISOString(),
  };
}

/** Reads of a single instance: its current view and its decoded history. */
export class InstanceQueries {
  constructor(
    private readonly store: EventStore,
    private readonly catalog: WorkflowCatalog,
    private readonly instances: InstanceRepository,
  ) {}

  async get(workflow: string, id: string): Promise<Result<InstanceView>> {
    const missing = this.checkWorkflow(workflow);
    if (missing) return missing as Result<InstanceView>;
    const state = await this.instances.load(workflow, id);
    return state ? ok(viewOf(state)) : this.notFound(workflow, id);
  }

  async history(workflow: string, id: string): Promise<Result<readonly HistoryEntry[]>> {
    const missing = this.checkWorkflow(workflow);
    if (missing) return missing as Result<readonly HistoryEntry[]>;
    const events = await this.store.readStream(streamNameOf(workflow, id));
    if (events.length === 0) return this.notFound(workflow, id);
    const definition = this.instances.definitionOf(events[0]!);
    const decoded = await this.instances.decodeAll(definition, events);
    return ok(decoded.map(historyEntryOf));
  }

  /**
   * One page of an instance's events, decoded: `maxCount` events from `fromRevision` (inclusive)
   * in `direction` (default: the newest first), and the stream's last revision. Reads only the
   * page and the start event, so a page of a long stream costs what a page of a short one does.
   */
  async historyPage(
    workflow: string,
    id: string,
    page: {
      readonly fromRevision?: number;
      readonly maxCount: number;
      readonly direction?: 'forwards' | 'backwards';
    },
  ): Promise<Result<{ readonly events: readonly HistoryEntry[]; readonly lastRevision: number }>> {
    const missing = this.checkWorkflow(workflow);
    if (missing) return missing as Result<never>;
    const stream = streamNameOf(workflow, id);
    const [start] = await this.store.readStream(stream, { maxCount: 1 });
    if (!start) return this.notFound(workflow, id);
    const [last] = await this.store.readStream(stream, { direction: 'backwards', maxCount: 1 });
    const direction = page.direction ?? 'backwards';
    const events = await this.store.readStream(stream, {
      direction,
      maxCount: page.maxCount,
      ...(page.fromRevision === undefined ? {} : { fromRevision: page.fromRevision }),
    });
    const decoded = await this.instances.decodeAll(this.instances.definitionOf(start), events);
    return ok({
      events: decoded.map(historyEntryOf),
      lastRevision: last!.revision,
    });
  }

  private checkWorkflow(workflow: string): Result<never> | undefined {
    if (this.catalog.latest(workflow)) return undefined;
    return reject({
      code: ErrorCode.WorkflowNotFound,
      message: `no workflow named ${workflow}; known: ${this.catalog.names().join(', ')}`,
      workflow,
    });
  }

  private notFound<T>(workflow: string, id: string): Result<T> {
    return reject({
      code: ErrorCode.InstanceNotFound,
      message: `${workflow} instance ${id} does not exist`,
      workflow,
      id,
    });
  }
}
