import { Sleep } from '../ports/sleeper.port';

/**
 * The right to run a processor, held by one owner at a time (implemented by the read-model
 * stores for projections). Only the holder writes the processor's target and checkpoint.
 */
export interface LeaseStore {
  /**
   * Takes (or renews) the lease on `name` for `ttlMs`: true if no other owner holds an unexpired
   * one. Renewing before it expires keeps it; an owner that stops renewing loses it after `ttlMs`.
   */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up at once, if `owner` holds it: the next owner need not wait for expiry. */
  releaseLease(name: string, owner: string): Promise<void>;
}

/**
 * One owner's hold on one lease: acquire (waiting while another owner holds it), renew on the
 * owner's heartbeat, notice the loss, hand over on release.
 */
export class Lease {
  private holding = false;

  constructor(
    private readonly store: LeaseStore,
    readonly name: string,
    readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  /** Whether this owner held the lease at the last acquire or renew. */
  get held(): boolean {
    return this.holding;
  }

  /**
   * Tries every `retryEveryMs` until the lease is held (true) or `signal` aborts (false). A store
   * fault counts as not held, and is tried again.
   */
  async acquire(signal: AbortSignal, retryEveryMs: number, sleep: Sleep): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.renew().catch(() => false)) return true;
      await sleep(retryEveryMs);
    }
    return false;
  }

  /**
   * Renews the lease: false when another owner has it now (this one must stop writing). A store
   * fault is thrown: the lease is not known to be lost, and still expires only after its TTL.
   */
  async renew(): Promise<boolean> {
    this.holding = await this.store.acquireLease(this.name, this.owner, this.ttlMs);
    return this.holding;
  }

  /** Hands the lease over, if held. Never throws. */
  async release(): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    await this.store.releaseLease(this.name, this.owner).catch(() => undefined);
  }
}
