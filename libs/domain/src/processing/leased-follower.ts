import { AllStreamFilter, EventStore } from '../event-store/event-store.port';
import { formatPosition } from '../event-store/position';
import { ErrorCode, isEsflowError } from '../errors/esflow-error';
import { Clock } from '../ports/clock.port';
import { realSleep, realSleepUnlessAborted } from '../ports/sleeper.port';
import { backoffDelay, BackoffPolicy } from '../retry/retry';
import { CheckpointedHandler } from './checkpointed-handler';
import { liveEventSource } from './event-source';
import { Lag, measureLag } from './lag';
import { Lease, LeaseStore } from './lease';
import { Processor, ProcessorStatus, runProcessor } from './processor';

/** What a {@link LeasedFollower} runs on. */
export interface LeasedFollowerOptions {
  /** The processor's name and kind, as its status reports them (e.g. `timers`, `timerService`). */
  readonly name: string;
  readonly kind: string;
  /** The lease's name in the lease store: one process at a time follows and works. */
  readonly leaseName: string;
  readonly store: EventStore;
  readonly leases: LeaseStore;
  /** This process, as the lease names it. */
  readonly owner: string;
  readonly clock: Clock;
  /** The events followed (checkpointed by `target`). */
  readonly filter: AllStreamFilter;
  /** Applies each batch of followed events and keeps the checkpoint, atomically. */
  readonly target: CheckpointedHandler;
  /**
   * Work that runs beside the following for as long as the lease is held (e.g. firing timers,
   * running command handlers); `signal` aborts when the lease is lost or the processor stops, and
   * the work then finishes what it has in flight and returns.
   */
  readonly work?: (signal: AbortSignal) => Promise<void>;
  /** The lease's time to live in ms (default 10 000); renewed every third of it. */
  readonly leaseTtlMs?: number;
  /** Events applied per batch (default 500). */
  readonly maxBatchEvents?: number;
  readonly onError?: (message: string, error: unknown) => void;
}

type FollowerState = 'waitingForLease' | 'catchingUp' | 'live' | 'stopped';

/**
 * The runtime every log-following processor of esflow shares (the timer service, the command
 * dispatcher): it holds a lease so one process works at a time, follows the log from the
 * target's checkpoint (catch-up, then live; after a fault it resumes from the checkpoint with
 * back-off, so a crash re-applies nothing and skips nothing), runs the processor's own work beside
 * it, renews the lease every third of its time to live, measures lag, and reports one status.
 */
export class LeasedFollower implements Processor {
  readonly name: string;
  private readonly stopping = new AbortController();
  private readonly lease: Lease;
  private supervisor: Promise<void> | undefined;
  private state: FollowerState = 'waitingForLease';
  private lastError: { code: string; message: string } | undefined;
  private lag: Lag | null = null;
  private position: string | null = null;

  constructor(private readonly options: LeasedFollowerOptions) {
    this.name = options.name;
    this.lease = new Lease(options.leases, options.leaseName, options.owner, this.leaseTtlMs);
  }

  private get leaseTtlMs(): number {
    return this.options.leaseTtlMs ?? 10_000;
  }

  start(): void {
    this.supervisor ??= this.supervise();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.supervisor;
    await this.lease.release();
    this.state = 'stopped';
  }

  status(): ProcessorStatus {
    return {
      name: this.name,
      kind: this.options.kind,
      state: this.state,
      position: this.position,
      lag: this.lag,
      failing: false,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Records a fault for the status (its stable code and message) and reports it. */
  fault(message: string, error: unknown): void {
    const code = isEsflowError(error) ? error.code : ErrorCode.Internal;
    const cause = error instanceof Error ? error.message : String(error ?? 'unknown');
    this.lastError = { code, message: `${message}: ${cause}` };
    this.options.onError?.(message, error);
  }

  private async supervise(): Promise<void> {
    const signal = this.stopping.signal;
    const heartbeatMs = Math.max(1, Math.floor(this.leaseTtlMs / 3));
    if (!(await this.lease.acquire(signal, heartbeatMs, realSleep))) return;
    // Lost lease or stop: every loop below ends, finishing the batch or the work in flight.
    const running = new AbortController();
    const stop = () => running.abort();
    signal.addEventListener('abort', stop, { once: true });
    this.state = 'catchingUp';
    await Promise.all([
      this.keepFollowing(running.signal),
      this.options.work?.(running.signal),
      this.keepLease(running, heartbeatMs),
    ]);
    signal.removeEventListener('abort', stop);
  }

  private async keepLease(running: AbortController, heartbeatMs: number): Promise<void> {
    while (!running.signal.aborted) {
      await realSleepUnlessAborted(heartbeatMs, running.signal);
      if (running.signal.aborted) return;
      const held = await this.lease.renew().catch((error: unknown) => {
        this.options.onError?.(`${this.name}: lease renewal failed`, error);
        return true; // not known to be lost: it still expires only after its TTL
      });
      if (!held) {
        this.options.onError?.(`${this.name}: another process took the lease`, undefined);
        this.state = 'waitingForLease';
        running.abort();
      }
      await this.measureLag().catch(() => undefined);
    }
  }

  private async measureLag(): Promise<void> {
    const after = await this.options.target.checkpoint();
    this.lag = await measureLag(this.options.store, {
      after,
      filter: this.options.filter,
      now: this.options.clock.now(),
    });
    if (this.lag.events === 0 && this.state === 'catchingUp') this.state = 'live';
  }

  private async keepFollowing(signal: AbortSignal): Promise<void> {
    const { store, target, filter } = this.options;
    const handler: CheckpointedHandler = {
      checkpoint: () => target.checkpoint(),
      apply: async (batch) => {
        await target.apply(batch);
        this.position = formatPosition(batch[batch.length - 1]!.position);
      },
    };
    let attempt = 0;
    while (!signal.aborted) {
      const after = await target.checkpoint().catch(() => undefined);
      const source = liveEventSource(store, { ...(after ? { after } : {}), filter });
      try {
        await runProcessor({
          source,
          handler,
          limits: { maxEvents: this.options.maxBatchEvents ?? 500 },
          signal,
          onApplied: () => {
            attempt = 0;
            if (source.buffered === 0) this.state = 'live';
          },
        });
      } catch (error) {
        this.fault(`${this.name}: following the log failed; resuming from the checkpoint`, error);
        await realSleepUnlessAborted(backoffDelay(FAULT_RETRY, ++attempt, Math.random), signal);
      } finally {
        await source.close();
      }
    }
  }
}

/** Back-off after a fault: 100 ms doubling to 30 s, with jitter. */
export const FAULT_RETRY: BackoffPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  jitter: 'equal',
};
