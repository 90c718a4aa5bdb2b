import {
  ANY,
  END,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  binaryEvent,
  eventTypeFilter,
  excludeSystemEvents,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type CurrentRevision,
  type EventData,
  type Filter,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
import {
  AllStreamFilter,
  ErrorCode,
  EsflowError,
  EventMetadataRecord,
  EventToAppend,
  ExpectedRevision,
  GlobalPosition,
  RecordedEvent,
  StreamRevision,
  matchesFilter,
} from '@esflow/core';

/*
 * Translation between the port's types and @eventstore/db-client's. Everything here is internal
 * to the adapter: no client type is exported from the package.
 */

/** The port's expected revision as the client's (port revisions are numbers, the client's bigint). */
export function toClientExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case ExpectedRevision.Any:
      return ANY;
    case ExpectedRevision.NoStream:
      return NO_STREAM;
    case ExpectedRevision.StreamExists:
      return STREAM_EXISTS;
    default:
      return BigInt(checkedRevision(expected));
  }
}

/** The client's expected revision as the port's. */
export function fromClientExpectedRevision(expected: AppendExpectedRevision): ExpectedRevision {
  switch (expected) {
    case ANY:
      return ExpectedRevision.Any;
    case NO_STREAM:
      return ExpectedRevision.NoStream;
    case STREAM_EXISTS:
      return ExpectedRevision.StreamExists;
    default:
      return toRevision(expected);
  }
}

/** A stream's current revision as the client reports it (`no_stream` or a bigint), as the port's. */
export function fromClientCurrentRevision(current: CurrentRevision): StreamRevision | 'no_stream' {
  return current === NO_STREAM ? 'no_stream' : toRevision(current);
}

/** A client revision (bigint) as a port revision (number); revisions never approach 2^53. */
export function toRevision(revision: bigint): StreamRevision {
  if (revision < 0n || revision > BigInt(Number.MAX_SAFE_INTEGER))
    throw new EsflowError(
      ErrorCode.Internal,
      `EventStoreDB reported revision ${revision}, which a StreamRevision cannot hold`,
    );
  return Number(revision);
}

export function checkedRevision(revision: number): number {
  if (!Number.isSafeInteger(revision) || revision < 0)
    throw new EsflowError(
      ErrorCode.Internal,
      `expected revision ${revision} is not a revision (a whole number >= 0)`,
    );
  return revision;
}

/**
 * A port position as a client read position. The port's START_POSITION ({-1, -1}) means "before
 * the first event"; the client cannot serialise negative positions, so it becomes START.
 */
export function toReadPosition(position: GlobalPosition | undefined, backwards: boolean) {
  if (position === undefined || position.commit < 0n || position.prepare < 0n)
    return backwards ? END : START;
  return { commit: position.commit, prepare: position.prepare } satisfies Position;
}

/** The port's event as the client's: binary data, JSON metadata, the caller's event id. */
export function toEventData(event: EventToAppend): EventData {
  return binaryEvent({
    id: event.eventId,
    type: event.type,
    data: event.data,
    metadata: { ...event.metadata },
  });
}

/** `$`-prefixed streams and event types belong to EventStoreDB itself (projections, metadata, links). */
export function isSystemEvent(streamName: string, type: string): boolean {
  return streamName.startsWith('$') || type.startsWith('$');
}

/** Whether a recorded event is one the port's reader asked for. */
export function isWanted(event: RecordedEvent, filter: AllStreamFilter | undefined): boolean {
  return !isSystemEvent(event.streamName, event.type) && matchesFilter(event, filter);
}

/**
 * The server-side part of a subscription filter. EventStoreDB filters on stream name OR event
 * type, by prefixes or a regex, never both: stream prefixes win when given (the event types are
 * then matched client-side); event types are sent as prefixes (a superset of the exact match,
 * narrowed client-side); with neither, the server leaves out system events.
 */
export function toServerFilter(filter: AllStreamFilter | undefined): Filter {
  const prefixes = filter?.streamNamePrefixes ?? [];
  if (prefixes.length > 0) return streamNameFilter({ prefixes: [...prefixes] });
  const types = filter?.eventTypes ?? [];
  if (types.length > 0) return eventTypeFilter({ prefixes: [...types] });
  return excludeSystemEvents();
}

const UNKNOWN_POSITION: GlobalPosition = { commit: -1n, prepare: -1n };

/** The global position of a read event (servers before 22.6 leave it out of stream reads). */
export function positionOf(resolved: ResolvedEvent | AllStreamResolvedEvent): GlobalPosition {
  const position = resolved.event?.position;
  if (position) return { commit: position.commit, prepare: position.prepare };
  if (resolved.commitPosition !== undefined)
    return { commit: resolved.commitPosition, prepare: resolved.commitPosition };
  return UNKNOWN_POSITION;
}

/** A read event as the port's RecordedEvent; undefined when the read carried no event record. */
export function toRecordedEvent(
  resolved: ResolvedEvent | AllStreamResolvedEvent,
): RecordedEvent | undefined {
  const event = resolved.event;
  if (!event) return undefined;
  return {
    streamName: event.streamId,
    revision: toRevision(event.revision),
    position: positionOf(resolved),
    eventId: event.id,
    type: event.type,
    data: toBytes(event.data),
    metadata: toMetadataRecord(event.metadata),
    recordedAt: event.created,
  };
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  // An event another tool wrote as JSON: the client has parsed it; hand back its bytes.
  return new TextEncoder().encode(JSON.stringify(data));
}

function toMetadataRecord(metadata: unknown): EventMetadataRecord {
  if (metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata)) {
    if (!(metadata instanceof Uint8Array)) return metadata as EventMetadataRecord;
  }
  // No metadata, or metadata that is not a JSON object (written by another tool).
  return {};
}
