import { GlobalPosition, RecordedEvent } from '../../event-store/event-store.port';
import { formatPosition } from '../../event-store/position';
import { readEsflowMetadata } from '../../workflow/event-metadata';
import { CheckpointedHandler } from '../../processing/checkpointed-handler';
import { ProjectionDefinition } from '../projection';
import { ProjectionFailure, ReadModelStore } from '../read-model-store.port';

/** A handler threw on this event: the projection stops on it until an operator retries or skips. */
export class PoisonEventError extends Error {
  constructor(readonly failure: ProjectionFailure) {
    super(failure.message);
    this.name = 'PoisonEventError';
  }
}

/**
 * Writes a projection's events into one generation of its read model: each batch and its
 * checkpoint in one transaction. When a handler throws, the batch is rolled back, the events
 * before the poison one are applied one by one, and a {@link PoisonEventError} names the event.
 */
export class GenerationWriter implements CheckpointedHandler {
  private applied: number | undefined;

  constructor(
    private readonly readModel: ReadModelStore,
    private readonly definition: ProjectionDefinition,
    readonly generation: number,
    private readonly decode: (event: RecordedEvent) => Promise<Record<string, unknown>>,
  ) {}

  async checkpoint(): Promise<GlobalPosition | undefined> {
    const checkpoint = await this.readModel.checkpoint(this.definition.name, this.generation);
    this.applied = checkpoint?.eventsApplied ?? 0;
    return checkpoint?.position;
  }

  /** Events applied to this generation so far (as its checkpoint counts them). */
  async eventsApplied(): Promise<number> {
    if (this.applied === undefined) await this.checkpoint();
    return this.applied!;
  }

  async apply(batch: readonly RecordedEvent[]): Promise<void> {
    try {
      await this.applyTogether(batch);
    } catch (error) {
      if (!(error instanceof PoisonEventError) || batch.length === 1) throw error;
      // Apply what precedes the poison event, so the stop names exactly the event that failed.
      for (const event of batch) await this.applyTogether([event]);
    }
  }

  private async applyTogether(batch: readonly RecordedEvent[]): Promise<void> {
    const before = await this.eventsApplied();
    const { name } = this.definition;
    await this.readModel.transact(async (tx) => {
      const documents = tx.documents(name, this.generation);
      for (const recorded of batch) {
        try {
          await this.definition.handle(
            {
              recorded,
              metadata: readEsflowMetadata(recorded.metadata),
              payload: () => this.decode(recorded),
            },
            documents,
          );
        } catch (error) {
          throw new PoisonEventError({
            message: error instanceof Error ? error.message : String(error),
            streamName: recorded.streamName,
            revision: recorded.revision,
            type: recorded.type,
            position: formatPosition(recorded.position),
          });
        }
      }
      await tx.saveCheckpoint(name, this.generation, {
        position: batch[batch.length - 1]!.position,
        eventsApplied: before + batch.length,
      });
    });
    this.applied = before + batch.length;
  }
}
