import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@esflow/core';
import { resolveAccessOptions } from './access-options';
import { accessControlWarning } from './access-warning';

const KEY = 'k-0123456789abcdef';
const SECRET = 's'.repeat(32);
const JWT = { issuer: 'https://issuer.test/', audience: 'esflow' };

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect((error as { code?: string }).code).toBe(ErrorCode.InvalidConfiguration);
    return (error as Error).message;
  }
  throw new Error('expected INVALID_CONFIGURATION');
}

describe('resolveAccessOptions', () => {
  it('defaults: health public, metrics reader, realm esflow, no keys', () => {
    expect(resolveAccessOptions({ enabled: false })).toEqual({
      enabled: false,
      apiKeys: [],
      health: 'public',
      metrics: 'reader',
      realm: 'esflow',
    });
  });

  it('applies the JWT defaults by key source', () => {
    expect(resolveAccessOptions({ enabled: true, jwt: { ...JWT, secret: SECRET } }).jwt).toEqual({
      ...JWT,
      secret: SECRET,
      algorithms: ['HS256'],
      rolesClaim: 'roles',
      clockToleranceSeconds: 30,
    });
    const jwks = resolveAccessOptions({
      enabled: true,
      jwt: { ...JWT, jwksUrl: 'https://issuer.test/jwks' },
    }).jwt!;
    expect(jwks.algorithms).toContain('RS256');
    expect(jwks.algorithms).not.toContain('HS256');
  });

  it('refuses access control on with no way in', () => {
    expect(refusal(() => resolveAccessOptions({ enabled: true }))).toMatch(/apiKeys or jwt/);
  });

  it('refuses bad API keys, naming the entry but never the key', () => {
    const short = refusal(() =>
      resolveAccessOptions({
        enabled: true,
        apiKeys: [{ name: 'ci', role: 'operator', key: 'short' }],
      }),
    );
    expect(short).toMatch(/apiKeys\[0\] \(ci\).*16 characters/);
    expect(short).not.toContain('short"');
    expect(
      refusal(() =>
        resolveAccessOptions({
          enabled: true,
          apiKeys: [
            { name: 'ci', role: 'operator', key: KEY },
            { name: 'ci', role: 'reader', key: `${KEY}2` },
          ],
        }),
      ),
    ).toMatch(/used twice/);
    expect(
      refusal(() =>
        resolveAccessOptions({
          enabled: true,
          apiKeys: [
            { name: 'a', role: 'operator', key: KEY },
            { name: 'b', role: 'reader', key: KEY },
          ],
        }),
      ),
    ).toMatch(/same key/);
    expect(
      refusal(() =>
        resolveAccessOptions({
          enabled: true,
          apiKeys: [{ name: 'a', role: 'admin' as 'reader', key: KEY }],
        }),
      ),
    ).toMatch(/reader or operator/);
  });

  it('refuses a JWT configuration that cannot check tokens safely', () => {
    expect(refusal(() => resolveAccessOptions({ enabled: true, jwt: { ...JWT } }))).toMatch(
      /exactly one of jwksUrl, secret and publicKey/,
    );
    expect(
      refusal(() =>
        resolveAccessOptions({
          enabled: true,
          jwt: { ...JWT, secret: SECRET, jwksUrl: 'https://issuer.test/jwks' },
        }),
      ),
    ).toMatch(/jwksUrl and secret/);
    expect(
      refusal(() => resolveAccessOptions({ enabled: true, jwt: { ...JWT, secret: 'short' } })),
    ).toMatch(/32 bytes/);
    expect(
      refusal(() =>
        resolveAccessOptions({
          enabled: true,
          jwt: { ...JWT, jwksUrl: 'https://issuer.test/jwks', algorithms: ['HS256'] },
        }),
      ),
    ).toMatch(/HS256 cannot be checked with a public key/);
    expect(
      refusal(() =>
        resolveAccessOptions({ enabled: true, jwt: { ...JWT, audience: '', secret: SECRET } }),
      ),
    ).toMatch(/jwt.audience/);
  });

  it('refuses a health or metrics setting other than public or reader', () => {
    expect(
      refusal(() =>
        resolveAccessOptions({
          enabled: false,
          metrics: 'operator' as 'reader',
        }),
      ),
    ).toMatch(/metrics must be public or reader/);
  });
});

describe('accessControlWarning', () => {
  it('warns when off and listening beyond localhost, only then', () => {
    expect(accessControlWarning({ enabled: false, listenHost: '0.0.0.0' })).toMatch(
      /access control is off and esflow listens on 0\.0\.0\.0/,
    );
    expect(accessControlWarning({ enabled: false, listenHost: '10.1.2.3' })).toBeDefined();
    expect(accessControlWarning({ enabled: false, listenHost: '127.0.0.1' })).toBeUndefined();
    expect(accessControlWarning({ enabled: false, listenHost: 'localhost' })).toBeUndefined();
    expect(accessControlWarning({ enabled: true, listenHost: '0.0.0.0' })).toBeUndefined();
  });
});
