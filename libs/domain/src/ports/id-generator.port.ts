/** Source of identifiers. Injected so that ids are deterministic in tests and replays. */
export interface IdGenerator {
  /** A new random UUID. */
  random(): string;
  /**
   * A UUID derived only from `name` (UUIDv5-style): the same name always gives the same id.
   * Used to turn an `Idempotency-Key` into an event id, so a repeated request is recognised.
   */
  deterministic(name: string): string;
}
