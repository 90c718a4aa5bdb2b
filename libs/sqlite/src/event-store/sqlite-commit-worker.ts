import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { AppendToCommit, createCommitter } from './sqlite-commit';

// The SQLite event store's commit thread: it owns the store's write connection, so the fsync of
// each group commit (and the inserts before it) happens here while the caller's event loop goes
// on parsing requests and gathering the next batch.

/** What the store passes the thread. */
export interface CommitWorkerData {
  readonly filename: string;
  readonly busyTimeoutMs: number;
  readonly synchronous: 'FULL' | 'NORMAL';
}

/** A request to the thread: commit one batch (replied to with its `id`), or close. */
export type CommitRequest =
  | { readonly id: number; readonly batch: readonly AppendToCommit[]; readonly recordedAt: number }
  | { readonly close: true };

/** The thread's reply: every append's outcome, or why SQLite failed the whole commit. */
export type CommitReply =
  | {
      readonly id: number;
      readonly outcomes: ReturnType<ReturnType<typeof createCommitter>['commit']>;
    }
  | { readonly id: number; readonly failure: { readonly code?: string; readonly message: string } };

if (parentPort) {
  const port = parentPort;
  const options = workerData as CommitWorkerData;
  const db = new Database(options.filename);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  db.pragma(`synchronous = ${options.synchronous}`);
  const committer = createCommitter(db);
  port.on('message', (request: CommitRequest) => {
    if ('close' in request) {
      db.close();
      port.close();
      return;
    }
    let reply: CommitReply;
    try {
      reply = { id: request.id, outcomes: committer.commit(request.batch, request.recordedAt) };
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      reply = {
        id: request.id,
        failure: {
          ...(typeof code === 'string' ? { code } : {}),
          message: error instanceof Error ? error.message : String(error),
        },
      };
    }
    port.postMessage(reply);
  });
}
