import { liveEventSource } from '../../processing/event-source';
import { applyToGeneration, GenerationTaskDeps } from './generation-task';

/**
 * Keeps the active generation current, one job only: catch-up then live from its checkpoint,
 * whatever has arrived applied up to a batch per transaction. It waits while the projection may
 * not be written (stopped on a failure, or rebuilding after a version change) and starts again on
 * the new active generation after a swap; {@link suspend} holds it between batches.
 */
export class LiveProjection {
  private stopping = false;
  private suspended = 0;
  private run: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private idle: Promise<void> = Promise.resolve();
  private settle: (() => void) | undefined;

  constructor(private readonly deps: GenerationTaskDeps) {}

  start(): void {
    this.loop ??= this.work();
  }

  /** Stops writing (after the batch in flight) until {@link resume}; resolves once it has. */
  async suspend(): Promise<void> {
    this.suspended += 1;
    this.run?.abort();
    await this.idle;
  }

  resume(): void {
    this.suspended = Math.max(0, this.suspended - 1);
    this.run?.abort(); // wakes a wait, if it is waiting
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
      if (this.suspended > 0 || !state.liveWritable) {
        await state.changed(run.signal);
        continue;
      }
      this.idle = new Promise<void>((resolve) => (this.settle = resolve));
      // A swap or a failure changes the record: this run is over, the next one starts afresh.
      const unsubscribe = this.abortOnChange(run);
      try {
        await applyToGeneration(
          this.deps,
          state.current.activeGeneration,
          (after) =>
            liveEventSource(store, {
              ...(after ? { after } : {}),
              ...(definition.filter ? { filter: definition.filter } : {}),
              readAheadEvents: this.deps.batchSize * 4,
            }),
          run.signal,
          'live processing',
        );
      } finally {
        unsubscribe();
        this.settle?.();
      }
    }
  }

  private abortOnChange(run: AbortController): () => void {
    const { state } = this.deps;
    const generation = state.current.activeGeneration;
    const watch = new AbortController();
    void (async () => {
      while (!watch.signal.aborted && !run.signal.aborted) {
        await state.changed(watch.signal);
        if (state.current.activeGeneration !== generation || !state.liveWritable) run.abort();
      }
    })();
    return () => watch.abort();
  }
}
