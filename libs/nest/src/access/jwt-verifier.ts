import type {
  CryptoKey,
  JWTPayload,
  JWTVerifyGetKey,
} from 'jose' with { 'resolution-mode': 'import' };
import { ErrorCode, EsflowError } from '@esflow/core';
import type { EsflowPrincipal, EsflowRole } from '../rest/http/principal';
import type { ResolvedAccessOptions } from './access-options';
import { rolesOf } from './api-keys';

type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' } });

/** What checking a presented credential found: its principal, or why it is refused. */
export type CredentialCheck =
  | { readonly ok: true; readonly principal: EsflowPrincipal }
  | { readonly ok: false; readonly reason: string };

/** `jose` is an ES module: loaded once, when the first token is checked. */
let jose: Promise<Jose> | undefined;
const loadJose = (): Promise<Jose> => (jose ??= import('jose'));

/** Codes of `jose` errors that say the key set could not be had, not that the token is bad. */
const UNAVAILABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/** The value at a dotted path of the claims (`realm_access.roles`). */
function claimAt(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The esflow roles a claim grants: from an array of strings or a space-separated string. */
export function rolesFromClaim(value: unknown): readonly EsflowRole[] {
  const listed =
    typeof value === 'string'
      ? value.split(/\s+/)
      : Array.isArray(value)
        ? value.filter((item): item is string => typeof item === 'string')
        : [];
  if (listed.includes('operator')) return rolesOf('operator');
  if (listed.includes('reader')) return rolesOf('reader');
  return [];
}

/** Why `jose` refused a token, in words for the 401's detail (never echoing the token). */
function reasonOf(error: { code?: string; claim?: string; message?: string }): string {
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return error.claim === 'iss'
        ? 'the token was not issued by the expected issuer'
        : error.claim === 'aud'
          ? 'the token is not meant for this audience'
          : error.claim === 'nbf'
            ? 'the token is not valid yet'
            : `the token's "${String(error.claim)}" claim is missing or not valid`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return "the token's signature does not verify";
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return "the token's algorithm is not accepted";
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return "no key of the issuer's key set matches the token";
    default:
      return 'the token is not a valid JWT';
  }
}

/**
 * A checker of JWTs as `jwt` configures it (signature, `iss`, `aud`, `exp` required, `nbf`,
 * a `sub` of at most 200 characters as the principal's id, the roles from the roles claim).
 * A token that fails is a refusal with its reason; a key set that cannot be fetched is thrown,
 * as IDENTITY_PROVIDER_UNAVAILABLE (retriable): that is not the caller's fault.
 */
export function jwtVerifier(
  jwt: NonNullable<ResolvedAccessOptions['jwt']>,
): (token: string) => Promise<CredentialCheck> {
  let key: Promise<Uint8Array | JWTVerifyGetKey | CryptoKey> | undefined;
  const keyOf = async (library: Jose) => {
    key ??= jwt.jwksUrl
      ? Promise.resolve(library.createRemoteJWKSet(new URL(jwt.jwksUrl)))
      : jwt.secret !== undefined
        ? Promise.resolve(new TextEncoder().encode(jwt.secret))
        : library.importSPKI(jwt.publicKey!, jwt.algorithms[0]!);
    return key;
  };
  return async (token) => {
    const library = await loadJose();
    let payload: JWTPayload;
    try {
      const verificationKey = await keyOf(library);
      const options = {
        issuer: jwt.issuer,
        audience: jwt.audience,
        algorithms: [...jwt.algorithms],
        clockTolerance: jwt.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
      };
      payload =
        typeof verificationKey === 'function'
          ? (await library.jwtVerify(token, verificationKey, options)).payload
          : (await library.jwtVerify(token, verificationKey, options)).payload;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (jwt.jwksUrl && (typeof code !== 'string' || UNAVAILABLE.has(code)))
        throw new EsflowError(
          ErrorCode.IdentityProviderUnavailable,
          `the issuer's key set (${jwt.jwksUrl}) cannot be fetched now: ${(error as Error).message}`,
          { retriable: true, cause: error },
        );
      if (typeof code !== 'string' || !code.startsWith('ERR_')) throw error;
      return { ok: false, reason: reasonOf(error as { code: string; claim?: string }) };
    }
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject.length === 0 || subject.length > 200)
      return { ok: false, reason: 'the token\'s "sub" claim must be 1–200 characters' };
    return {
      ok: true,
      principal: Object.freeze({
        id: subject,
        roles: rolesFromClaim(claimAt(payload, jwt.rolesClaim)),
        via: 'jwt' as const,
      }),
    };
  };
}
