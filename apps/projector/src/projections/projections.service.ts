import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import {
  configuredProjectionRunner,
  ESFLOW_CONFIG,
  EsflowConfig,
  EVENT_STORE,
  PAYLOAD_CODEC,
  PROJECTIONS,
  leaseOwner,
  READ_MODEL_STORE,
  WORKFLOW_CATALOG,
} from '@esflow/app-core';
import {
  EventStore,
  PayloadCodec,
  ProjectionDefinition,
  ProjectionRecord,
  ProjectionRunner,
  ReadModelStore,
  WorkflowCatalog,
} from '@esflow/domain';

/** Runs every registered projection in this process (each under its own lease). */
@Injectable()
export class ProjectionsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Projections');
  private readonly runners: ProjectionRunner[];
  readonly owner = leaseOwner('projector');

  constructor(
    @Inject(PROJECTIONS) definitions: ProjectionDefinition[],
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(READ_MODEL_STORE) readModel: ReadModelStore,
    @Inject(PAYLOAD_CODEC) codec: PayloadCodec,
    @Inject(WORKFLOW_CATALOG) catalog: WorkflowCatalog,
    @Inject(ESFLOW_CONFIG) config: EsflowConfig,
  ) {
    this.runners = definitions.map((definition) =>
      configuredProjectionRunner({
        definition,
        store,
        readModel,
        codec,
        catalog,
        config,
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

  statuses(): (ProjectionRecord | { name: string; status: 'waitingForLease' })[] {
    return this.runners.map(
      (runner) => runner.current() ?? { name: runner.name, status: 'waitingForLease' as const },
    );
  }
}
