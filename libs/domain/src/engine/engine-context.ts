import { PayloadCodec } from '../codec/payload-codec.port';
import { EventStore } from '../event-store/event-store.port';
import { Clock } from '../ports/clock.port';
import { IdGenerator } from '../ports/id-generator.port';
import { Sleep } from '../ports/sleeper.port';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { EventRecorder } from './event-recorder';
import { InstanceRepository } from './instance-repository';
import { KeyedSerialExecutor } from './keyed-serial-executor';
import { RetryPolicy } from '../retry/retry';

/** What every engine handler shares: ports, the instance repository and the per-stream queue. */
export interface EngineContext {
  readonly store: EventStore;
  readonly codec: PayloadCodec;
  readonly catalog: WorkflowCatalog;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly retry: RetryPolicy;
  readonly instances: InstanceRepository;
  readonly recorder: EventRecorder;
  readonly serial: KeyedSerialExecutor;
}

/** Prefixes issue-relative paths (`amountCents`) with where the payload sat in the request. */
export function prefixIssues<T extends { path: string }>(
  prefix: string,
  issues: readonly T[],
): T[] {
  return issues.map((issue) => ({
    ...issue,
    path: issue.path ? `${prefix}.${issue.path}` : prefix,
  }));
}
