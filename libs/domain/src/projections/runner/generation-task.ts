import { EventStore, GlobalPosition, RecordedEvent } from '../../event-store/event-store.port';
import { Sleep } from '../../ports/sleeper.port';
import { EventSource } from '../../processing/event-source';
import { runProcessor } from '../../processing/processor';
import { ProjectionDefinition } from '../projection';
import { ProjectionFailure, ReadModelStore } from '../read-model-store.port';
import { GenerationWriter, PoisonEventError } from './generation-writer';
import { ProjectionState } from './projection-state';

/** What the live part and the rebuild of a projection work with. */
export interface GenerationTaskDeps {
  readonly store: EventStore;
  readonly readModel: ReadModelStore;
  readonly definition: ProjectionDefinition;
  readonly decode: (event: RecordedEvent) => Promise<Record<string, unknown>>;
  readonly state: ProjectionState;
  readonly batchSize: number;
  /** How long to wait after an unexpected failure before trying again. */
  readonly pauseMs: number;
  readonly sleep: Sleep;
  /** The projection stops on this event (a handler threw). */
  readonly onPoison: (failure: ProjectionFailure) => Promise<void>;
  readonly onError: (message: string, error: unknown) => void;
}

/**
 * Applies the events of a source into one generation, from the generation's own checkpoint,
 * until the source is done or `signal` aborts. A poison event stops the projection (through
 * `onPoison`); any other failure is reported and waited out. Resolves true when the source was
 * drained: a catch-up source reached the head, nothing failed, nothing aborted.
 */
export async function applyToGeneration(
  deps: GenerationTaskDeps,
  generation: number,
  sourceFrom: (after: GlobalPosition | undefined) => EventSource,
  signal: AbortSignal,
  what: string,
): Promise<boolean> {
  const writer = new GenerationWriter(deps.readModel, deps.definition, generation, deps.decode);
  const source = sourceFrom(await writer.checkpoint());
  try {
    await runProcessor({
      source,
      handler: writer,
      limits: { maxEvents: deps.batchSize },
      signal,
    });
    return !signal.aborted;
  } catch (error) {
    if (error instanceof PoisonEventError) await deps.onPoison(error.failure);
    else {
      deps.onError(`projection ${deps.definition.name}: ${what} failed`, error);
      await deps.sleep(deps.pauseMs);
    }
    return false;
  } finally {
    await source.close();
  }
}
