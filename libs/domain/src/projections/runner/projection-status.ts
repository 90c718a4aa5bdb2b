import { EventStore } from '../../event-store/event-store.port';
import { formatPosition } from '../../event-store/position';
import { Clock } from '../../ports/clock.port';
import { measureLag } from '../../processing/lag';
import { ProcessorStatus } from '../../processing/processor';
import { ProjectionDefinition } from '../projection';
import { ProjectionRecord, ProjectionStatus, ReadModelStore } from '../read-model-store.port';
import { ProjectionState } from './projection-state';

/**
 * A projection's status, one job only: measures its lag against the log (exact where the store
 * counts) and stores status, lag and heartbeat with its record, so that every process (the api,
 * the CLI) reads the same; and gives the status in the shape of every processor's.
 */
export class ProjectionStatusReporter {
  private position: string | null = null;

  constructor(
    private readonly deps: {
      readonly store: EventStore;
      readonly readModel: ReadModelStore;
      readonly definition: ProjectionDefinition;
      readonly clock: Clock;
    },
  ) {}

  /** Measures and stores the status of the projection whose record `state` owns. */
  async report(state: ProjectionState): Promise<void> {
    const { store, readModel, definition, clock } = this.deps;
    const checkpoint = await readModel.checkpoint(definition.name, state.current.activeGeneration);
    this.position = checkpoint ? formatPosition(checkpoint.position) : null;
    const { events, seconds } = await measureLag(store, {
      after: checkpoint?.position,
      ...(definition.filter ? { filter: definition.filter } : {}),
      now: clock.now(),
    });
    await state.change((record) => ({
      lag: { events, seconds },
      status: record.failure
        ? ProjectionStatus.Stopped
        : record.rebuild
          ? ProjectionStatus.Rebuilding
          : events === 0
            ? ProjectionStatus.Live
            : ProjectionStatus.CatchingUp,
      heartbeatAt: clock.now().toISOString(),
    }));
  }

  /** The projection as a processor status (`waitingForLease` before it first held the lease). */
  status(record: ProjectionRecord | undefined): ProcessorStatus {
    const failure = record?.failure ?? null;
    return {
      name: this.deps.definition.name,
      kind: 'projection',
      state: record?.status ?? 'waitingForLease',
      position: this.position,
      lag: record?.lag ?? null,
      failing: failure !== null,
      ...(failure ? { lastError: { code: 'PROJECTION_STOPPED', message: failure.message } } : {}),
    };
  }
}
