import { Clock } from '../../ports/clock.port';
import { ProjectionDefinition } from '../projection';
import {
  ProjectionRecord,
  ProjectionStatus,
  ReadModelStore,
  ReadModelTransaction,
} from '../read-model-store.port';

/**
 * The one owner of a projection's persisted record (status, generations, rebuild, failure): every
 * change goes through {@link ProjectionState.change}, one at a time and in the order asked, each
 * stored in one read-model transaction (with whatever else belongs with it) before it is seen.
 * The live writer, the rebuild and the operator requests read it and wait for its changes.
 */
export class ProjectionState {
  private changes: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly readModel: ReadModelStore,
    private record: ProjectionRecord,
  ) {}

  /**
   * The stored record, or a new one (generation 1, catching up) for a projection that never ran.
   * Makes sure the tables of the active and the rebuilding generation exist.
   */
  static async load(
    readModel: ReadModelStore,
    definition: ProjectionDefinition,
    clock: Clock,
  ): Promise<ProjectionState> {
    const stored = await readModel.record(definition.name);
    const record: ProjectionRecord = stored ?? {
      name: definition.name,
      version: definition.version,
      activeGeneration: 1,
      status: ProjectionStatus.CatchingUp,
      failure: null,
      rebuild: null,
      lag: null,
      heartbeatAt: clock.now().toISOString(),
    };
    await readModel.createGeneration(
      definition.name,
      record.activeGeneration,
      definition.collections,
    );
    if (record.rebuild)
      await readModel.createGeneration(
        definition.name,
        record.rebuild.generation,
        definition.collections,
      );
    const state = new ProjectionState(readModel, record);
    if (!stored) await state.change(() => ({}));
    return state;
  }

  /** The record as last stored. */
  get current(): ProjectionRecord {
    return this.record;
  }

  /**
   * Applies `edit` to the record as it is when the change's turn comes, and stores the result,
   * with `alongside` in the same transaction. Resolves once stored and announced.
   */
  change(
    edit: (record: ProjectionRecord) => Partial<ProjectionRecord>,
    alongside?: (tx: ReadModelTransaction) => Promise<void>,
  ): Promise<void> {
    const next = this.changes.then(async () => {
      const record = { ...this.record, ...edit(this.record) };
      await this.readModel.transact(async (tx) => {
        await alongside?.(tx);
        await tx.saveRecord(record);
      });
      this.record = record;
      for (const listener of this.listeners) listener();
    });
    this.changes = next.catch(() => undefined);
    return next;
  }

  /** Resolves at the next change, or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.listeners.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.listeners.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Whether new events may be written to the active generation now: not while the projection is
   * stopped on a failure, nor while a changed version rebuilds it (new code must not write into
   * the old copy).
   */
  get liveWritable(): boolean {
    return this.record.failure === null && this.record.rebuild?.reason !== 'versionChanged';
  }
}
