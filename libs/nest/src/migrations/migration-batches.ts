import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  Clock,
  ErrorCode,
  IdGenerator,
  InstanceList,
  isEsflowError,
  UnmappablePolicy,
} from '@esflow/core';
import { InstanceMigrationPorts, migrateInstance, migrationVerdict } from './instance-migration';
import { MigrationCandidate, MigrationFilter, migrationFilterMatches } from './migration-filter';

/** How many of a batch's errors its progress lists; the rest are only counted. */
export const MAX_LISTED_BATCH_ERRORS = 100;
/** How many batches an api process remembers; the oldest finished ones are forgotten first. */
export const MAX_KEPT_BATCHES = 100;
/** The page size a batch reads the instance list with. */
const SELECTION_PAGE = 500;

/** An operator's request to migrate every running instance of `workflow` that `filter` takes. */
export interface MigrationBatchRequest {
  readonly workflow: string;
  readonly filter: MigrationFilter;
  readonly toVersion: number;
  readonly stateMapping?: Readonly<Record<string, string>>;
  readonly contextPatch?: Readonly<Record<string, unknown>>;
  readonly unmappable?: UnmappablePolicy;
  readonly dryRun: boolean;
  readonly reason?: string;
  /** Who asked: recorded as the `operator` of every `InstanceMigrated`. */
  readonly operator: string;
}

/** One instance of a batch that was refused, or failed. */
export interface MigrationBatchError {
  readonly id: string;
  readonly code: string;
  readonly message: string;
}

/** Where a batch stands (a snapshot: the batch goes on). */
export interface MigrationBatchProgress {
  readonly migrationId: string;
  readonly workflow: string;
  readonly status: 'running' | 'done';
  readonly dryRun: boolean;
  readonly filter: MigrationFilter;
  readonly toVersion: number;
  /** Instances the filter took (grows while they are being selected). */
  readonly matched: number;
  /** Migrated (in a dry run: would be). */
  readonly migrated: number;
  /** On the target version already (migrated before), or no longer running. */
  readonly skipped: number;
  /** MIGRATION_REFUSED: nothing written for them. */
  readonly refused: number;
  /** Any other rejection or fault: nothing written for them. */
  readonly failed: number;
  /** The first {@link MAX_LISTED_BATCH_ERRORS} refused or failed instances. */
  readonly errors: readonly MigrationBatchError[];
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** What stopped the batch before it went through every match (the read model unreachable...). */
  readonly failure?: { readonly code: string; readonly message: string };
}

type Job = {
  -readonly [K in keyof MigrationBatchProgress]: MigrationBatchProgress[K];
} & { errors: MigrationBatchError[] };

/** The running instances of `workflow` as the read model lists them, page by page. */
export async function* readModelCandidates(
  instances: InstanceList,
  workflow: string,
): AsyncGenerator<MigrationCandidate> {
  let after: string | undefined;
  for (;;) {
    const page = await instances.list({
      workflow,
      status: 'running',
      limit: SELECTION_PAGE,
      ...(after === undefined ? {} : { after }),
    });
    for (const item of page.items) yield { id: item.id, version: item.version, state: item.state };
    if (page.next === null) return;
    after = page.next;
  }
}

/** What a {@link MigrationBatches} works with. */
export interface MigrationBatchesPorts extends InstanceMigrationPorts {
  /** Where the batches select instances from (the `instances` read model). */
  readonly instances: InstanceList;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

/**
 * Batch migrations (`POST /workflows/{workflow}/migrations`), run in this process, their
 * progress kept in memory: a restart loses a batch's report (and stops the batch between two
 * instances), never a migration, each being one recorded step of its instance. A batch selects
 * the running instances the filter takes from the read model (so one the projector has not
 * applied yet is not seen), then migrates them one at a time, giving the event loop a turn
 * between two; run again, it skips those it migrated (on the target version already).
 */
export class MigrationBatches {
  private readonly jobs = new Map<string, Job>();
  private readonly running = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly ports: MigrationBatchesPorts) {}

  /** Starts a batch and answers its progress so far (nothing done yet). */
  start(request: MigrationBatchRequest): MigrationBatchProgress {
    const job: Job = {
      migrationId: this.ports.ids.random(),
      workflow: request.workflow,
      status: 'running',
      dryRun: request.dryRun,
      filter: request.filter,
      toVersion: request.toVersion,
      matched: 0,
      migrated: 0,
      skipped: 0,
      refused: 0,
      failed: 0,
      errors: [],
      startedAt: this.ports.clock.now().toISOString(),
    };
    this.keep(job);
    const run = this.run(job, request).finally(() => this.running.delete(run));
    this.running.add(run);
    return snapshotOf(job);
  }

  /** A batch's progress, or undefined when this process does not know it (any more). */
  progress(migrationId: string): MigrationBatchProgress | undefined {
    const job = this.jobs.get(migrationId);
    return job ? snapshotOf(job) : undefined;
  }

  /** Stops every batch after the instance it is at, and waits for that. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.running]);
  }

  /** Nest's shutdown hook: the batches stop before the store closes. */
  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  private keep(job: Job): void {
    this.jobs.set(job.migrationId, job);
    for (const [id, kept] of this.jobs) {
      if (this.jobs.size <= MAX_KEPT_BATCHES) break;
      if (kept.status === 'done') this.jobs.delete(id);
    }
  }

  private async run(job: Job, request: MigrationBatchRequest): Promise<void> {
    try {
      const ids: string[] = [];
      for await (const candidate of readModelCandidates(this.ports.instances, request.workflow)) {
        if (this.stopping) return;
        if (!migrationFilterMatches(request.filter, candidate)) continue;
        ids.push(candidate.id);
        job.matched = ids.length;
      }
      for (const id of ids) {
        if (this.stopping) return;
        await this.migrateOne(job, request, id);
        await nextTurn();
      }
    } catch (error) {
      job.failure = {
        code: isEsflowError(error) ? error.code : ErrorCode.Internal,
        message: error instanceof Error ? error.message : String(error),
      };
    } finally {
      job.status = 'done';
      job.finishedAt = this.ports.clock.now().toISOString();
    }
  }

  private async migrateOne(job: Job, request: MigrationBatchRequest, id: string): Promise<void> {
    const { workflow, toVersion, stateMapping, contextPatch, unmappable, dryRun, reason } = request;
    const result = await migrateInstance(this.ports, {
      workflow,
      id,
      toVersion,
      operator: request.operator,
      dryRun,
      ...(stateMapping ? { stateMapping } : {}),
      ...(contextPatch ? { contextPatch } : {}),
      ...(unmappable ? { unmappable } : {}),
      ...(reason === undefined ? {} : { reason }),
    }).catch((thrown: unknown) => ({ thrown }));
    const verdict = migrationVerdict(result, toVersion);
    job[verdict.kind] += 1;
    if (
      (verdict.kind === 'refused' || verdict.kind === 'failed') &&
      job.errors.length < MAX_LISTED_BATCH_ERRORS
    )
      job.errors.push({ id, code: verdict.code, message: verdict.message });
  }
}

function snapshotOf(job: Job): MigrationBatchProgress {
  return { ...job, filter: { ...job.filter }, errors: [...job.errors] };
}
