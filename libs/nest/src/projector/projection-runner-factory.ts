import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  EventStore,
  PayloadCodec,
  projectionDecoder,
  ProjectionDefinition,
  ProjectionRunner,
  ReadModelStore,
  realSleep,
  WorkflowCatalog,
} from '@esflow/core';
import { systemClock } from '@esflow/core/node';
import { ProjectionRuntimeOptions } from '../esflow-module-options';

/** A lease owner name unique to this process: `<role>@<host>/<pid>/<random>`. */
export function leaseOwner(role: string): string {
  return `${role}@${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
}

/** How often a projection's owner renews its lease and reports its status, for a lease of `leaseMs`. */
export function projectionHeartbeatMs(leaseMs: number): number {
  // Renew well within the lease, so a healthy owner never loses it.
  return Math.min(1000, Math.floor(leaseMs / 3));
}

/**
 * How long a projection's record may go without a heartbeat before its owner is taken for gone:
 * five heartbeats, and at least 3 s (a loaded machine delays a heartbeat or two).
 */
export function projectionSilenceLimitMs(leaseMs: number): number {
  return Math.max(5 * projectionHeartbeatMs(leaseMs), 3_000);
}

/**
 * A projection runner with the configured lease, batch size and heartbeat: what the projector
 * module runs, and what `esflow projections rebuild` runs when no projector holds the lease.
 */
export function configuredProjectionRunner(options: {
  readonly definition: ProjectionDefinition;
  readonly store: EventStore;
  readonly readModel: ReadModelStore;
  readonly codec: PayloadCodec;
  readonly catalog: WorkflowCatalog;
  readonly projections: Required<ProjectionRuntimeOptions>;
  readonly owner: string;
  readonly onError?: (message: string, error: unknown) => void;
}): ProjectionRunner {
  const { leaseMs, batchSize } = options.projections;
  return new ProjectionRunner({
    definition: options.definition,
    store: options.store,
    readModel: options.readModel,
    decode: projectionDecoder(options.catalog, options.codec),
    clock: systemClock,
    sleep: realSleep,
    owner: options.owner,
    leaseTtlMs: leaseMs,
    batchSize,
    heartbeatMs: projectionHeartbeatMs(leaseMs),
    ...(options.onError ? { onError: options.onError } : {}),
  });
}
