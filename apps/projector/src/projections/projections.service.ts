import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  ESFLOW_CONFIG,
  EsflowConfig,
  EVENT_STORE,
  PAYLOAD_CODEC,
  PROJECTIONS,
  READ_MODEL_STORE,
  systemClock,
  WORKFLOW_CATALOG,
} from '@esflow/app-core';
import {
  EventStore,
  PayloadCodec,
  ProjectionDefinition,
  ProjectionRecord,
  ProjectionRunner,
  ReadModelStore,
  realSleep,
  WorkflowCatalog,
} from '@esflow/domain';
import { projectionDecoder } from '@esflow/projections';

/** Runs every registered projection in this process (each under its own lease). */
@Injectable()
export class ProjectionsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Projections');
  private readonly runners: ProjectionRunner[];
  readonly owner = `projector@${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;

  constructor(
    @Inject(PROJECTIONS) definitions: ProjectionDefinition[],
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(READ_MODEL_STORE) readModel: ReadModelStore,
    @Inject(PAYLOAD_CODEC) codec: PayloadCodec,
    @Inject(WORKFLOW_CATALOG) catalog: WorkflowCatalog,
    @Inject(ESFLOW_CONFIG) config: EsflowConfig,
  ) {
    const decode = projectionDecoder(catalog, codec);
    this.runners = definitions.map(
      (definition) =>
        new ProjectionRunner({
          definition,
          store,
          readModel,
          decode,
          clock: systemClock,
          sleep: realSleep,
          owner: this.owner,
          leaseTtlMs: config.projectionLeaseMs,
          batchSize: config.projectionBatchSize,
          heartbeatMs: Math.min(1000, Math.floor(config.projectionLeaseMs / 3)),
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
