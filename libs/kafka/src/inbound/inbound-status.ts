/**
 * What the inbound consumer knows of itself, owned in one place: its state, its counters, the
 * partitions it was assigned, the records in hand, and its lag (measured with the admin client
 * on a timer, at most every few seconds).
 */
import { Lag, MessageOutcomeKind, ProcessorStatus } from '@esflow/core';
import type { RecordVerdict } from './inbound-record';

/**
 * The inbound consumer's states, as its {@link ProcessorStatus} reports them: `connecting` (not
 * in its group yet), `live` (consuming), `retrying` (a record or the session failed and is tried
 * again after a back-off: nothing is lost meanwhile), `stopped` (not started, stopped, or stopped
 * by a failure that cannot be retried: see `lastError`).
 */
export const InboundConsumerState = {
  Connecting: 'connecting',
  Live: 'live',
  Retrying: 'retrying',
  Stopped: 'stopped',
} as const;
/** One of the {@link InboundConsumerState} values. */
export type InboundConsumerState = (typeof InboundConsumerState)[keyof typeof InboundConsumerState];

/**
 * The inbound consumer's counters since it was made (for metrics). A record handled again after
 * a restart or a rebalance is counted again (as a duplicate, when the intake knew it).
 */
export interface InboundConsumerStats {
  /** Records taken from Kafka (each once per delivery, whatever became of it). */
  readonly received: number;
  /** The outcomes the intake answered to the messages made of records, by kind. */
  readonly outcomes: Readonly<Record<MessageOutcomeKind, number>>;
  /** Records quarantined through the intake (unreadable, not fitting, or rejected). */
  readonly quarantined: number;
  /** Records of a type no mapping names; their offsets are committed all the same. */
  readonly skipped: number;
  /**
   * Redelivered records: the intake knew their message id (`duplicate` from `receive`, also
   * counted in `outcomes.duplicate`, or from `quarantineUnreadable`).
   */
  readonly duplicates: number;
  /** Offsets committed (one per record, after the intake's answer was durable). */
  readonly committed: number;
}

/** Partitions per topic, as a consumer group assigns them. */
export type PartitionAssignment = Readonly<Record<string, readonly number[]>>;

/** What lag is measured from: each topic's partition ends, and the group's committed offsets. */
export interface LagOffsets {
  /** topic → partition → `{ low, high }` (high: the high watermark, the next offset written). */
  readonly ends: ReadonlyMap<string, ReadonlyMap<number, { low: bigint; high: bigint }>>;
  /** topic → partition → the committed offset (the next to read); absent or negative: none. */
  readonly committed: ReadonlyMap<string, ReadonlyMap<number, bigint>>;
}

/**
 * The records not consumed yet over the assigned partitions: high watermark − committed offset,
 * summed. A partition without a committed offset counts from its first offset when new groups
 * start at the beginning, else as 0 (the group starts at the end).
 */
export function lagOf(
  assignment: PartitionAssignment,
  offsets: LagOffsets,
  fromBeginning: boolean,
): number {
  let lag = 0n;
  for (const [topic, partitions] of Object.entries(assignment))
    for (const partition of partitions) {
      const end = offsets.ends.get(topic)?.get(partition);
      if (!end) continue;
      const committed = offsets.committed.get(topic)?.get(partition);
      const from =
        committed !== undefined && committed >= 0n ? committed : fromBeginning ? end.low : end.high;
      if (end.high > from) lag += end.high - from;
    }
  return Number(lag);
}

/** The admin calls lag is measured with (kafkajs's `Admin` has them). */
export interface OffsetsAdmin {
  fetchTopicOffsets(
    topic: string,
  ): Promise<readonly { partition: number; low: string; high: string }[]>;
  fetchOffsets(options: {
    groupId: string;
    topics: string[];
  }): Promise<
    readonly { topic: string; partitions: readonly { partition: number; offset: string }[] }[]
  >;
}

/** Reads the {@link LagOffsets} of the assigned topics for `groupId`. */
export async function readLagOffsets(
  admin: OffsetsAdmin,
  groupId: string,
  assignment: PartitionAssignment,
): Promise<LagOffsets> {
  const topics = Object.keys(assignment);
  const ends = new Map<string, Map<number, { low: bigint; high: bigint }>>();
  for (const topic of topics)
    ends.set(
      topic,
      new Map(
        (await admin.fetchTopicOffsets(topic)).map((p) => [
          p.partition,
          { low: BigInt(p.low), high: BigInt(p.high) },
        ]),
      ),
    );
  const committed = new Map<string, Map<number, bigint>>();
  if (topics.length > 0)
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics }))
      committed.set(topic, new Map(partitions.map((p) => [p.partition, BigInt(p.offset)])));
  return { ends, committed };
}

/** A zero for every outcome kind the intake may answer. */
const noOutcomes = () =>
  Object.fromEntries(Object.values(MessageOutcomeKind).map((kind) => [kind, 0])) as Record<
    MessageOutcomeKind,
    number
  >;

/**
 * The inbound consumer's status and counters. `lag.events` is the last measurement (null before
 * the first); `lag.seconds` the age of the oldest record in hand (0 when none is), since Kafka
 * keeps no age of records not read yet.
 */
export class InboundStatusTracker {
  private state: InboundConsumerState = InboundConsumerState.Stopped;
  private lastError: { code: string; message: string; retriable: boolean } | undefined;
  private haltedByFailure = false;
  private assignment: PartitionAssignment = {};
  private lagEvents: number | null = null;
  private measuring = false;
  private readonly inHand = new Map<string, number>();
  private received = 0;
  private readonly outcomes = noOutcomes();
  private quarantined = 0;
  private skipped = 0;
  private duplicates = 0;
  private committed = 0;

  constructor(
    private readonly identity: { name: string; kind: string; groupId: string },
    private readonly fromBeginning: boolean,
    private readonly now: () => number,
  ) {}

  get current(): InboundConsumerState {
    return this.state;
  }

  set(state: InboundConsumerState): void {
    this.state = state;
    this.haltedByFailure = false;
  }

  /** Stopped by a failure that cannot be retried: it needs an operator. */
  halted(failure: { code: string; message: string; retriable: boolean }): void {
    this.failed(failure);
    this.state = InboundConsumerState.Stopped;
    this.haltedByFailure = true;
  }

  failed(failure: { code: string; message: string; retriable: boolean }): void {
    // Field by field: an Error's message is not an own enumerable property to spread.
    this.lastError = {
      code: failure.code,
      message: failure.message,
      retriable: failure.retriable,
    };
  }

  /** The group (re)assigned partitions. */
  joined(assignment: PartitionAssignment): void {
    this.assignment = assignment;
    this.set(InboundConsumerState.Live);
  }

  /** A record was taken from Kafka; `timestamp` is its time in ms (the producer's or the log's). */
  took(topic: string, partition: number, timestamp: number): void {
    this.received += 1;
    this.inHand.set(`${topic}/${partition}`, timestamp);
  }

  /** The record in hand on this partition was handled with `verdict` and its offset committed. */
  handled(topic: string, partition: number, verdict: RecordVerdict): void {
    this.inHand.delete(`${topic}/${partition}`);
    this.committed += 1;
    if (this.state === InboundConsumerState.Retrying) this.set(InboundConsumerState.Live);
    switch (verdict.kind) {
      case 'skipped':
        this.skipped += 1;
        return;
      case 'received':
        this.outcomes[verdict.outcome.outcome] = (this.outcomes[verdict.outcome.outcome] ?? 0) + 1;
        if (verdict.outcome.outcome === 'duplicate') this.duplicates += 1;
        return;
      case 'quarantined':
        if (verdict.outcome.outcome === 'duplicate') this.duplicates += 1;
        else this.quarantined += 1;
    }
  }

  /** The record in hand on this partition was let go unhandled (stop, rebalance). */
  released(topic: string, partition: number): void {
    this.inHand.delete(`${topic}/${partition}`);
  }

  /** Measures the lag again with `admin`; keeps the last figure when Kafka cannot be asked. */
  async refreshLag(admin: OffsetsAdmin): Promise<void> {
    if (this.measuring) return;
    this.measuring = true;
    try {
      const assignment = this.assignment;
      const offsets = await readLagOffsets(admin, this.identity.groupId, assignment);
      this.lagEvents = lagOf(assignment, offsets, this.fromBeginning);
    } catch {
      // Kafka is away: keep the last figure
    } finally {
      this.measuring = false;
    }
  }

  stats(): InboundConsumerStats {
    return {
      received: this.received,
      outcomes: { ...this.outcomes },
      quarantined: this.quarantined,
      skipped: this.skipped,
      duplicates: this.duplicates,
      committed: this.committed,
    };
  }

  snapshot(): ProcessorStatus {
    return {
      name: this.identity.name,
      kind: this.identity.kind,
      state: this.state,
      position: null,
      lag: this.lagEvents === null ? null : { events: this.lagEvents, seconds: this.ageSeconds() },
      // Halted, or retrying a failure that says it will not pass by itself.
      failing:
        (this.state === InboundConsumerState.Stopped && this.haltedByFailure) ||
        (this.state === InboundConsumerState.Retrying && this.lastError?.retriable === false),
      ...(this.lastError
        ? { lastError: { code: this.lastError.code, message: this.lastError.message } }
        : {}),
    };
  }

  private ageSeconds(): Lag['seconds'] {
    if (this.inHand.size === 0 || this.lagEvents === 0) return 0;
    const oldest = Math.min(...this.inHand.values());
    return Math.max(0, Math.round((this.now() - oldest) / 100)) / 10;
  }
}
