/** Options of `EsflowRestModule.forRoot`. */
export interface EsflowRestOptions {
  /** Largest accepted JSON body, in bytes (default 1 MiB); a larger one is 413 PAYLOAD_TOO_LARGE. */
  readonly bodyLimitBytes?: number;
  /**
   * How soon after a rebuild was swapped in another one may be asked for, in ms (default 30 000):
   * earlier is 429 REBUILD_TOO_SOON with `Retry-After`, so nothing can keep a projector replaying.
   */
  readonly rebuildCooldownMs?: number;
}

/** {@link EsflowRestOptions} with defaults applied. */
export type ResolvedRestOptions = Required<EsflowRestOptions>;

/** DI token of the REST module's resolved options. */
export const ESFLOW_REST_OPTIONS = Symbol('ESFLOW_REST_OPTIONS');
