import { Inject, Injectable } from '@nestjs/common';
import {
  formatPosition,
  measureLag,
  ProjectionDefinition,
  ProjectionRecord,
  ProjectionStatus,
  ReadModelStore,
} from '@esflow/core';
import { ResolvedEsflowOptions } from '../esflow-module-options';
import { projectionSilenceLimitMs } from '../projector/projection-runner-factory';
import { ESFLOW_OPTIONS, PROJECTIONS, READ_MODEL_STORE } from '../tokens';

/**
 * Every projection's status as the read model records it, with its lag measured now by this
 * process against the log (the record's own figure freezes with its owner): what
 * `GET /projections` answers and the debugger UI shows. A projection whose owner stopped
 * reporting is `stopped`, with the reason.
 */
@Injectable()
export class ProjectionStatuses {
  constructor(
    @Inject(READ_MODEL_STORE) private readonly readModel: ReadModelStore,
    @Inject(PROJECTIONS) private readonly definitions: readonly ProjectionDefinition[],
    @Inject(ESFLOW_OPTIONS) private readonly options: ResolvedEsflowOptions,
  ) {}

  /** Every registered projection, in registration order. */
  async list() {
    const records = new Map(
      (await this.readModel.records()).map((record) => [record.name, record]),
    );
    return Promise.all(this.definitions.map((d) => this.describe(d, records.get(d.name))));
  }

  /** One projection's status as `GET /projections` answers it. */
  async describe(definition: ProjectionDefinition, record: ProjectionRecord | undefined) {
    if (!record)
      return {
        name: definition.name,
        status: ProjectionStatus.Stopped,
        position: null,
        lag: null,
        error: 'not started yet: no projector has run it',
      };
    const checkpoint = await this.readModel.checkpoint(record.name, record.activeGeneration);
    const now = new Date();
    // The owner heartbeats about every second; a record that stopped changing has no owner left.
    const silentFor = record.heartbeatAt
      ? now.getTime() - Date.parse(record.heartbeatAt)
      : Infinity;
    const abandoned = silentFor > projectionSilenceLimitMs(this.options.projections.leaseMs);
    // Measured now, by this process: the record's figure froze with its owner.
    const { events, seconds } = await measureLag(this.options.store, {
      after: checkpoint?.position,
      ...(definition.filter ? { filter: definition.filter } : {}),
      now,
    });
    const rebuildCheckpoint = record.rebuild
      ? await this.readModel.checkpoint(record.name, record.rebuild.generation)
      : undefined;
    return {
      name: record.name,
      status: abandoned ? ProjectionStatus.Stopped : record.status,
      version: record.version,
      generation: record.activeGeneration,
      position: checkpoint ? formatPosition(checkpoint.position) : null,
      eventsApplied: checkpoint?.eventsApplied ?? 0,
      lag: { events, seconds },
      ...(record.failure
        ? { error: record.failure }
        : abandoned
          ? {
              error: record.heartbeatAt
                ? `no projector has reported since ${record.heartbeatAt} (${Math.round(silentFor / 1000)} s ago; it was ${record.status} then)`
                : 'no projector has reported yet',
            }
          : {}),
      ...(record.rebuild
        ? { rebuild: { ...record.rebuild, applied: rebuildCheckpoint?.eventsApplied ?? 0 } }
        : {}),
      heartbeatAt: record.heartbeatAt,
    };
  }
}
