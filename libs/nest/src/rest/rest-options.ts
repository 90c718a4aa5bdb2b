/** Options of `EsflowRestModule.forRoot`. */
export interface EsflowRestOptions {
  /** Largest accepted JSON body, in bytes (default 1 MiB); a larger one is 413 PAYLOAD_TOO_LARGE. */
  readonly bodyLimitBytes?: number;
}

/** {@link EsflowRestOptions} with defaults applied. */
export type ResolvedRestOptions = Required<EsflowRestOptions>;

/** DI token of the REST module's resolved options. */
export const ESFLOW_REST_OPTIONS = Symbol('ESFLOW_REST_OPTIONS');
