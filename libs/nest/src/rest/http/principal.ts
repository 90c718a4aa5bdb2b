/**
 * Who made a request, as the access-control guard established it. Operator actions record
 * `id` with what they did (the `operator` of the fact they append), so an audit names a person
 * or a key, never just a role.
 */
export interface EsflowPrincipal {
  /** The caller: a JWT's `sub`, an API key's configured name, or `anonymous` with access control off. */
  readonly id: string;
  /** What the caller may do: `reader` reads; `operator` also sends, retries, resolves, discards, rebuilds, terminates. */
  readonly roles: readonly EsflowRole[];
  /** How the caller proved who it is. */
  readonly via: 'anonymous' | 'api-key' | 'jwt';
}

/** The roles of esflow's access control. An operator may do everything a reader may. */
export type EsflowRole = 'reader' | 'operator';

/** The principal of every request while access control is off: allowed everything. */
export const ANONYMOUS_PRINCIPAL: EsflowPrincipal = Object.freeze({
  id: 'anonymous',
  roles: Object.freeze(['reader', 'operator'] as const),
  via: 'anonymous',
});

const PRINCIPAL = Symbol.for('esflow.principal');

/** Remembers the principal the guard established on the request it belongs to. */
export function setPrincipal(request: object, principal: EsflowPrincipal): void {
  (request as Record<symbol, EsflowPrincipal>)[PRINCIPAL] = principal;
}

/**
 * The principal of `request`: the one the access-control guard set, or {@link ANONYMOUS_PRINCIPAL}
 * when no guard ran (access control off).
 */
export function principalOf(request: object): EsflowPrincipal {
  return (request as Record<symbol, EsflowPrincipal | undefined>)[PRINCIPAL] ?? ANONYMOUS_PRINCIPAL;
}
