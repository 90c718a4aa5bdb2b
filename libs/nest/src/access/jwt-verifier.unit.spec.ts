import { createServer } from 'node:net';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@esflow/core';
import { resolveAccessOptions } from './access-options';
import { jwtVerifier, rolesFromClaim } from './jwt-verifier';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!';
const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'esflow';

const jwtOptions = (jwt: Record<string, unknown>) =>
  resolveAccessOptions({ enabled: true, jwt: { issuer: ISSUER, audience: AUDIENCE, ...jwt } }).jwt!;

function signed(
  claims: Record<string, unknown>,
  options: { alg?: string; exp?: number | string; issuer?: string; audience?: string } = {},
): SignJWT {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject('svc-billing')
    .setExpirationTime(options.exp ?? '5m');
}
const secret = new TextEncoder().encode(SECRET);

describe('jwtVerifier with a shared secret', () => {
  const verify = jwtVerifier(jwtOptions({ secret: SECRET }));

  it("accepts a valid token: the subject is the principal's id, the roles come from `roles`", async () => {
    expect(await verify(await signed({ roles: ['operator'] }).sign(secret))).toEqual({
      ok: true,
      principal: { id: 'svc-billing', roles: ['reader', 'operator'], via: 'jwt' },
    });
  });

  it('refuses a wrong issuer, a wrong audience, an expired token, another secret', async () => {
    const cases: [SignJWT, Uint8Array, RegExp][] = [
      [signed({}, { issuer: 'https://other.test/' }), secret, /expected issuer/],
      [signed({}, { audience: 'other' }), secret, /audience/],
      [signed({}, { exp: Math.floor(Date.now() / 1000) - 120 }), secret, /expired/],
      [signed({}), new TextEncoder().encode('another-secret-of-at-least-32-bytes!!'), /signature/],
    ];
    for (const [token, key, reason] of cases) {
      const check = await verify(await token.sign(key));
      expect(check.ok).toBe(false);
      expect(check.ok ? '' : check.reason).toMatch(reason);
    }
  });

  it('refuses an algorithm it was not told to accept, and a token without a subject', async () => {
    const hs512 = await signed({}, { alg: 'HS512' }).sign(secret);
    expect(await verify(hs512)).toEqual({
      ok: false,
      reason: "the token's algorithm is not accepted",
    });
    const anonymous = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(secret);
    expect((await verify(anonymous)).ok).toBe(false);
  });

  it('reads the roles from a configured dotted claim', async () => {
    const keycloak = jwtVerifier(jwtOptions({ secret: SECRET, rolesClaim: 'realm_access.roles' }));
    const check = await keycloak(
      await signed({ realm_access: { roles: ['reader', 'offline_access'] } }).sign(secret),
    );
    expect(check).toMatchObject({ ok: true, principal: { roles: ['reader'] } });
  });
});

describe('jwtVerifier with a PEM public key', () => {
  it('accepts a token signed by its private key, refuses one signed by another', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const other = await generateKeyPair('ES256');
    const verify = jwtVerifier(
      jwtOptions({ publicKey: await exportSPKI(pair.publicKey), algorithms: ['ES256'] }),
    );
    const good = await signed({ roles: 'reader' }, { alg: 'ES256' }).sign(pair.privateKey);
    expect(await verify(good)).toMatchObject({ ok: true, principal: { roles: ['reader'] } });
    const bad = await signed({ roles: 'reader' }, { alg: 'ES256' }).sign(other.privateKey);
    expect((await verify(bad)).ok).toBe(false);
  });
});

describe('jwtVerifier with a JWKS URL', () => {
  it('throws IDENTITY_PROVIDER_UNAVAILABLE (retriable) when the key set cannot be fetched', async () => {
    // A port nothing listens on: take one, then close it.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const verify = jwtVerifier(jwtOptions({ jwksUrl: `http://127.0.0.1:${port}/jwks` }));
    const pair = await generateKeyPair('RS256');
    const token = await signed({}, { alg: 'RS256' }).sign(pair.privateKey);
    await expect(verify(token)).rejects.toMatchObject({
      code: ErrorCode.IdentityProviderUnavailable,
      retriable: true,
    });
  });
});

describe('rolesFromClaim', () => {
  it('reads arrays and space-separated strings, ignoring other roles and shapes', () => {
    expect(rolesFromClaim(['operator'])).toEqual(['reader', 'operator']);
    expect(rolesFromClaim('openid reader')).toEqual(['reader']);
    expect(rolesFromClaim(['admin', 42])).toEqual([]);
    expect(rolesFromClaim({ operator: true })).toEqual([]);
    expect(rolesFromClaim(undefined)).toEqual([]);
  });
});
