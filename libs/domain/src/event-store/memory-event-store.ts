import { ErrorCode, EsflowError, RevisionConflictError } from '../errors/esflow-error';
import { recognisePriorAppend } from './append-retry';
import {
  EventStore,
  EventStoreSubscription,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
} from './event-store.port';
import { CommitSignal, pollingSubscription } from './polling-subscription';
import {
  comparePositions,
  describeExpectedRevision,
  matchesFilter,
  satisfiesExpectedRevision,
} from './position';

/**
 * An event store held in process memory, for unit tests only: nothing survives the process.
 * It follows the same contract as the durable stores (test/contract/event-store.contract.ts).
 */
export function createMemoryEventStore(options: { now?: () => Date } = {}): EventStore {
  const now = options.now ?? (() => new Date());
  const log: RecordedEvent[] = [];
  const streams = new Map<string, RecordedEvent[]>();
  const byEventId = new Map<string, RecordedEvent>();
  const commits = new CommitSignal();

  const store: EventStore = {
    async append(streamName, events, { expectedRevision }) {
      if (events.length === 0)
        throw new EsflowError(ErrorCode.Internal, 'append needs at least one event');
      const duplicate = recognisePriorAppend(
        streamName,
        events.map((event) => byEventId.get(event.eventId)),
      );
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
      commits.notify();
      const last = stream[stream.length - 1]!;
      return { nextExpectedRevision: last.revision, position: last.position, deduplicated: false };
    },

    // A stream's array index is its revision and the log's is the position: reads slice, so a
    // read costs what it returns, not the length of the stream or the log.
    async readStream(streamName, readOptions: ReadStreamOptions = {}) {
      const stream = streams.get(streamName) ?? [];
      const maxCount = readOptions.maxCount ?? Number.MAX_SAFE_INTEGER;
      if (readOptions.direction === 'backwards') {
        const from = Math.min(readOptions.fromRevision ?? stream.length - 1, stream.length - 1);
        return stream.slice(Math.max(0, from - maxCount + 1), from + 1).reverse();
      }
      const from = Math.max(0, readOptions.fromRevision ?? 0);
      return stream.slice(from, from + maxCount);
    },

    async readAll(readOptions: ReadAllOptions = {}) {
      const maxCount = readOptions.maxCount ?? Number.MAX_SAFE_INTEGER;
      const after = readOptions.after === undefined ? undefined : Number(readOptions.after.commit);
      const found: RecordedEvent[] = [];
      if (readOptions.direction === 'backwards') {
        for (let i = Math.min(after ?? log.length, log.length) - 1; i >= 0; i--) {
          if (found.length >= maxCount) break;
          if (matchesFilter(log[i]!, readOptions.filter)) found.push(log[i]!);
        }
        return found;
      }
      for (let i = after === undefined ? 0 : Math.max(0, after + 1); i < log.length; i++) {
        if (found.length >= maxCount) break;
        if (matchesFilter(log[i]!, readOptions.filter)) found.push(log[i]!);
      }
      return found;
    },

    async readStreamStarts({ after, maxCount }) {
      const found: RecordedEvent[] = [];
      for (let i = after === undefined ? 0 : Number(after.commit) + 1; i < log.length; i++) {
        if (found.length >= maxCount) break;
        if (log[i]!.revision === 0) found.push(log[i]!);
      }
      return found;
    },

    subscribeToAll(subscribeOptions: SubscribeToAllOptions = {}): EventStoreSubscription {
      return pollingSubscription(
        {
          readPage: (after, maxCount, filter) =>
            store.readAll({ ...(after ? { after } : {}), maxCount, ...(filter ? { filter } : {}) }),
          waitForChange: (timeoutMs) => commits.wait(timeoutMs),
        },
        subscribeOptions,
      );
    },

    async findEvent(eventId) {
      const found = byEventId.get(eventId);
      return (
        found && {
          streamName: found.streamName,
          revision: found.revision,
          position: found.position,
        }
      );
    },

    async countEvents({ after, filter }) {
      return log.filter(
        (e) => (!after || comparePositions(e.position, after) > 0) && matchesFilter(e, filter),
      ).length;
    },

    async ping() {},
    async close() {
      commits.notify();
    },
  };
  return store;
}
