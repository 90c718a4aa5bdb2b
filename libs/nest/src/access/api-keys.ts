import { createHash, timingSafeEqual } from 'node:crypto';
import type { EsflowPrincipal, EsflowRole } from '../rest/http/principal';
import type { EsflowApiKey } from './access-options';

/** The roles a role grants: an operator may do everything a reader may. */
export function rolesOf(role: EsflowRole): readonly EsflowRole[] {
  return role === 'operator' ? ['reader', 'operator'] : ['reader'];
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Finds the principal of an API key. Every configured key is compared, each in constant time
 * (over SHA-256 digests, so lengths do not show either), and the loop never stops early: how
 * long a lookup takes says nothing about which key, or how much of one, was right.
 */
export function apiKeyVerifier(
  apiKeys: readonly EsflowApiKey[],
): (presented: string) => EsflowPrincipal | undefined {
  const known = apiKeys.map((apiKey) => ({
    digest: digest(apiKey.key),
    principal: Object.freeze({
      id: apiKey.name,
      roles: rolesOf(apiKey.role),
      via: 'api-key' as const,
    }),
  }));
  return (presented) => {
    const candidate = digest(presented);
    let found: EsflowPrincipal | undefined;
    for (const entry of known)
      if (timingSafeEqual(entry.digest, candidate)) found = entry.principal;
    return found;
  };
}
