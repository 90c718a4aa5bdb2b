import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  EventStore,
  PayloadCodec,
  ProjectionDefinition,
  ProjectionRunner,
  ReadModelStore,
  realSleep,
  WorkflowCatalog,
} from '@esflow/domain';
import { projectionDecoder } from '@esflow/projections';
import { EsflowConfig } from './esflow-config';
import { systemClock } from './system-clock';

/** A lease owner name unique to this process: `<role>@<host>/<pid>/<random>`. */
export function leaseOwner(role: string): string {
  return `${role}@${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
}

/** A projection runner with the configured lease, batch size and heartbeat. */
export function configuredProjectionRunner(options: {
  readonly definition: ProjectionDefinition;
  readonly store: EventStore;
  readonly readModel: ReadModelStore;
  readonly codec: PayloadCodec;
  readonly catalog: WorkflowCatalog;
  readonly config: EsflowConfig;
  readonly owner: string;
  readonly onError?: (message: string, error: unknown) => void;
}): ProjectionRunner {
  const { config } = options;
  return new ProjectionRunner({
    definition: options.definition,
    store: options.store,
    readModel: options.readModel,
    decode: projectionDecoder(options.catalog, options.codec),
    clock: systemClock,
    sleep: realSleep,
    owner: options.owner,
    leaseTtlMs: config.projectionLeaseMs,
    batchSize: config.projectionBatchSize,
    // Renew well within the lease, so a healthy owner never loses it.
    heartbeatMs: Math.min(1000, Math.floor(config.projectionLeaseMs / 3)),
    ...(options.onError ? { onError: options.onError } : {}),
  });
}
