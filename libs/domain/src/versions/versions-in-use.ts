import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { instanceMetadataOf } from './instance-metadata';
import { EventMetadataRecord } from '../event-store/event-store.port';
import { FrameworkEvent } from '../workflow/framework-events';
import { WorkflowCatalog } from '../workflow/workflow-catalog';

/** How many instances of one workflow version are running. */
export interface RunningVersionCount {
  readonly workflow: string;
  readonly version: number;
  readonly running: number;
}

/** A recorded event as far as counting running instances needs it. */
export interface CountedEvent {
  readonly streamName: string;
  readonly revision: number;
  readonly type: string;
  readonly metadata: EventMetadataRecord;
  /** For an `InstanceMigrated`, its payload's `fromVersion` (the caller decodes it). */
  readonly migratedFrom?: number;
}

/**
 * Running instances per workflow and version, counted as the built-in `definition_versions`
 * projection counts them (its `DefinitionVersionUse` documents are a valid `base`): an instance's start event (revision 0) adds one to the version it
 * records, its `WorkflowCompleted` or `InstanceTerminated` takes one away, its `InstanceMigrated`
 * moves one from the source version to the target. Starts from `base` (the
 * projection's documents, as of its checkpoint) and adds the events after it, so a read model that
 * lags behind the store, or was never built (`base` empty, every event added), counts the same.
 * Events of other streams than instance streams (`esflow.schemas`, message streams) are ignored.
 */
export class RunningVersionTally {
  private readonly running = new Map<string, RunningVersionCount>();
  private eventsAdded = 0;

  constructor(base: readonly RunningVersionCount[] = []) {
    for (const use of base) this.move(use.workflow, use.version, use.running);
  }

  /** Counts one event recorded after the base; returns whether it is an instance's event. */
  add(event: CountedEvent): boolean {
    const metadata = instanceMetadataOf(event);
    if (!metadata) return false;
    this.eventsAdded++;
    if (event.revision === 0) this.move(metadata.workflow, metadata.definitionVersion, 1);
    if (
      event.type === FrameworkEvent.WorkflowCompleted ||
      event.type === FrameworkEvent.InstanceTerminated
    )
      this.move(metadata.workflow, metadata.definitionVersion, -1);
    // A migration moves the instance: its event records the target version already.
    if (event.type === FrameworkEvent.InstanceMigrated && event.migratedFrom !== undefined) {
      this.move(metadata.workflow, event.migratedFrom, -1);
      this.move(metadata.workflow, metadata.definitionVersion, 1);
    }
    return true;
  }

  /** Instance events added after the base. */
  get added(): number {
    return this.eventsAdded;
  }

  /** Versions with running instances, by workflow and version. */
  counts(): RunningVersionCount[] {
    return [...this.running.values()]
      .filter((count) => count.running > 0)
      .sort((a, b) => a.workflow.localeCompare(b.workflow) || a.version - b.version);
  }

  private move(workflow: string, version: number, delta: number): void {
    const key = `${workflow}/${version}`;
    const running = (this.running.get(key)?.running ?? 0) + delta;
    this.running.set(key, { workflow, version, running });
  }
}

/** A workflow version the catalog no longer registers while instances still run on it. */
export interface RemovedVersionInUse {
  readonly workflow: string;
  readonly version: number;
  readonly running: number;
  /** The versions of the workflow registered now (empty: none, the whole workflow is gone). */
  readonly registered: readonly number[];
}

/**
 * The versions instances still run on that `catalog` does not register: a version removed
 * beside others, or every version of a workflow. Migration does not exist yet, so every running
 * instance counts (once instances can be migrated, `counts` must count them under the version
 * they were migrated to). Sorted by workflow and version; empty when nothing was removed.
 */
export function removedVersionsInUse(
  catalog: WorkflowCatalog,
  counts: readonly RunningVersionCount[],
): RemovedVersionInUse[] {
  return counts
    .filter((count) => count.running > 0 && !catalog.version(count.workflow, count.version))
    .map((count) => ({
      workflow: count.workflow,
      version: count.version,
      running: count.running,
      registered: catalog
        .all()
        .filter((definition) => definition.name === count.workflow)
        .map((definition) => definition.version)
        .sort((a, b) => a - b),
    }))
    .sort((a, b) => a.workflow.localeCompare(b.workflow) || a.version - b.version);
}

/**
 * One removed version in words: `orderFulfillment v1 is no longer registered but 3 instances
 * still run on it: register it again beside v2, or migrate them`.
 */
export function describeRemovedVersionInUse(problem: RemovedVersionInUse): string {
  const { workflow, version, running, registered } = problem;
  const instances = running === 1 ? '1 instance still runs' : `${running} instances still run`;
  const remedy =
    registered.length === 0
      ? `register it again (no version of ${workflow} is registered now)`
      : `register it again beside ${registered.map((v) => `v${v}`).join(', ')}, or migrate them`;
  return `${workflow} v${version} is no longer registered but ${instances} on it: ${remedy}`;
}

/**
 * The start-up refusal for removed versions in use: INVALID_DEFINITION, its message every
 * problem in words (`; `-separated), its details the problems.
 */
export function versionRemovalError(
  problems: readonly RemovedVersionInUse[],
  details: Readonly<Record<string, unknown>> = {},
): EsflowError {
  return new EsflowError(
    ErrorCode.InvalidDefinition,
    problems.map(describeRemovedVersionInUse).join('; '),
    { details: { ...details, removedVersionsInUse: problems } },
  );
}
