import {
  AppendResult,
  comparePositions,
  describeExpectedRevision,
  ErrorCode,
  EsflowError,
  EventStore,
  EventStoreSubscription,
  EventToAppend,
  matchesFilter,
  pollingSubscription,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  RevisionConflictError,
  satisfiesExpectedRevision,
  SubscribeToAllOptions,
} from '@esflow/domain';

/**
 * An event store held in process memory, for unit tests only: nothing survives the process.
 * It follows the same contract as the durable stores (test/contract/event-store.contract.ts).
 */
export function createMemoryEventStore(options: { now?: () => Date } = {}): EventStore {
  const now = options.now ?? (() => new Date());
  const log: RecordedEvent[] = [];
  const streams = new Map<string, RecordedEvent[]>();
  const byEventId = new Map<string, RecordedEvent>();
  let waiters: (() => void)[] = [];

  const notify = () => {
    const current = waiters;
    waiters = [];
    current.forEach((resolve) => resolve());
  };

  function existingResult(
    streamName: string,
    events: readonly EventToAppend[],
  ): AppendResult | undefined {
    const found = events.map((event) => byEventId.get(event.eventId));
    if (found.every((event) => event === undefined)) return undefined;
    const contiguous =
      found.every((event) => event?.streamName === streamName) &&
      found.every(
        (event, index) => index === 0 || event!.revision === found[index - 1]!.revision + 1,
      );
    if (!contiguous)
      throw new EsflowError(
        ErrorCode.AppendPartiallyDuplicated,
        `some but not all of the event ids are already in ${streamName} (or elsewhere)`,
      );
    const last = found[found.length - 1]!;
    return { nextExpectedRevision: last.revision, position: last.position, deduplicated: true };
  }

  const store: EventStore = {
    async append(streamName, events, { expectedRevision }) {
      if (events.length === 0)
        throw new EsflowError(ErrorCode.Internal, 'append needs at least one event');
      const duplicate = existingResult(streamName, events);
      if (duplicate) return duplicate;
      const stream = streams.get(streamName) ?? [];
      const current = stream.length - 1;
      if (!satisfiesExpectedRevision(expectedRevision, current))
        throw new RevisionConflictError(
          streamName,
          describeExpectedRevision(expectedRevision),
          current === -1 ? 'no_stream' : current,
        );
      const recordedAt = now();
      for (const event of events) {
        const position = BigInt(log.length);
        const recorded: RecordedEvent = {
          ...event,
          streamName,
          revision: stream.length,
          position: { commit: position, prepare: position },
          recordedAt,
        };
        stream.push(recorded);
        log.push(recorded);
        byEventId.set(event.eventId, recorded);
      }
      streams.set(streamName, stream);
      notify();
      const last = stream[stream.length - 1]!;
      return { nextExpectedRevision: last.revision, position: last.position, deduplicated: false };
    },

    async readStream(streamName, readOptions: ReadStreamOptions = {}) {
      const stream = streams.get(streamName) ?? [];
      const maxCount = readOptions.maxCount ?? Number.MAX_SAFE_INTEGER;
      if (readOptions.direction === 'backwards') {
        const from = readOptions.fromRevision ?? stream.length - 1;
        return stream
          .filter((e) => e.revision <= from)
          .reverse()
          .slice(0, maxCount);
      }
      const from = readOptions.fromRevision ?? 0;
      return stream.filter((e) => e.revision >= from).slice(0, maxCount);
    },

    async readAll(readOptions: ReadAllOptions = {}) {
      const maxCount = readOptions.maxCount ?? Number.MAX_SAFE_INTEGER;
      const after = readOptions.after;
      const backwards = readOptions.direction === 'backwards';
      const ordered = backwards ? [...log].reverse() : log;
      return ordered
        .filter(
          (e) =>
            !after ||
            (backwards
              ? comparePositions(e.position, after) < 0
              : comparePositions(e.position, after) > 0),
        )
        .filter((e) => matchesFilter(e, readOptions.filter))
        .slice(0, maxCount);
    },

    subscribeToAll(subscribeOptions: SubscribeToAllOptions = {}): EventStoreSubscription {
      return pollingSubscription(
        {
          readPage: (after, maxCount, filter) =>
            store.readAll({ ...(after ? { after } : {}), maxCount, ...(filter ? { filter } : {}) }),
          waitForChange: (timeoutMs) =>
            new Promise<void>((resolve) => {
              waiters.push(resolve);
              setTimeout(resolve, timeoutMs);
            }),
        },
        subscribeOptions,
      );
    },

    async ping() {},
    async close() {
      notify();
    },
  };
  return store;
}
