/** Source of the current time. Injected so that domain code never reads the wall clock itself. */
export interface Clock {
  now(): Date;
}
