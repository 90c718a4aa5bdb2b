import { Clock } from '../../ports/clock.port';
import { Sleep } from '../../ports/sleeper.port';
import {
  InstanceList,
  InstancePage,
  InstanceSummary,
  ListInstancesQuery,
} from '../../queries/instance-list.port';
import { InstanceStatus } from '../../workflow/event-metadata';
import { ReadModelDocument } from '../projection';
import { ReadModelStore } from '../read-model-store.port';

/** How many instances of a workflow are in one state value (the `workflow_stats` projection). */
export interface StateCount {
  readonly workflow: string;
  readonly state: unknown;
  readonly count: number;
}

/**
 * How many instances, and how many of them still running, use one version of a workflow definition
 * (the `definition_versions` projection).
 */
export interface DefinitionVersionUse {
  readonly workflow: string;
  readonly version: number;
  readonly instances: number;
  readonly running: number;
}

const toSummary = (doc: ReadModelDocument): InstanceSummary => ({
  workflow: doc['workflow'] as string,
  id: doc['id'] as string,
  version: doc['version'] as number,
  state: doc['state'],
  status: doc['status'] as InstanceStatus,
  revision: doc['revision'] as number,
  updatedAt: doc['updatedAt'] as string,
});

/**
 * Queries over the built-in projections' read models. Eventually consistent: a write is seen
 * once the projector has applied it; `waitForRevision` lets a client read its own write.
 */
export class ReadModelQueries implements InstanceList {
  constructor(
    private readonly readModel: ReadModelStore,
    private readonly clock: Clock,
    private readonly sleep: Sleep,
  ) {}

  async list(query: ListInstancesQuery): Promise<InstancePage> {
    const where: Record<string, string> = {};
    if (query.workflow !== undefined) where['workflow'] = query.workflow;
    if (query.status !== undefined) where['status'] = query.status;
    if (query.state !== undefined) where['stateKey'] = query.state;
    const docs = await this.readModel.find('instances', 'instances', {
      where,
      ...(query.after === undefined ? {} : { after: query.after }),
      limit: query.limit + 1,
    });
    const items = docs.slice(0, query.limit).map(toSummary);
    const last = items[items.length - 1];
    return {
      items,
      next: docs.length > query.limit && last ? `${last.workflow}/${last.id}` : null,
    };
  }

  /** The instance's row as the read model has it, or undefined. */
  async instance(workflow: string, id: string): Promise<InstanceSummary | undefined> {
    const [doc] = await this.readModel.find('instances', 'instances', {
      where: { workflow, id },
      limit: 1,
    });
    return doc ? toSummary(doc) : undefined;
  }

  /**
   * Waits, up to `timeoutMs`, until the read model has applied `revision` of the instance.
   * Returns whether it did (false: the caller's answer may be stale).
   */
  async waitForRevision(
    workflow: string,
    id: string,
    revision: number,
    timeoutMs: number,
  ): Promise<boolean> {
    const deadline = this.clock.now().getTime() + timeoutMs;
    for (;;) {
      const row = await this.instance(workflow, id);
      if (row && row.revision >= revision) return true;
      if (this.clock.now().getTime() >= deadline) return false;
      await this.sleep(20);
    }
  }

  async stateCounts(): Promise<StateCount[]> {
    const docs = await this.readModel.find('workflow_stats', 'state_counts', { limit: 100_000 });
    return docs.map((doc) => ({
      workflow: doc['workflow'] as string,
      state: doc['state'],
      count: doc['count'] as number,
    }));
  }

  async definitionVersions(): Promise<DefinitionVersionUse[]> {
    const docs = await this.readModel.find('definition_versions', 'versions', { limit: 100_000 });
    return docs.map((doc) => ({
      workflow: doc['workflow'] as string,
      version: doc['version'] as number,
      instances: doc['instances'] as number,
      running: doc['running'] as number,
    }));
  }
}
