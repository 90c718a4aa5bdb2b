import { parseStateText, statePaths } from '@esflow/core';

/**
 * Which running instances of a workflow a batch migration takes: those on `fromVersion`, in
 * `state` (a dotted path such as `shipping.awaitingCarrier`, or a state value as JSON) or in a
 * state below it, whose id starts with `idPrefix`.
 */
export interface MigrationFilter {
  readonly fromVersion: number;
  readonly state?: string;
  readonly idPrefix?: string;
}

/** An instance as a selection sees it: from the read model (the api) or the log (the CLI). */
export interface MigrationCandidate {
  readonly id: string;
  readonly version: number;
  readonly state: unknown;
}

/**
 * Whether `candidate` is one `filter` takes. A state matches when each leaf path the filter's
 * state names is one of the candidate's leaf paths or an ancestor of one (`shipping` takes
 * `shipping.awaitingCarrier`). Throws a plain `Error` for a state that is not JSON where it
 * should be (check it first with {@link migrationStateProblem}).
 */
export function migrationFilterMatches(
  filter: MigrationFilter,
  candidate: MigrationCandidate,
): boolean {
  if (candidate.version !== filter.fromVersion) return false;
  if (filter.idPrefix !== undefined && !candidate.id.startsWith(filter.idPrefix)) return false;
  if (filter.state === undefined) return true;
  const wanted = statePaths(parseStateText(filter.state));
  const has = statePaths(candidate.state);
  return wanted.every((path) => has.some((leaf) => leaf === path || leaf.startsWith(`${path}.`)));
}

/** What is wrong with a filter's state text, or undefined when it names a state value. */
export function migrationStateProblem(text: string): string | undefined {
  if (text.trim() === '') return 'must be a state: a dotted path, or a state value as JSON';
  let value: unknown;
  try {
    value = parseStateText(text);
  } catch {
    return 'is not valid JSON (a state value as JSON, or a dotted path)';
  }
  const paths = statePaths(value);
  return paths.length === 0 || paths.some((path) => path.split('.').includes(''))
    ? 'must name a state: a dotted path, or a state value as JSON'
    : undefined;
}
