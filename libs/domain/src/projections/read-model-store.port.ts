import { GlobalPosition } from '../event-store/event-store.port';
import type { LeaseStore } from '../processing/lease';
import type { ProcessorStatus } from '../processing/processor';
import { CollectionSpecs, DocumentWriter, ReadModelDocument } from './projection';

/**
 * A projection's run status: `catchingUp` behind the log, `live` when caught up, `rebuilding` while
 * a rebuild replays into a shadow generation (the active one keeps serving), `stopped` on a failed
 * event until an operator retries or skips it.
 */
export const ProjectionStatus = {
  Live: 'live',
  CatchingUp: 'catchingUp',
  Rebuilding: 'rebuilding',
  Stopped: 'stopped',
} as const;
export type ProjectionStatus = (typeof ProjectionStatus)[keyof typeof ProjectionStatus];

/** The event a projection stopped on (a poison event) and why. */
export interface ProjectionFailure {
  readonly message: string;
  readonly streamName: string;
  readonly revision: number;
  readonly type: string;
  readonly position: string;
}

/**
 * A rebuild in progress: the shadow generation it writes (queries keep reading the active one until
 * the swap), why and when it started, and how many events it replays.
 */
export interface RebuildState {
  readonly generation: number;
  readonly reason: 'requested' | 'versionChanged' | 'new';
  readonly startedAt: string;
  /**
   * Events to replay, counted by the store when the rebuild started (for progress and ETA); null
   * where the store cannot count without reading the log (EventStoreDB).
   */
  readonly totalEvents: number | null;
}

/** A projection's persisted state: what the api reports and what a restart resumes from. */
export interface ProjectionRecord {
  readonly name: string;
  /** The code version whose output the active generation holds. */
  readonly version: number;
  /** The generation queries read. */
  readonly activeGeneration: number;
  readonly status: ProjectionStatus;
  readonly failure: ProjectionFailure | null;
  readonly rebuild: RebuildState | null;
  readonly lag: { readonly events: number; readonly seconds: number } | null;
  readonly heartbeatAt: string | null;
  /** When the last rebuild was swapped in (absent before the first). */
  readonly rebuiltAt?: string | null;
}

/**
 * How far a projection generation has applied the log: the position of its last applied event and
 * how many events it has applied. Saved in the same transaction as the documents.
 */
export interface Checkpoint {
  readonly position: GlobalPosition;
  readonly eventsApplied: number;
}

/**
 * A query on one collection of a projection: by id, by equality on top-level fields, or both;
 * results are ordered by id and paged with `after` and `limit`.
 */
export interface DocumentQuery {
  /** Only the document stored under this id. */
  readonly id?: string;
  /** Equality on top-level fields (indexed ones are fast). */
  readonly where?: Readonly<Record<string, string | number | boolean | null>>;
  /** Exclusive cursor: ids greater than this. Results are ordered by id. */
  readonly after?: string;
  /** At most this many documents. */
  readonly limit: number;
}

/** One transaction of the read-model store: documents, checkpoints and records commit together. */
export interface ReadModelTransaction {
  /** The documents of one projection generation. */
  documents(projection: string, generation: number): DocumentWriter;
  saveCheckpoint(projection: string, generation: number, checkpoint: Checkpoint): Promise<void>;
  saveRecord(record: ProjectionRecord): Promise<void>;
  recordSkip(projection: string, failure: ProjectionFailure, reason: string): Promise<void>;
}

/** The kinds of operator request a projection's runner carries out. */
export const ProjectionRequestKind = { Rebuild: 'rebuild', Retry: 'retry', Skip: 'skip' } as const;
/** `rebuild`, `retry` or `skip`. */
export type ProjectionRequestKind =
  (typeof ProjectionRequestKind)[keyof typeof ProjectionRequestKind];

/** A queued operator request. */
export interface ProjectionRequest {
  readonly id: number;
  readonly projection: string;
  readonly kind: ProjectionRequestKind;
}

/**
 * The read side an application sees: the documents of each projection's active generation.
 * Eventually consistent with the log; never sees a half-applied batch.
 */
export interface DocumentReader {
  /** Documents of the projection's active generation, ordered by id. */
  find(projection: string, collection: string, query: DocumentQuery): Promise<ReadModelDocument[]>;
}

/** Generations of a projection's collections, and the transaction its runner writes them in. */
export interface ProjectionGenerations {
  /** Creates a generation's collection tables and indexes (idempotent). */
  createGeneration(
    projection: string,
    generation: number,
    collections: CollectionSpecs,
  ): Promise<void>;
  dropGeneration(
    projection: string,
    generation: number,
    collections: CollectionSpecs,
  ): Promise<void>;
  /** Runs `work` in one transaction: all of it is committed, or none. */
  transact<T>(work: (tx: ReadModelTransaction) => Promise<T>): Promise<T>;
  /** SHA-256 over every document of a generation, ordered: equal digests mean equal read models. */
  digest(projection: string, generation: number, collections: CollectionSpecs): Promise<string>;
}

/**
 * The checkpoint store of projections: the checkpoint of each generation (written in the
 * transaction of the documents it covers) and each projection's record.
 */
export interface ProjectionCheckpoints {
  /** Where a generation's writer resumes: its last applied event, undefined before the first. */
  checkpoint(projection: string, generation: number): Promise<Checkpoint | undefined>;
  /** A projection's record, undefined for one that never ran. */
  record(projection: string): Promise<ProjectionRecord | undefined>;
  /** Every projection's record. */
  records(): Promise<ProjectionRecord[]>;
}

/** Operator requests (rebuild, retry, skip), queued for whichever process runs the projection. */
export interface ProjectionRequests {
  request(projection: string, kind: ProjectionRequestKind): Promise<ProjectionRequest>;
  /** Pending requests for these projections; each is returned once (marked taken). */
  takeRequests(projections: readonly string[]): Promise<ProjectionRequest[]>;
  pendingRequests(projection: string): Promise<ProjectionRequest[]>;
}

/**
 * What one process last reported of its processors (the Kafka bridge, the timer service, the
 * dispatcher...): their statuses as that process saw them at `reportedAt`. Other processes (the
 * api's debugger UI) read it, since those processors' state lives in the process that runs them.
 */
export interface ProcessorReport {
  /** The reporting process's lease owner name. */
  readonly owner: string;
  /** ISO time of the report; a report that stops being renewed is its owner gone. */
  readonly reportedAt: string;
  readonly processors: readonly ProcessorStatus[];
}

/** How long a report is kept without renewal before a new report of any owner deletes it. */
export const PROCESSOR_REPORT_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Where processes publish their processors' statuses for the others to read. */
export interface ProcessorReports {
  /**
   * Replaces what `report.owner` reported before, and forgets the reports no owner renewed for
   * {@link PROCESSOR_REPORT_RETENTION_MS}.
   */
  reportProcessors(report: ProcessorReport): Promise<void>;
  /** Every report kept, by owner name. */
  processorReports(): Promise<ProcessorReport[]>;
}

/**
 * Read-model storage for projections (SQLite embedded, PostgreSQL in production), behind one
 * contract suite (`describeReadModelStoreContract` in @esflow/testing). Every change a projection
 * makes is committed in the same transaction as its checkpoint, so a crash never applies an event
 * twice or skips one. Applications read through {@link DocumentReader} only; the other parts are
 * the projection runtime's.
 */
export interface ReadModelStore
  extends DocumentReader,
    ProjectionGenerations,
    ProjectionCheckpoints,
    LeaseStore,
    ProjectionRequests,
    ProcessorReports {
  /** Creates esflow's own tables if missing. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}
