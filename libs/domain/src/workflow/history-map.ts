interface Slot<V> {
  /** The version (stream revision) at which this value was set. */
  readonly at: number;
  readonly value: V;
  /** The value it replaced, for views older than `at`. */
  readonly earlier: Slot<V> | undefined;
}

interface Storage<V> {
  readonly slots: Map<string, Slot<V>>;
  /** The newest version written; a view at it may write in place. */
  head: number;
}

/**
 * A map that grows along one linear history (an instance's stream), each state of the
 * instance holding a view of it as of its own revision. Successive states share one storage,
 * so recording an answered request costs one entry, not a copy of every request before it; a
 * view never sees what was set after its version. Setting on a view that is no longer the
 * newest (a fork, which a linear stream does not make) copies what that view sees first, so
 * views stay immutable whatever their callers do.
 */
export class HistoryMap<V> {
  private constructor(
    private readonly storage: Storage<V>,
    /** The version this view shows: entries set at or before it. */
    readonly version: number,
  ) {}

  /** A view at `version` of `entries` (e.g. as a replay collected them). */
  static of<V>(entries: Iterable<readonly [string, V]>, version: number): HistoryMap<V> {
    const slots = new Map<string, Slot<V>>();
    for (const [key, value] of entries) slots.set(key, { at: version, value, earlier: undefined });
    return new HistoryMap({ slots, head: version }, version);
  }

  get(key: string): V | undefined {
    let slot = this.storage.slots.get(key);
    while (slot && slot.at > this.version) slot = slot.earlier;
    return slot?.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Every entry this view sees (for a snapshot of it). */
  *entries(): IterableIterator<[string, V]> {
    for (const key of this.storage.slots.keys()) {
      const value = this.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  /**
   * This view with `entries` set at `version`, which must be after this view's own: a new
   * view; this one is unchanged.
   */
  with(entries: Iterable<readonly [string, V]>, version: number): HistoryMap<V> {
    if (version <= this.version)
      throw new Error(`HistoryMap: version ${version} is not after this view's ${this.version}`);
    const storage = this.storage.head === this.version ? this.storage : this.fork();
    for (const [key, value] of entries) {
      const current = storage.slots.get(key);
      // Given twice in one call, the later value simply wins.
      const earlier = current?.at === version ? current.earlier : current;
      storage.slots.set(key, { at: version, value, earlier });
    }
    storage.head = version;
    return new HistoryMap(storage, version);
  }

  private fork(): Storage<V> {
    const slots = new Map<string, Slot<V>>();
    for (const [key, value] of this.entries())
      slots.set(key, { at: this.version, value, earlier: undefined });
    return { slots, head: this.version };
  }
}
