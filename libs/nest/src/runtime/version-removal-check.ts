import { Logger, Provider } from '@nestjs/common';
import {
  builtInProjections,
  EventStore,
  formatPosition,
  FRAMEWORK_NAMESPACE,
  FrameworkEvent,
  GlobalPosition,
  PayloadCodec,
  ReadModelQueries,
  RecordedEvent,
  ReadModelStore,
  removedVersionsInUse,
  RunningVersionCount,
  RunningVersionTally,
  versionRemovalError,
  WorkflowCatalog,
} from '@esflow/core';
import {
  EVENT_STORE,
  PAYLOAD_CODEC,
  READ_MODEL_QUERIES,
  READ_MODEL_STORE,
  WORKFLOW_CATALOG,
} from '../tokens';

/** The built-in projection that counts running instances per definition version. */
const DEFINITION_VERSIONS = builtInProjections([]).find(
  (projection) => projection.name === 'definition_versions',
)!;

const PAGE = 1_000;
/** How often the read model is read again when the projector moved while it was being read. */
const CONSISTENT_READ_ATTEMPTS = 3;

/** How many instances run on each version, and where that was counted from. */
export interface RunningVersionsCounted {
  readonly counts: readonly RunningVersionCount[];
  /**
   * The `definition_versions` read model's checkpoint the counts start from (then every later
   * event of the store was added), or null: the read model had nothing usable (never built, or
   * built by another version of the projection) and the whole log was counted.
   */
  readonly readModelPosition: string | null;
  /**
   * Instance events counted after that checkpoint (from the log's start, without one): where
   * the store reads stream starts (`readStreamStarts`), only the starts and the facts that end
   * or move an instance; else every event.
   */
  readonly eventsAfter: number;
}

interface ReadModelAt {
  readonly generation: number;
  readonly position: GlobalPosition | undefined;
}

async function readModelAt(readModel: ReadModelStore): Promise<ReadModelAt | undefined> {
  const record = await readModel.record(DEFINITION_VERSIONS.name);
  if (!record || record.version !== DEFINITION_VERSIONS.version) return undefined;
  const checkpoint = await readModel.checkpoint(record.name, record.activeGeneration);
  return { generation: record.activeGeneration, position: checkpoint?.position };
}

const sameAt = (a: ReadModelAt, b: ReadModelAt) =>
  a.generation === b.generation &&
  (a.position === undefined) === (b.position === undefined) &&
  (a.position === undefined || formatPosition(a.position) === formatPosition(b.position!));

/**
 * The `definition_versions` documents and the checkpoint they are as of, read consistently
 * (the checkpoint read before and after them is the same), or undefined.
 */
async function readModelCounts(
  readModel: ReadModelStore,
  queries: ReadModelQueries,
): Promise<{ counts: RunningVersionCount[]; at: ReadModelAt } | undefined> {
  for (let attempt = 0; attempt < CONSISTENT_READ_ATTEMPTS; attempt++) {
    const before = await readModelAt(readModel);
    if (!before) return undefined;
    const counts = before.position === undefined ? [] : await queries.definitionVersions();
    const after = await readModelAt(readModel);
    if (after && sameAt(before, after)) return { counts, at: before };
  }
  return undefined;
}

/** The facts that end an instance or move it to another version: what the tally counts besides starts. */
const COUNTED_FACTS: readonly string[] = [
  FrameworkEvent.WorkflowCompleted,
  FrameworkEvent.InstanceTerminated,
  FrameworkEvent.InstanceMigrated,
];

/** The source version an `InstanceMigrated` fact records. */
async function migratedFrom(codec: PayloadCodec, data: Uint8Array): Promise<number> {
  const payload = await codec.decode(
    `${FRAMEWORK_NAMESPACE}.${FrameworkEvent.InstanceMigrated}`,
    data,
  );
  return (payload as { fromVersion: number }).fromVersion;
}

/**
 * Counts the running instances per workflow and version: the `definition_versions` read model
 * as of its checkpoint, plus every event the store recorded after it (see
 * `RunningVersionTally`), so a read model that lags, or was never built (a fresh store, a new
 * read-model database), gives the same counts as one that is live: without a usable read model
 * the whole log is read. Reads only.
 */
export async function countRunningVersions(
  store: EventStore,
  readModel: ReadModelStore,
  queries: ReadModelQueries,
  codec: PayloadCodec,
): Promise<RunningVersionsCounted> {
  const fromReadModel = await readModelCounts(readModel, queries);
  const tally = new RunningVersionTally(fromReadModel?.counts ?? []);
  const count = async (read: (after?: GlobalPosition) => Promise<RecordedEvent[]>) => {
    let after = fromReadModel?.at.position;
    for (;;) {
      const page = await read(after);
      for (const event of page)
        tally.add(
          event.type === FrameworkEvent.InstanceMigrated
            ? { ...event, migratedFrom: await migratedFrom(codec, event.data) }
            : event,
        );
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.position;
    }
  };
  const readStreamStarts = store.readStreamStarts?.bind(store);
  if (readStreamStarts) {
    // Only what the tally counts: each stream's first event, and the facts that end or move an
    // instance. Reading every event's data instead cost ~100 MiB of RSS on a 1 M-event log.
    await count((after) => readStreamStarts({ maxCount: PAGE, ...(after ? { after } : {}) }));
    await count((after) =>
      store.readAll({
        maxCount: PAGE,
        filter: { eventTypes: COUNTED_FACTS },
        ...(after ? { after } : {}),
      }),
    );
  } else await count((after) => store.readAll({ maxCount: PAGE, ...(after ? { after } : {}) }));
  const position = fromReadModel?.at.position;
  return {
    counts: tally.counts(),
    readModelPosition: fromReadModel
      ? position === undefined
        ? 'its start'
        : formatPosition(position)
      : null,
    eventsAfter: tally.added,
  };
}

/**
 * The start-up check that no workflow version still in use was removed: the versions instances
 * run on (counted by {@link countRunningVersions}) that the catalog does not register, a whole
 * workflow included, stop start-up with INVALID_DEFINITION naming workflow, version and count
 * (`orderFulfillment v1 is no longer registered but 3 instances still run on it: register it
 * again beside v2, or migrate them`). Provided (under its own class) by `EsflowModule`, so it
 * runs in every process that imports it, before any request is served or projection run.
 */
export class VersionRemovalCheck {
  constructor(readonly counted: RunningVersionsCounted) {}

  /** Counts, checks, and throws when a version in use was removed; else the counts. */
  static async run(
    catalog: WorkflowCatalog,
    store: EventStore,
    readModel: ReadModelStore,
    queries: ReadModelQueries,
    codec: PayloadCodec,
  ): Promise<VersionRemovalCheck> {
    const counted = await countRunningVersions(store, readModel, queries, codec);
    const problems = removedVersionsInUse(catalog, counted.counts);
    const countedFrom =
      counted.readModelPosition === null
        ? `the log from its start (${counted.eventsAfter} events; the definition_versions read model is not built)`
        : `the definition_versions read model (at ${counted.readModelPosition}) and ${counted.eventsAfter} later events`;
    if (problems.length > 0) throw versionRemovalError(problems, { countedFrom });
    new Logger('Esflow').log(
      `every definition version in use is registered (${counted.counts.length} in use, counted from ${countedFrom})`,
    );
    return new VersionRemovalCheck(counted);
  }
}

/** {@link VersionRemovalCheck} as a provider: its factory runs the check when Nest builds it. */
export const versionRemovalCheckProvider: Provider = {
  provide: VersionRemovalCheck,
  inject: [WORKFLOW_CATALOG, EVENT_STORE, READ_MODEL_STORE, READ_MODEL_QUERIES, PAYLOAD_CODEC],
  useFactory: (
    catalog: WorkflowCatalog,
    store: EventStore,
    readModel: ReadModelStore,
    queries: ReadModelQueries,
    codec: PayloadCodec,
  ) => VersionRemovalCheck.run(catalog, store, readModel, queries, codec),
};
