import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import {
  EventStore,
  PayloadCodec,
  ProjectionDefinition,
  ProjectionRecord,
  ProjectionRunner,
  ReadModelStore,
  WorkflowCatalog,
} from '@esflow/core';
import { ResolvedEsflowOptions } from '../esflow-module-options';
import {
  ESFLOW_OPTIONS,
  EVENT_STORE,
  PAYLOAD_CODEC,
  PROJECTIONS,
  READ_MODEL_STORE,
  WORKFLOW_CATALOG,
} from '../tokens';
import { configuredProjectionRunner, leaseOwner } from './projection-runner-factory';

/** What this process knows of one projection: its record, or that it waits for the lease. */
export type ProjectionRunStatus = ProjectionRecord | { name: string; status: 'waitingForLease' };

/**
 * Runs every registered projection (built-in and the features') in this process, each under
 * its own lease: a second process running the same projections waits, and takes over when this
 * one dies. Started when the application boots, stopped (lease released) when it shuts down.
 */
@Injectable()
export class ProjectionsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Projections');
  private readonly runners: ProjectionRunner[];
  /** The lease owner name of this process. */
  readonly owner = leaseOwner('projector');

  constructor(
    @Inject(PROJECTIONS) definitions: readonly ProjectionDefinition[],
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(READ_MODEL_STORE) readModel: ReadModelStore,
    @Inject(PAYLOAD_CODEC) codec: PayloadCodec,
    @Inject(WORKFLOW_CATALOG) catalog: WorkflowCatalog,
    @Inject(ESFLOW_OPTIONS) options: ResolvedEsflowOptions,
  ) {
    this.runners = definitions.map((definition) =>
      configuredProjectionRunner({
        definition,
        store,
        readModel,
        codec,
        catalog,
        projections: options.projections,
        owner: this.owner,
        onError: (message, error) => this.logger.error({ err: error }, message),
      }),
    );
  }

  onApplicationBootstrap(): void {
    for (const runner of this.runners) runner.start();
    this.logger.log(`running ${this.runners.map((r) => r.name).join(', ')} as ${this.owner}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }

  /** Each projection as this process last knew it. */
  statuses(): ProjectionRunStatus[] {
    return this.runners.map(
      (runner) => runner.current() ?? { name: runner.name, status: 'waitingForLease' as const },
    );
  }
}
