import {
  AllStreamFilter,
  ExpectedRevision,
  GlobalPosition,
  RecordedEvent,
} from './event-store.port';

/**
 * The position before every event (`-1/-1`): reading or subscribing after it starts with the first
 * event.
 */
export const START_POSITION: GlobalPosition = { commit: -1n, prepare: -1n };

/**
 * Orders global positions by commit, then prepare; negative, zero or positive, as
 * `Array.prototype.sort` expects.
 */
export function comparePositions(a: GlobalPosition, b: GlobalPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** A stable text form (`commit/prepare`) for checkpoints, cursors and JSON. */
export function formatPosition(position: GlobalPosition): string {
  return `${position.commit}/${position.prepare}`;
}

/**
 * Parses the `commit/prepare` text of {@link formatPosition} back into a position; throws a plain
 * `Error` for any other text.
 */
export function parsePosition(text: string): GlobalPosition {
  const match = /^(-?\d+)\/(-?\d+)$/.exec(text);
  if (!match) throw new Error(`not a position: ${text}`);
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
}

/**
 * Whether an event passes an {@link AllStreamFilter}: its stream name starts with one of the
 * prefixes and its type is one of the types, an empty or absent list matching all. For adapters
 * that filter the global log themselves.
 */
export function matchesFilter(
  event: Pick<RecordedEvent, 'streamName' | 'type'>,
  filter: AllStreamFilter | undefined,
): boolean {
  if (!filter) return true;
  const { streamNamePrefixes, eventTypes } = filter;
  if (streamNamePrefixes?.length && !streamNamePrefixes.some((p) => event.streamName.startsWith(p)))
    return false;
  if (eventTypes?.length && !eventTypes.includes(event.type)) return false;
  return true;
}

/**
 * An expected revision as text for messages and error details: the number, or `any`, `no_stream` or
 * `stream_exists`.
 */
export function describeExpectedRevision(expected: ExpectedRevision): string {
  return typeof expected === 'number' ? String(expected) : expected;
}

/** Decides an expected-revision check given the stream's current last revision (-1 = none). */
export function satisfiesExpectedRevision(expected: ExpectedRevision, current: number): boolean {
  switch (expected) {
    case ExpectedRevision.Any:
      return true;
    case ExpectedRevision.NoStream:
      return current === -1;
    case ExpectedRevision.StreamExists:
      return current >= 0;
    default:
      return current === expected;
  }
}
