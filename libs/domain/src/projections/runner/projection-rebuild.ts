import { catchUpEventSource } from '../../processing/event-source';
import { applyToGeneration, GenerationTaskDeps } from './generation-task';

/** What {@link ProjectionRebuild} works with: the generation task's, and where to hand over. */
export interface ProjectionRebuildDeps extends GenerationTaskDeps {
  /** The shadow generation has caught up with the log: swap it in. */
  readonly onCaughtUp: (generation: number) => Promise<void>;
}

/**
 * Replays the log into the shadow generation of a rebuild, one job only: from the rebuild's own
 * checkpoint (so a restarted process resumes it), a batch per transaction, until it has caught up
 * with the log; then it hands the generation over to be swapped in. Idle while no rebuild is
 * asked for, and while the projection is stopped on a failure.
 */
export class ProjectionRebuild {
  private stopping = false;
  private run: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: ProjectionRebuildDeps) {}

  start(): void {
    this.loop ??= this.work();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.run?.abort();
    await this.loop;
  }

  private async work(): Promise<void> {
    const { state, store, definition } = this.deps;
    while (!this.stopping) {
      const run = new AbortController();
      this.run = run;
      const rebuild = state.current.rebuild;
      if (!rebuild || state.current.failure) {
        await state.changed(run.signal);
        continue;
      }
      const caughtUp = await applyToGeneration(
        this.deps,
        rebuild.generation,
        (after) =>
          catchUpEventSource(store, {
            ...(after ? { after } : {}),
            ...(definition.filter ? { filter: definition.filter } : {}),
          }),
        run.signal,
        'rebuild step',
      );
      if (!caughtUp) continue;
      try {
        await this.deps.onCaughtUp(rebuild.generation);
      } catch (error) {
        this.deps.onError(`projection ${definition.name}: the swap failed`, error);
        await this.deps.sleep(this.deps.pauseMs);
      }
    }
  }
}
