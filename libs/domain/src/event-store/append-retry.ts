import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { AppendResult, StoredEventRef } from './event-store.port';

/**
 * The port's retry rule (see {@link EventStore.append}), for stores that can look events up by
 * id: given where each event id of a batch is already stored (undefined: not stored), returns
 * the original result when the whole batch is already in `streamName`, contiguous and in order;
 * undefined when none of it is; and rejects a batch of which only some is there.
 */
export function recognisePriorAppend(
  streamName: string,
  found: readonly (StoredEventRef | undefined)[],
): AppendResult | undefined {
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
