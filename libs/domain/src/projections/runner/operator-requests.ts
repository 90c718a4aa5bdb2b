import { EventStore } from '../../event-store/event-store.port';
import { formatPosition } from '../../event-store/position';
import { Clock } from '../../ports/clock.port';
import { ProjectionDefinition } from '../projection';
import {
  ProjectionFailure,
  ProjectionRequestKind,
  ProjectionStatus,
  ReadModelStore,
} from '../read-model-store.port';
import { ProjectionState } from './projection-state';

/**
 * Carries out operator requests (rebuild, retry, skip) on one projection, each as one change of
 * its record. A request that does not apply now (a rebuild while one runs, a retry or skip while
 * nothing failed) is dropped: the api refuses such requests before queueing them.
 */
export class ProjectionOperations {
  constructor(
    private readonly deps: {
      readonly store: EventStore;
      readonly readModel: ReadModelStore;
      readonly definition: ProjectionDefinition;
      readonly state: ProjectionState;
      readonly clock: Clock;
    },
  ) {}

  /** Takes this projection's pending requests and carries them out, in the order asked. */
  async takeRequests(): Promise<void> {
    const { readModel, definition } = this.deps;
    for (const request of await readModel.takeRequests([definition.name]))
      await this.handle(request.kind);
  }

  async handle(kind: ProjectionRequestKind): Promise<void> {
    const { current } = this.deps.state;
    if (kind === ProjectionRequestKind.Rebuild && !current.rebuild)
      await this.beginRebuild('requested');
    else if (kind === ProjectionRequestKind.Retry && current.failure) await this.retry();
    else if (kind === ProjectionRequestKind.Skip && current.failure)
      await this.skip(current.failure);
  }

  /**
   * Starts replaying into a new shadow generation. Its total is counted by the store where it
   * can count (no read of the log); elsewhere it is unknown (null) until the rebuild is done.
   */
  async beginRebuild(reason: 'requested' | 'versionChanged'): Promise<void> {
    const { readModel, store, definition, state, clock } = this.deps;
    const generation = state.current.activeGeneration + 1;
    await readModel.createGeneration(definition.name, generation, definition.collections);
    const totalEvents = store.countEvents
      ? await store.countEvents(definition.filter ? { filter: definition.filter } : {})
      : null;
    await state.change(() => ({
      rebuild: { generation, reason, startedAt: clock.now().toISOString(), totalEvents },
      status: ProjectionStatus.Rebuilding,
    }));
  }

  /** Stops the projection on a poison event, naming it. */
  stopOn(failure: ProjectionFailure): Promise<void> {
    return this.deps.state.change(() => ({ status: ProjectionStatus.Stopped, failure }));
  }

  private retry(): Promise<void> {
    return this.deps.state.change((record) => ({
      failure: null,
      status: record.rebuild ? ProjectionStatus.Rebuilding : ProjectionStatus.CatchingUp,
    }));
  }

  /** Moves the checkpoint past the poison event without applying it, and records the skip. */
  private async skip(failure: ProjectionFailure): Promise<void> {
    const { store, readModel, definition, state } = this.deps;
    const generation = state.current.rebuild?.generation ?? state.current.activeGeneration;
    const checkpoint = await readModel.checkpoint(definition.name, generation);
    const [poison] = await store.readAll({
      ...(checkpoint ? { after: checkpoint.position } : {}),
      maxCount: 1,
      ...(definition.filter ? { filter: definition.filter } : {}),
    });
    const isThePoison =
      poison !== undefined && formatPosition(poison.position) === failure.position;
    await state.change(
      (record) => ({
        failure: null,
        status: record.rebuild ? ProjectionStatus.Rebuilding : ProjectionStatus.CatchingUp,
      }),
      async (tx) => {
        if (!isThePoison) return;
        await tx.saveCheckpoint(definition.name, generation, {
          position: poison.position,
          eventsApplied: (checkpoint?.eventsApplied ?? 0) + 1,
        });
        await tx.recordSkip(definition.name, failure, 'skipped by an operator');
      },
    );
  }
}
