import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@esflow/core';
import { loadEsflowEnvironment } from './esflow-environment';

const KEY = 'k-0123456789abcdef';
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

function refusal(env: Record<string, string>): string {
  try {
    loadEsflowEnvironment(env);
  } catch (error) {
    expect((error as { code?: string }).code).toBe(ErrorCode.InvalidConfiguration);
    return (error as Error).message;
  }
  throw new Error('expected INVALID_CONFIGURATION');
}

describe('access control from the environment', () => {
  it('is off by default', () => {
    expect(loadEsflowEnvironment({}).access).toEqual({ enabled: false });
  });

  it('is on as soon as a way in is configured, and reads every setting', () => {
    expect(
      loadEsflowEnvironment({
        ESFLOW_API_KEYS: `ci:operator:${KEY}, grafana:reader:${KEY}:with:colons`,
        ESFLOW_JWT_ISSUER: 'https://issuer.test/',
        ESFLOW_JWT_AUDIENCE: 'esflow',
        ESFLOW_JWT_SECRET: SECRET,
        ESFLOW_JWT_ROLES_CLAIM: 'realm_access.roles',
        ESFLOW_AUTH_METRICS: 'public',
        ESFLOW_AUTH_HEALTH: 'reader',
      }).access,
    ).toEqual({
      enabled: true,
      apiKeys: [
        { name: 'ci', role: 'operator', key: KEY },
        { name: 'grafana', role: 'reader', key: `${KEY}:with:colons` },
      ],
      jwt: {
        issuer: 'https://issuer.test/',
        audience: 'esflow',
        secret: SECRET,
        rolesClaim: 'realm_access.roles',
      },
      metrics: 'public',
      health: 'reader',
    });
  });

  it('stays off when ESFLOW_AUTH=off says so', () => {
    expect(
      loadEsflowEnvironment({ ESFLOW_AUTH: 'off', ESFLOW_API_KEYS: `ci:operator:${KEY}` }).access
        .enabled,
    ).toBe(false);
  });

  it('reads keys from ESFLOW_API_KEYS_FILE, skipping comments and blank lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-keys-'));
    try {
      const file = join(dir, 'keys');
      writeFileSync(file, `# the CI\nci:operator:${KEY}\n\n  grafana:reader:${KEY}x\n`);
      expect(loadEsflowEnvironment({ ESFLOW_API_KEYS_FILE: file }).access.apiKeys).toEqual([
        { name: 'ci', role: 'operator', key: KEY },
        { name: 'grafana', role: 'reader', key: `${KEY}x` },
      ]);
      writeFileSync(file, `ci:admin:${KEY}\n`);
      expect(refusal({ ESFLOW_API_KEYS_FILE: file })).toMatch(
        /ESFLOW_API_KEYS_FILE: line 1 \(ci\): the role must be reader or operator/,
      );
      expect(refusal({ ESFLOW_API_KEYS_FILE: join(dir, 'missing') })).toMatch(
        /ESFLOW_API_KEYS_FILE: cannot read/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails start-up naming each bad variable, never showing a secret', () => {
    const message = refusal({
      ESFLOW_AUTH: 'yes',
      ESFLOW_API_KEYS: 'ci:operator:tooshort,broken',
      ESFLOW_AUTH_METRICS: 'operator',
      PORT: 'x',
    });
    expect(message).toMatch(/ESFLOW_AUTH: ESFLOW_AUTH must be on or off/);
    expect(message).toMatch(/ESFLOW_API_KEYS: entry 1 \(ci\): the key must be at least 16/);
    expect(message).toMatch(/ESFLOW_API_KEYS: entry 2 must be name:role:key/);
    expect(message).toMatch(/ESFLOW_AUTH_METRICS: ESFLOW_AUTH_METRICS must be public or reader/);
    expect(message).toMatch(/PORT/);
    expect(message).not.toContain('tooshort');
  });

  it('fails when on with no way in, or with a JWT setup that is not whole', () => {
    expect(refusal({ ESFLOW_AUTH: 'on' })).toMatch(/ESFLOW_AUTH: access control is on but/);
    expect(refusal({ ESFLOW_JWT_SECRET: SECRET })).toMatch(/ESFLOW_JWT_ISSUER: .*issuer/);
    expect(refusal({ ESFLOW_JWT_ISSUER: 'https://issuer.test/' })).toMatch(
      /ESFLOW_JWT_ISSUER: JWTs need a key/,
    );
    const jwt = { ESFLOW_JWT_ISSUER: 'https://issuer.test/', ESFLOW_JWT_AUDIENCE: 'esflow' };
    expect(refusal({ ...jwt, ESFLOW_JWT_SECRET: 'short' })).toMatch(
      /ESFLOW_JWT_SECRET: jwt.secret must be at least 32 bytes/,
    );
    expect(
      refusal({ ...jwt, ESFLOW_JWT_SECRET: SECRET, ESFLOW_JWT_JWKS_URL: 'https://issuer.test/k' }),
    ).toMatch(/set only one of/);
    expect(
      refusal({ ...jwt, ESFLOW_JWT_JWKS_URL: 'ftp://x', ESFLOW_JWT_ALGORITHMS: 'RS256' }),
    ).toMatch(/ESFLOW_JWT_JWKS_URL: jwt.jwksUrl must be an http\(s\) URL/);
    expect(
      refusal({
        ...jwt,
        ESFLOW_JWT_JWKS_URL: 'https://issuer.test/k',
        ESFLOW_JWT_ALGORITHMS: 'HS256',
      }),
    ).toMatch(/ESFLOW_JWT_ALGORITHMS: /);
  });
});
