/**
 * Compatibility levels with Confluent Schema Registry's meaning. "New" is the schema being
 * checked (the working tree's); "released" versions are those already in use.
 *
 * - `BACKWARD`: code on the new schema can read data written with the latest released version.
 * - `FORWARD`: code on the latest released version can read data written with the new schema.
 * - `FULL`: both.
 * - `*_TRANSITIVE`: the same, against every released version instead of the latest only.
 * - `NONE`: no check.
 */
export const CompatibilityLevel = {
  Backward: 'BACKWARD',
  BackwardTransitive: 'BACKWARD_TRANSITIVE',
  Forward: 'FORWARD',
  ForwardTransitive: 'FORWARD_TRANSITIVE',
  Full: 'FULL',
  FullTransitive: 'FULL_TRANSITIVE',
  None: 'NONE',
} as const;
export type CompatibilityLevel = (typeof CompatibilityLevel)[keyof typeof CompatibilityLevel];

/**
 * Every {@link CompatibilityLevel}, e.g. for validating configuration and listing the choices in
 * errors.
 */
export const COMPATIBILITY_LEVELS: readonly CompatibilityLevel[] =
  Object.values(CompatibilityLevel);

/**
 * The level of event streams unless configured otherwise: stored events are replayed forever,
 * so code on the newest schema must read every version ever written.
 */
export const DEFAULT_EVENT_STREAM_LEVEL: CompatibilityLevel = CompatibilityLevel.BackwardTransitive;

/** `backward`: the new schema reads old data. `forward`: old schemas read new data. */
export type CompatibilityDirection = 'backward' | 'forward';

/** Whether `value` is one of the {@link COMPATIBILITY_LEVELS} (exact, upper-case spelling). */
export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

/** Which directions a level checks, and whether against every released version. */
export function levelChecks(level: CompatibilityLevel): {
  readonly directions: readonly CompatibilityDirection[];
  readonly transitive: boolean;
} {
  switch (level) {
    case CompatibilityLevel.Backward:
      return { directions: ['backward'], transitive: false };
    case CompatibilityLevel.BackwardTransitive:
      return { directions: ['backward'], transitive: true };
    case CompatibilityLevel.Forward:
      return { directions: ['forward'], transitive: false };
    case CompatibilityLevel.ForwardTransitive:
      return { directions: ['forward'], transitive: true };
    case CompatibilityLevel.Full:
      return { directions: ['backward', 'forward'], transitive: false };
    case CompatibilityLevel.FullTransitive:
      return { directions: ['backward', 'forward'], transitive: true };
    case CompatibilityLevel.None:
      return { directions: [], transitive: false };
  }
}
