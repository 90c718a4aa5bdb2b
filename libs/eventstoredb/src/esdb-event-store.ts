import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type EventData,
  type StreamingRead,
} from '@eventstore/db-client';
import {
  AppendResult,
  comparePositions,
  describeExpectedRevision,
  ErrorCode,
  EsflowError,
  EventStore,
  EventStoreSubscription,
  isEsflowError,
  EventToAppend,
  ExpectedRevision,
  GlobalPosition,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  retry,
  RetryPolicy,
  RevisionConflictError,
  SubscribeToAllOptions,
} from '@esflow/core';
import { isTransient, storeClosed, translateError } from './esdb-errors';
import {
  checkedRevision,
  fromClientCurrentRevision,
  isWanted,
  positionOf,
  toEventData,
  toReadPosition,
  toRecordedEvent,
  toRevision,
} from './esdb-mapping';
import { ResubscribingAllSubscription } from './esdb-subscription';

/**
 * Options of {@link createEsdbEventStore}: the connection string, plus tuning of retry recognition,
 * retries of transient failures, resubscription, paging and `ping()` (each default stated below). A
 * connection string the client rejects makes the factory throw INVALID_CONFIGURATION.
 */
export interface EsdbEventStoreOptions {
  /** `esdb://host:2113?tls=false` or `esdb+discover://…` */
  readonly connectionString: string;
  /**
   * How many of a stream's latest events an append compares with its event ids to recognise a
   * retry (default 32; never fewer than the batch). A retry arriving after more events than
   * this were appended to the same stream is not recognised by the adapter (EventStoreDB still
   * recognises one that repeats the original expected revision).
   */
  readonly deduplicationWindow?: number;
  /** Attempts for a call that failed for a transient reason (connection lost, leader changed); default 4. */
  readonly maxAttempts?: number;
  /** First back-off delay between attempts, and before resubscribing; doubled each time (default 50 ms). */
  readonly retryDelayMs?: number;
  /** Longest delay between two attempts to resubscribe after a lost subscription (default 5 s). */
  readonly maxResubscribeDelayMs?: number;
  /** Events per `$all` read request (default 500); filters are applied client-side in between. */
  readonly readPageSize?: number;
  /** How long `ping()` waits for an answer (default 5 s). */
  readonly pingTimeoutMs?: number;
}

/** Rounds of read-then-append an `any`/`stream_exists` append makes before trusting the server alone. */
const MAX_RELATIVE_ROUNDS = 5;

interface StreamTail {
  /** Revision of the stream's last event; -1 when the stream does not exist. */
  readonly lastRevision: number;
  /** The tail's events by (lower-case) event id. */
  readonly byId: ReadonlyMap<string, RecordedEvent>;
  /** Whether the tail is the whole stream. */
  readonly complete: boolean;
}

interface AllPageItem {
  readonly position: GlobalPosition;
  readonly recorded: RecordedEvent | undefined;
}

/**
 * The production event store: EventStoreDB through @eventstore/db-client, translated at the
 * edge so that no client type or error crosses the port.
 *
 * - Events are binary (`application/octet-stream`, esflow's Confluent-framed Avro) with the
 *   port's metadata as JSON; stream names are kept intact (`<workflow>-<id>`, so EventStoreDB's
 *   `$ce-<workflow>` category streams group a workflow's instances).
 * - Appends: WrongExpectedVersion becomes {@link RevisionConflictError}; other client errors
 *   become `EsflowError`s (STORE_UNAVAILABLE, retriable, unless a more precise code applies).
 *   Calls that fail for a transient reason are repeated a few times with back-off; for appends
 *   that is safe because of the idempotency below.
 * - Idempotency by event id does not lean on the server: EventStoreDB recognises a retry only
 *   when it repeats the original expected revision (and under `any` only "in quick
 *   succession"). Each append first reads the stream's tail ({@link
 *   EsdbEventStoreOptions.deduplicationWindow} events) and compares event ids: all present,
 *   contiguous and in order → nothing is written and the original result comes back with
 *   `deduplicated: true`; some present → APPEND_PARTIALLY_DUPLICATED. `any` and
 *   `stream_exists` are then sent as the exact revision just read, so the server checks that
 *   nothing slipped in between (if something did, read and compare again). When this call's own
 *   earlier attempt wrote the events (its answer was lost with the connection), the result says
 *   `deduplicated: false`: from the caller's point of view this call wrote them.
 * - `readAll` pages through `$all` and filters client-side (client 6.2.1 cannot send a filter
 *   with a read); system events (`$` streams and types) are left out.
 * - `subscribeToAll` filters stream prefixes server-side and resubscribes after a lost
 *   connection from the last event received (see {@link ResubscribingAllSubscription}).
 */
export function createEsdbEventStore(options: EsdbEventStoreOptions): EventStore {
  let client: EventStoreDBClient;
  try {
    client = EventStoreDBClient.connectionString(options.connectionString);
  } catch (error) {
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `not a valid EventStoreDB connection string (${options.connectionString}): ${(error as Error).message}`,
    );
  }
  const deduplicationWindow = options.deduplicationWindow ?? 32;
  const maxAttempts = options.maxAttempts ?? 4;
  const retryDelayMs = options.retryDelayMs ?? 50;
  const maxResubscribeDelayMs = options.maxResubscribeDelayMs ?? 5_000;
  const readPageSize = Math.max(2, options.readPageSize ?? 500);
  const pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
  const subscriptions = new Set<EventStoreSubscription>();
  let closed = false;

  /** Transient faults (a leader change, a dropped connection) are retried, briefly. */
  const transientPolicy: RetryPolicy = {
    maxAttempts,
    initialDelayMs: retryDelayMs,
    maxDelayMs: retryDelayMs * 2 ** Math.max(0, maxAttempts - 2),
    jitter: 'equal',
  };

  /** Runs `action`, repeating it after transient faults; every error leaves as an EsflowError. */
  async function withRetries<T>(operation: string, action: () => Promise<T>): Promise<T> {
    try {
      return await retry(
        transientPolicy,
        async () => {
          if (closed) throw storeClosed(operation);
          return action();
        },
        { retriable: (error) => !closed && !isEsflowError(error) && isTransient(error) },
      );
    } catch (error) {
      if (closed && !isEsflowError(error)) throw storeClosed(operation);
      throw translateError(error, operation);
    }
  }

  async function collect<E>(read: StreamingRead<E>, into: (event: E) => void): Promise<void> {
    for await (const event of read) into(event);
  }

  /** Events of one stream as the port's; a stream that does not exist reads as empty. */
  async function readEvents(
    streamName: string,
    options: {
      backwards: boolean;
      fromRevision: bigint | typeof START | typeof END;
      maxCount?: number;
    },
  ): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      await collect(
        client.readStream(streamName, {
          direction: options.backwards ? BACKWARDS : FORWARDS,
          fromRevision: options.fromRevision,
          ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
        }),
        (resolved) => {
          const recorded = toRecordedEvent(resolved);
          if (recorded) events.push(recorded);
        },
      );
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  const byIdOf = (events: readonly RecordedEvent[]) =>
    new Map(events.map((recorded) => [recorded.eventId.toLowerCase(), recorded]));

  async function readTail(streamName: string, count: number): Promise<StreamTail> {
    const events = await readEvents(streamName, {
      backwards: true,
      fromRevision: END,
      maxCount: count,
    });
    return {
      lastRevision: events[0]?.revision ?? -1,
      byId: byIdOf(events),
      complete: events.length < count,
    };
  }

  const lookUp = (
    events: readonly EventToAppend[],
    byId: ReadonlyMap<string, RecordedEvent>,
  ): (RecordedEvent | undefined)[] => events.map((event) => byId.get(event.eventId.toLowerCase()));

  /** Every id present, as contiguous events in the batch's order. */
  const isRetry = (found: readonly (RecordedEvent | undefined)[]) =>
    found.every(
      (recorded, index) =>
        recorded !== undefined &&
        (index === 0 || recorded.revision === found[index - 1]!.revision + 1),
    );

  /**
   * The original result if the whole batch is already in the stream (looked for in the tail);
   * throws APPEND_PARTIALLY_DUPLICATED if only part of it is.
   */
  async function alreadyAppended(
    streamName: string,
    events: readonly EventToAppend[],
    tail: StreamTail,
  ): Promise<Omit<AppendResult, 'deduplicated'> | undefined> {
    let found = lookUp(events, tail.byId);
    const first = found.findIndex((recorded) => recorded !== undefined);
    if (first === -1) return undefined;
    if (!isRetry(found) && !tail.complete) {
      // The window may have cut the batch off: read exactly where it would start.
      const start = found[first]!.revision - first;
      if (start >= 0)
        found = lookUp(
          events,
          byIdOf(
            await readEvents(streamName, {
              backwards: false,
              fromRevision: BigInt(start),
              maxCount: events.length,
            }),
          ),
        );
    }
    if (!isRetry(found))
      throw new EsflowError(
        ErrorCode.AppendPartiallyDuplicated,
        `some but not all of the ${events.length} event ids are already in ${streamName} (or not in the same order)`,
        {
          details: {
            streamName,
            present: events.filter((_, i) => found[i] !== undefined).map((e) => e.eventId),
          },
        },
      );
    const last = found[found.length - 1]!;
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  /** The expected revision sent to the server for one round of an append. */
  function targetRevision(
    streamName: string,
    expected: ExpectedRevision,
    tail: StreamTail,
    round: number,
  ): AppendExpectedRevision {
    const trustServer = round > MAX_RELATIVE_ROUNDS;
    switch (expected) {
      case ExpectedRevision.NoStream:
        return NO_STREAM;
      case ExpectedRevision.Any:
        if (trustServer) return ANY;
        return tail.lastRevision === -1 ? NO_STREAM : BigInt(tail.lastRevision);
      case ExpectedRevision.StreamExists:
        if (tail.lastRevision === -1)
          throw new RevisionConflictError(streamName, ExpectedRevision.StreamExists, 'no_stream');
        return trustServer ? STREAM_EXISTS : BigInt(tail.lastRevision);
      default:
        return BigInt(expected);
    }
  }

  async function append(
    streamName: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    if (events.length === 0)
      throw new EsflowError(ErrorCode.Internal, 'append needs at least one event');
    if (typeof expected === 'number') checkedRevision(expected);
    const relative =
      expected === ExpectedRevision.Any || expected === ExpectedRevision.StreamExists;
    const proposed: EventData[] = events.map(toEventData);
    const window = Math.max(deduplicationWindow, events.length);
    // Whether an earlier attempt of this call may have written the batch (its answer was lost).
    let mayHaveWritten = false;

    return withRetries('append', async () => {
      for (let round = 1; ; round++) {
        const tail = await readTail(streamName, window);
        const existing = await alreadyAppended(streamName, events, tail);
        if (existing) return { ...existing, deduplicated: !mayHaveWritten };

        const target = targetRevision(streamName, expected, tail, round);
        const wroteBefore = mayHaveWritten;
        mayHaveWritten = true;
        try {
          const result = await client.appendToStream(streamName, proposed, {
            expectedRevision: target,
          });
          const nextExpectedRevision = toRevision(result.nextExpectedRevision);
          return {
            nextExpectedRevision,
            // The server reports a position for every append that carries events.
            position: result.position
              ? { commit: result.position.commit, prepare: result.position.prepare }
              : { commit: -1n, prepare: -1n },
            // A success ending at or before the revision just read wrote nothing: the server
            // recognised a retry of the original expected revision beyond the window.
            deduplicated: nextExpectedRevision <= tail.lastRevision && !wroteBefore,
          };
        } catch (error) {
          if (!(error instanceof WrongExpectedVersionError)) throw error;
          mayHaveWritten = wroteBefore; // a refused append wrote nothing
          if (relative && round <= MAX_RELATIVE_ROUNDS) continue; // the stream moved: read again
          if (expected === ExpectedRevision.Any) {
            // Sent as `any` after MAX_RELATIVE_ROUNDS: the server refuses only a batch whose
            // first ids it has seen. Compare again to answer as precisely as possible.
            const now = await alreadyAppended(
              streamName,
              events,
              await readTail(streamName, window),
            );
            if (now) return { ...now, deduplicated: !mayHaveWritten };
            throw new EsflowError(
              ErrorCode.AppendPartiallyDuplicated,
              `EventStoreDB refused an append to ${streamName} under 'any': some of its event ids were appended before`,
              { details: { streamName } },
            );
          }
          // An exact revision (or no_stream) after a tail without these ids: a real conflict. (A
          // concurrent retry of the same batch with the same expected revision is answered by
          // the server with the original success, not with a conflict.)
          throw new RevisionConflictError(
            streamName,
            describeExpectedRevision(expected),
            fromClientCurrentRevision(error.actualVersion),
          );
        }
      }
    });
  }

  async function readAllPage(
    from: GlobalPosition | undefined,
    backwards: boolean,
    maxCount: number,
  ): Promise<AllPageItem[]> {
    const page: AllPageItem[] = [];
    await collect(
      client.readAll({
        direction: backwards ? BACKWARDS : FORWARDS,
        fromPosition: toReadPosition(from, backwards),
        maxCount,
      }),
      (resolved: AllStreamResolvedEvent) =>
        page.push({ position: positionOf(resolved), recorded: toRecordedEvent(resolved) }),
    );
    return page;
  }

  async function readAll(readOptions: ReadAllOptions): Promise<RecordedEvent[]> {
    const backwards = readOptions.direction === 'backwards';
    const wanted = readOptions.maxCount ?? Number.POSITIVE_INFINITY;
    if (wanted <= 0) return [];
    let cursor = readOptions.after;
    if (cursor && (cursor.commit < 0n || cursor.prepare < 0n)) {
      // START_POSITION: everything comes after it, nothing before it.
      if (backwards) return [];
      cursor = undefined;
    }
    // Unfiltered, a small read needs a small page (one more: reads from a position include it).
    const filtered = Boolean(
      readOptions.filter?.streamNamePrefixes?.length || readOptions.filter?.eventTypes?.length,
    );
    const pageSize = filtered ? readPageSize : Math.max(2, Math.min(readPageSize, wanted + 1));
    const out: RecordedEvent[] = [];
    for (;;) {
      const from = cursor;
      const page = await withRetries('readAll', () => readAllPage(from, backwards, pageSize));
      let last: GlobalPosition | undefined;
      for (const item of page) {
        // Exclusive: the server reads forwards from a position inclusively.
        if (from) {
          const order = comparePositions(item.position, from);
          if (backwards ? order >= 0 : order <= 0) continue;
        }
        last = item.position;
        if (item.recorded && isWanted(item.recorded, readOptions.filter)) {
          out.push(item.recorded);
          if (out.length >= wanted) return out;
        }
      }
      if (page.length < pageSize || last === undefined) return out;
      cursor = last;
    }
  }

  async function readStream(
    streamName: string,
    readOptions: ReadStreamOptions,
  ): Promise<RecordedEvent[]> {
    const backwards = readOptions.direction === 'backwards';
    const maxCount = readOptions.maxCount;
    if (maxCount !== undefined && maxCount <= 0) return [];
    const from = readOptions.fromRevision;
    if (from !== undefined && from < 0 && backwards) return [];
    return readEvents(streamName, {
      backwards,
      fromRevision:
        from === undefined || from < 0 ? (backwards ? END : START) : BigInt(checkedRevision(from)),
      ...(maxCount === undefined ? {} : { maxCount }),
    });
  }

  async function ping(): Promise<void> {
    const read = client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void read.cancel().catch(() => undefined);
        reject(
          new EsflowError(
            ErrorCode.StoreUnavailable,
            `EventStoreDB did not answer within ${pingTimeoutMs} ms`,
            { retriable: true, details: { operation: 'ping' } },
          ),
        );
      }, pingTimeoutMs);
    });
    try {
      await Promise.race([collect(read, () => undefined), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    append: (streamName, events, { expectedRevision }) =>
      append(streamName, events, expectedRevision),

    readStream: (streamName, readOptions = {}) =>
      withRetries('readStream', () => readStream(streamName, readOptions)),

    readAll: (readOptions = {}) => readAll(readOptions),

    subscribeToAll(subscribeOptions: SubscribeToAllOptions = {}) {
      if (closed) throw storeClosed('subscribeToAll');
      const subscription: EventStoreSubscription = new ResubscribingAllSubscription(client, {
        ...subscribeOptions,
        retryDelayMs,
        maxRetryDelayMs: maxResubscribeDelayMs,
        onEnd: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return subscription;
    },

    ping: () => withRetries('ping', ping),

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      await client.dispose();
    },
  };
}
