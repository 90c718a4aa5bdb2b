import { ErrorCode, EsflowError } from '@esflow/core';
import type { EsflowRole } from '../rest/http/principal';

/** What a route needs: nothing (`public`) or a role (an `operator` may do what a `reader` may). */
export type EsflowAccessRequirement = 'public' | EsflowRole;

/** One API key: who holds it (recorded as the principal's id), its role, and the secret itself. */
export interface EsflowApiKey {
  /** The principal id of its callers, recorded on what they do: 1–100 of `[A-Za-z0-9._@-]`. */
  readonly name: string;
  readonly role: EsflowRole;
  /** The secret, at least 16 characters; compared in constant time. */
  readonly key: string;
}

/**
 * How JWTs are checked (with `jose`): the signature against exactly one of a JWKS URL, a shared
 * secret (HMAC) or a PEM public key; `iss`, `aud`, `exp` (required) and `nbf`; the roles from
 * a claim.
 */
export interface EsflowJwtOptions {
  /** The `iss` every token must carry. */
  readonly issuer: string;
  /** The `aud` every token must include. */
  readonly audience: string;
  /** The issuer's key set (`https://…/.well-known/jwks.json`), fetched when needed and cached. */
  readonly jwksUrl?: string;
  /** A shared secret (HS256/384/512), at least 32 bytes. */
  readonly secret?: string;
  /** A PEM public key (`-----BEGIN PUBLIC KEY-----`), with `algorithms` naming its one algorithm. */
  readonly publicKey?: string;
  /**
   * The algorithms accepted. Default: HS256 with a secret, RS256 with a public key, the
   * asymmetric ones (RS, PS, ES, EdDSA) with a JWKS URL.
   */
  readonly algorithms?: readonly string[];
  /**
   * Where the roles are: a claim name or a dotted path (`realm_access.roles`), holding an array of
   * strings or a space-separated string; default `roles`. Values other than `reader` and
   * `operator` are ignored.
   */
  readonly rolesClaim?: string;
  /** Leeway for `exp` and `nbf`, in seconds (default 30). */
  readonly clockToleranceSeconds?: number;
}

/** Options of `EsflowAccessModule.forRoot`: access control for every route of the app. */
export interface EsflowAccessOptions {
  /** Off (default): every request is allowed and its principal is `anonymous`. */
  readonly enabled: boolean;
  readonly apiKeys?: readonly EsflowApiKey[];
  readonly jwt?: EsflowJwtOptions;
  /** What `/health` and the paths under it need (default `public`, for probes). */
  readonly health?: 'public' | 'reader';
  /** What `/metrics` needs (default `reader`: Prometheus can send a bearer token). */
  readonly metrics?: 'public' | 'reader';
  /** The realm of the `WWW-Authenticate` challenge (default `esflow`). */
  readonly realm?: string;
}

/** {@link EsflowAccessOptions} checked, with defaults applied. */
export interface ResolvedAccessOptions {
  readonly enabled: boolean;
  readonly apiKeys: readonly EsflowApiKey[];
  readonly jwt?: Required<Omit<EsflowJwtOptions, 'jwksUrl' | 'secret' | 'publicKey'>> &
    Pick<EsflowJwtOptions, 'jwksUrl' | 'secret' | 'publicKey'>;
  readonly health: 'public' | 'reader';
  readonly metrics: 'public' | 'reader';
  readonly realm: string;
}

/** DI token of the resolved access options. */
export const ESFLOW_ACCESS_OPTIONS = Symbol('ESFLOW_ACCESS_OPTIONS');

const ROLES: readonly string[] = ['reader', 'operator'];
const KEY_NAME = /^[A-Za-z0-9._@-]{1,100}$/;
const HMAC = ['HS256', 'HS384', 'HS512'];
const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

function invalid(message: string): never {
  throw new EsflowError(ErrorCode.InvalidConfiguration, `EsflowAccessModule: ${message}`);
}

function resolveJwt(jwt: EsflowJwtOptions): NonNullable<ResolvedAccessOptions['jwt']> {
  if (typeof jwt.issuer !== 'string' || jwt.issuer.length === 0)
    invalid('jwt.issuer must name the issuer every token must carry');
  if (typeof jwt.audience !== 'string' || jwt.audience.length === 0)
    invalid('jwt.audience must name the audience every token must include');
  const sources = (['jwksUrl', 'secret', 'publicKey'] as const).filter(
    (source) => jwt[source] !== undefined,
  );
  if (sources.length !== 1)
    invalid(
      `jwt needs exactly one of jwksUrl, secret and publicKey to check signatures, got ${sources.length === 0 ? 'none' : sources.join(' and ')}`,
    );
  if (jwt.jwksUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(jwt.jwksUrl))
    invalid(`jwt.jwksUrl must be an http(s) URL, got "${jwt.jwksUrl.slice(0, 100)}"`);
  if (jwt.secret !== undefined && Buffer.byteLength(jwt.secret) < 32)
    invalid('jwt.secret must be at least 32 bytes (256 bits) long');
  if (jwt.publicKey !== undefined && !jwt.publicKey.includes('-----BEGIN PUBLIC KEY-----'))
    invalid('jwt.publicKey must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
  const allowed = jwt.secret !== undefined ? HMAC : ASYMMETRIC;
  const algorithms =
    jwt.algorithms ??
    (jwt.secret !== undefined ? ['HS256'] : jwt.publicKey ? ['RS256'] : ASYMMETRIC);
  if (algorithms.length === 0) invalid('jwt.algorithms must name at least one algorithm');
  for (const algorithm of algorithms)
    if (!allowed.includes(algorithm))
      invalid(
        `jwt.algorithms: ${algorithm} cannot be checked with a ${jwt.secret !== undefined ? 'shared secret' : 'public key'}; use ${allowed.join(', ')}`,
      );
  if (jwt.publicKey !== undefined && algorithms.length !== 1)
    invalid('jwt.algorithms must name the one algorithm of jwt.publicKey');
  const rolesClaim = jwt.rolesClaim ?? 'roles';
  if (!/^[^.\s]+(\.[^.\s]+)*$/.test(rolesClaim))
    invalid(`jwt.rolesClaim must be a claim name or a dotted path, got "${rolesClaim}"`);
  const clockToleranceSeconds = jwt.clockToleranceSeconds ?? 30;
  if (!Number.isInteger(clockToleranceSeconds) || clockToleranceSeconds < 0)
    invalid('jwt.clockToleranceSeconds must be a whole number of seconds');
  return {
    issuer: jwt.issuer,
    audience: jwt.audience,
    ...(jwt.jwksUrl !== undefined ? { jwksUrl: jwt.jwksUrl } : {}),
    ...(jwt.secret !== undefined ? { secret: jwt.secret } : {}),
    ...(jwt.publicKey !== undefined ? { publicKey: jwt.publicKey } : {}),
    algorithms: [...algorithms],
    rolesClaim,
    clockToleranceSeconds,
  };
}

/**
 * Checks `options` and applies the defaults; a bad option is INVALID_CONFIGURATION naming it.
 * On, access control needs at least one way in: an API key or JWT verification.
 */
export function resolveAccessOptions(options: EsflowAccessOptions): ResolvedAccessOptions {
  const apiKeys = options.apiKeys ?? [];
  const names = new Set<string>();
  const keys = new Set<string>();
  for (const [i, apiKey] of apiKeys.entries()) {
    if (typeof apiKey.name !== 'string' || !KEY_NAME.test(apiKey.name))
      invalid(`apiKeys[${i}].name must be 1–100 of [A-Za-z0-9._@-]`);
    if (names.has(apiKey.name)) invalid(`apiKeys: the name "${apiKey.name}" is used twice`);
    names.add(apiKey.name);
    if (!ROLES.includes(apiKey.role))
      invalid(`apiKeys[${i}] (${apiKey.name}): the role must be reader or operator`);
    if (typeof apiKey.key !== 'string' || apiKey.key.length < 16 || /\s/.test(apiKey.key))
      invalid(
        `apiKeys[${i}] (${apiKey.name}): the key must be at least 16 characters, without spaces`,
      );
    if (keys.has(apiKey.key))
      invalid(`apiKeys[${i}] (${apiKey.name}): the same key is given to another name`);
    keys.add(apiKey.key);
  }
  const jwt = options.jwt ? resolveJwt(options.jwt) : undefined;
  if (options.enabled && apiKeys.length === 0 && !jwt)
    invalid('access control is on but nothing lets a caller in: configure apiKeys or jwt');
  for (const route of ['health', 'metrics'] as const) {
    const value = options[route];
    if (value !== undefined && value !== 'public' && value !== 'reader')
      invalid(`${route} must be public or reader, got ${String(value)}`);
  }
  return {
    enabled: options.enabled,
    apiKeys,
    ...(jwt ? { jwt } : {}),
    health: options.health ?? 'public',
    metrics: options.metrics ?? 'reader',
    realm: options.realm ?? 'esflow',
  };
}
