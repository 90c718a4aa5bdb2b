import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { enableWal } from '../sqlite-support';
import { EVENT_ROW_COLUMNS, EventRow, eventRefLookup, EventTableReader } from './event-tables';
import { migrateEventTables } from './event-tables-migration';
import { AppendOutcome, AppendToCommit, createCommitter, refusalError } from './sqlite-commit';
import type { CommitReply, CommitRequest, CommitWorkerData } from './sqlite-commit-worker';
import {
  AllStreamFilter,
  AppendResult,
  ErrorCode,
  EsflowError,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  pollingSubscription,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
  CommitSignal,
  StoreCommit,
  StoreWriteStats,
} from '@esflow/core';

/**
 * Options of {@link createSqliteEventStore}. Defaults: `synchronous` FULL, up to 256 appends per
 * commit, a 50 ms poll for other processes' commits, a 5 s busy timeout, and the wall clock for
 * record times.
 */
export interface SqliteEventStoreOptions {
  /** Database file; created with its directory if missing. */
  readonly filename: string;
  /** FULL (default): an acknowledged append survives power loss. NORMAL trades that for speed. */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** Most appends committed in one transaction (one fsync). */
  readonly maxBatchSize?: number;
  /** How often a live subscription looks for commits made by other processes. */
  readonly pollIntervalMs?: number;
  /** How long a writer waits for another process's write lock before failing. */
  readonly busyTimeoutMs?: number;
  readonly now?: () => Date;
  /**
   * Commit on a worker thread of the store's own (default true), so that the caller's event
   * loop goes on while a commit's fsync runs; false commits on the caller's thread. Without the
   * compiled worker (running the package from its TypeScript sources, unbuilt) it commits on
   * the caller's thread whatever this says.
   */
  readonly commitOnWorker?: boolean;
}

/**
 * The SQLite {@link EventStore}, whose group-commit write counters (`stats()`) are always
 * available.
 */
export interface SqliteEventStore extends EventStore {
  /** Group-commit counters: `appends / commits` is how many appends one fsync carried. */
  stats(): StoreWriteStats;
  /** Each group commit as it becomes durable: its appends, events and duration. */
  observeCommits(listener: (commit: StoreCommit) => void): void;
}

interface PendingAppend {
  readonly streamName: string;
  readonly events: readonly EventToAppend[];
  readonly expectedRevision: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

function storeUnavailable(cause: unknown): EsflowError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new EsflowError(ErrorCode.StoreUnavailable, `SQLite event store: ${message}`, {
    retriable: true,
    cause,
  });
}

/**
 * Why a commit failed, in words an operator acts on: SQLite's result code says whether the disk
 * is full (SQLITE_FULL, also when a write came up short) or failing (SQLITE_IOERR_*).
 */
function commitFailure(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (code === 'SQLITE_FULL') return 'the disk holding the store is full (SQLITE_FULL)';
  if (typeof code === 'string' && code.startsWith('SQLITE_IOERR'))
    return `the disk holding the store failed a read or write (${code}: ${message})`;
  return message;
}

/** The error of every append of a batch whose commit failed: retriable, nothing was written. */
function notWritten(cause: unknown): EsflowError {
  return new EsflowError(
    ErrorCode.StoreUnavailable,
    `SQLite event store: ${commitFailure(cause)}; nothing of this append was written, retry it later`,
    { retriable: true, cause },
  );
}

/**
 * The embedded event store: one SQLite file in WAL mode, safe to share between the api and
 * projector processes. Appends issued while a transaction is being committed are gathered and
 * committed together (group commit), each with its own expected-revision check, so throughput
 * is not capped at one fsync per request. Global order is commit order: SQLite serialises
 * writers, so positions never appear out of order to a reader. When SQLite itself fails a commit
 * (a full disk, an I/O error), every append of that commit is rejected with a retriable
 * STORE_UNAVAILABLE and nothing of any of them is written; reads go on working, and appends
 * succeed again once the disk has room.
 */
export function createSqliteEventStore(options: SqliteEventStoreOptions): SqliteEventStore {
  mkdirSync(dirname(options.filename), { recursive: true });
  const db = new Database(options.filename);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  enableWal(db, options.busyTimeoutMs ?? 5000);
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  migrateEventTables(db, options.busyTimeoutMs ?? 5000);
  const tables = new EventTableReader(db);

  const now = options.now ?? (() => new Date());
  const maxBatchSize = options.maxBatchSize ?? 256;
  const counters = { commits: 0, appends: 0, events: 0 };
  const commitListeners: ((commit: StoreCommit) => void)[] = [];
  let queue: PendingAppend[] = [];
  let flushScheduled = false;
  const commits = new CommitSignal();
  let closed = false;

  // Reads return rows as arrays (raw mode): faster, and their columns are few and fixed.
  const rows = <P extends unknown[]>(sql: string) => db.prepare<P, EventRow>(sql).raw(true);
  const statements = {
    readForwards: rows<[string, number, number]>(
      `SELECT ${EVENT_ROW_COLUMNS}
       WHERE e.stream_id = (SELECT stream_id FROM streams WHERE stream_name = ?)
         AND e.stream_revision >= ? ORDER BY e.stream_revision LIMIT ?`,
    ),
    readBackwards: rows<[string, number, number]>(
      `SELECT ${EVENT_ROW_COLUMNS}
       WHERE e.stream_id = (SELECT stream_id FROM streams WHERE stream_name = ?)
         AND e.stream_revision <= ? ORDER BY e.stream_revision DESC LIMIT ?`,
    ),
    readStreamStarts: rows<[number, number]>(
      `SELECT ${EVENT_ROW_COLUMNS}
       WHERE e.global_position > ? AND e.stream_revision = 0 ORDER BY e.global_position LIMIT ?`,
    ),
  };
  const readAllStatements = new Map<string, Database.Statement<unknown[], EventRow>>();
  const countStatements = new Map<string, Database.Statement<unknown[], { count: number }>>();

  const findEvent = eventRefLookup(db);

  const writer = openWriter(db, options);
  let inFlight: Promise<void> | undefined;

  function scheduleFlush(): void {
    if (flushScheduled || inFlight) return;
    flushScheduled = true;
    // Let every request parsed in this turn of the event loop join the same commit.
    setImmediate(() => {
      flushScheduled = false;
      inFlight = flush().finally(() => {
        inFlight = undefined;
        if (queue.length > 0) scheduleFlush();
      });
    });
  }

  // One commit at a time: appends that arrive while it runs wait for the next, so a batch grows
  // with the load instead of each append costing its own fsync.
  async function flush(): Promise<void> {
    const batch = queue.slice(0, maxBatchSize);
    queue = queue.slice(batch.length);
    if (batch.length === 0) return;
    let outcomes: AppendOutcome[];
    const startedAt = performance.now();
    try {
      outcomes = await writer.commit(batch.map(toCommit), now().getTime());
    } catch (error) {
      batch.forEach((pending) => pending.reject(notWritten(error)));
      return;
    }
    counters.commits += 1;
    if (commitListeners.length > 0) {
      const commit: StoreCommit = {
        appends: batch.length,
        events: batch.reduce((sum, pending) => sum + pending.events.length, 0),
        durationMs: performance.now() - startedAt,
      };
      for (const listener of commitListeners) listener(commit);
    }
    outcomes.forEach((outcome, index) => {
      const pending = batch[index]!;
      if (outcome.ok) {
        if (!outcome.result.deduplicated) {
          counters.appends += 1;
          counters.events += pending.events.length;
        }
        pending.resolve(outcome.result);
      } else {
        pending.reject(refusalError(outcome.refusal));
      }
    });
    commits.notify();
  }

  /**
   * The WHERE clause of a read of the global log: a position bound and the filter; undefined
   * when the filter names only event types the store has never recorded (nothing can match).
   */
  function logConditions(direction: 'forwards' | 'backwards', filter: AllStreamFilter | undefined) {
    const prefixes = filter?.streamNamePrefixes ?? [];
    const types = filter?.eventTypes ?? [];
    const typeIds = tables.eventTypeIds(types);
    if (types.length > 0 && typeIds.length === 0) return undefined;
    const conditions = [
      direction === 'forwards' ? 'e.global_position > ?' : 'e.global_position < ?',
    ];
    if (prefixes.length)
      conditions.push(`(${prefixes.map(() => 'substr(s.stream_name, 1, ?) = ?').join(' OR ')})`);
    if (typeIds.length) conditions.push(`e.event_type IN (${typeIds.map(() => '?').join(', ')})`);
    return {
      key: `${direction}/${prefixes.length}/${typeIds.length}`,
      where: conditions.join(' AND '),
      params: [...prefixes.flatMap((prefix) => [prefix.length, prefix]), ...typeIds],
    };
  }

  function readAllStatement(
    direction: 'forwards' | 'backwards',
    filter: AllStreamFilter | undefined,
  ) {
    const conditions = logConditions(direction, filter);
    if (!conditions) return () => [];
    const { key, where, params } = conditions;
    let statement = readAllStatements.get(key);
    if (!statement) {
      statement = rows<unknown[]>(
        `SELECT ${EVENT_ROW_COLUMNS} WHERE ${where}
         ORDER BY e.global_position ${direction === 'forwards' ? 'ASC' : 'DESC'} LIMIT ?`,
      );
      readAllStatements.set(key, statement);
    }
    return (bound: number, limit: number) => statement!.all(bound, ...params, limit);
  }

  function countStatement(filter: AllStreamFilter | undefined) {
    const conditions = logConditions('forwards', filter);
    if (!conditions) return () => 0;
    const { key, where, params } = conditions;
    let statement = countStatements.get(key);
    if (!statement) {
      statement = db.prepare<unknown[], { count: number }>(
        `SELECT COUNT(*) AS count FROM events e JOIN streams s ON s.stream_id = e.stream_id
         WHERE ${where}`,
      );
      countStatements.set(key, statement);
    }
    return (bound: number) => statement!.get(bound, ...params)!.count;
  }

  function readAll(readOptions: ReadAllOptions = {}): RecordedEvent[] {
    const direction = readOptions.direction ?? 'forwards';
    const bound =
      readOptions.after !== undefined
        ? Number(readOptions.after.commit)
        : direction === 'forwards'
          ? 0
          : Number.MAX_SAFE_INTEGER;
    const limit = readOptions.maxCount ?? -1;
    return readAllStatement(direction, readOptions.filter)(bound, limit).map(tables.recorded);
  }

  return {
    append(streamName, events, { expectedRevision }) {
      if (closed) return Promise.reject(storeUnavailable('the store is closed'));
      if (events.length === 0)
        return Promise.reject(
          new EsflowError(ErrorCode.Internal, 'append needs at least one event'),
        );
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ streamName, events, expectedRevision, resolve, reject });
        scheduleFlush();
      });
    },

    async readStream(streamName, readOptions: ReadStreamOptions = {}) {
      const maxCount = readOptions.maxCount ?? -1;
      const rows =
        readOptions.direction === 'backwards'
          ? statements.readBackwards.all(
              streamName,
              readOptions.fromRevision ?? Number.MAX_SAFE_INTEGER,
              maxCount,
            )
          : statements.readForwards.all(streamName, readOptions.fromRevision ?? 0, maxCount);
      return rows.map(tables.recorded);
    },

    async readAll(readOptions) {
      return readAll(readOptions);
    },

    async readStreamStarts({ after, maxCount }) {
      return statements.readStreamStarts
        .all(after ? Number(after.commit) : 0, maxCount)
        .map(tables.recorded);
    },

    async findEvent(eventId) {
      return findEvent(eventId);
    },

    async countEvents(countOptions) {
      return countStatement(countOptions.filter)(
        countOptions.after ? Number(countOptions.after.commit) : 0,
      );
    },

    subscribeToAll(subscribeOptions: SubscribeToAllOptions = {}) {
      return pollingSubscription(
        {
          readPage: async (after, maxCount, filter) =>
            readAll({ ...(after ? { after } : {}), maxCount, ...(filter ? { filter } : {}) }),
          waitForChange: (timeoutMs) => commits.wait(timeoutMs),
        },
        { ...subscribeOptions, pollIntervalMs: options.pollIntervalMs ?? 50 },
      );
    },

    async ping() {
      try {
        db.prepare('SELECT 1').get();
      } catch (error) {
        throw storeUnavailable(error);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      // What was accepted before the close is committed; nothing after it.
      while (queue.length > 0 || inFlight || flushScheduled) {
        if (!inFlight && !flushScheduled) scheduleFlush();
        await (inFlight ?? new Promise((resolve) => setImmediate(resolve)));
      }
      commits.notify();
      await writer.close();
      db.close();
    },

    stats: () => ({ ...counters }),
    observeCommits: (listener) => {
      commitListeners.push(listener);
    },
  };
}

const toCommit = (pending: PendingAppend): AppendToCommit => ({
  streamName: pending.streamName,
  expectedRevision: pending.expectedRevision,
  events: pending.events.map((event) => ({
    eventId: event.eventId,
    type: event.type,
    data: event.data,
    metadataJson: JSON.stringify(event.metadata),
  })),
});

/** Where the store's commits run: its worker thread, or the caller's thread. */
interface Writer {
  commit(batch: readonly AppendToCommit[], recordedAt: number): Promise<AppendOutcome[]>;
  close(): Promise<void>;
}

/** The compiled commit worker beside this module (or, run from sources, in the build output). */
function commitWorkerFile(): string | undefined {
  const compiled = __filename.endsWith('.ts')
    ? join(__dirname, '..', '..', 'dist', 'event-store', 'sqlite-commit-worker.js')
    : join(__dirname, 'sqlite-commit-worker.js');
  return existsSync(compiled) ? compiled : undefined;
}

function openWriter(db: Database.Database, options: SqliteEventStoreOptions): Writer {
  const inThread = (): Writer => {
    const committer = createCommitter(db);
    return {
      commit: async (batch, recordedAt) => committer.commit(batch, recordedAt),
      close: async () => undefined,
    };
  };
  const file = options.commitOnWorker === false ? undefined : commitWorkerFile();
  if (!file) return inThread();
  const data: CommitWorkerData = {
    filename: options.filename,
    busyTimeoutMs: options.busyTimeoutMs ?? 5000,
    synchronous: options.synchronous ?? 'FULL',
  };
  const worker = new Worker(file, { workerData: data });
  // Idle, the thread does not keep the process alive; with a commit in flight, it does.
  worker.unref();
  const waiting = new Map<
    number,
    { resolve: (reply: CommitReply) => void; reject: (error: unknown) => void }
  >();
  let nextId = 0;
  let broken: unknown;
  const failAll = (error: unknown) => {
    broken = error;
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  worker.on('message', (reply: CommitReply) => {
    const waiter = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (waiting.size === 0) worker.unref();
    waiter?.resolve(reply);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) =>
    failAll(broken ?? new Error(`the SQLite commit thread exited (code ${code})`)),
  );
  return {
    async commit(batch, recordedAt) {
      if (broken !== undefined) throw broken;
      const id = nextId++;
      const reply = await new Promise<CommitReply>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, batch, recordedAt } satisfies CommitRequest);
      });
      if ('failure' in reply)
        throw Object.assign(new Error(reply.failure.message), { code: reply.failure.code });
      return reply.outcomes;
    },
    async close() {
      if (broken !== undefined) return;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      // Until it has closed the connection, the thread keeps the process alive.
      worker.ref();
      worker.postMessage({ close: true } satisfies CommitRequest);
      await exited;
    },
  };
}
