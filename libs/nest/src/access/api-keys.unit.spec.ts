import { describe, expect, it } from 'vitest';
import { apiKeyVerifier } from './api-keys';

const verify = apiKeyVerifier([
  { name: 'ops', role: 'operator', key: 'op-0123456789abcdef' },
  { name: 'dashboard', role: 'reader', key: 'rd-0123456789abcdef' },
]);

describe('apiKeyVerifier', () => {
  it("answers the key's principal: its name, and its role with what it implies", () => {
    expect(verify('op-0123456789abcdef')).toEqual({
      id: 'ops',
      roles: ['reader', 'operator'],
      via: 'api-key',
    });
    expect(verify('rd-0123456789abcdef')).toEqual({
      id: 'dashboard',
      roles: ['reader'],
      via: 'api-key',
    });
  });

  it('knows no other key: not a prefix, not an extension, not another case', () => {
    for (const presented of [
      'op-0123456789abcde',
      'op-0123456789abcdef0',
      'OP-0123456789ABCDEF',
      '',
      'ops',
    ])
      expect(verify(presented), presented).toBeUndefined();
  });

  it('knows nothing when no key is configured', () => {
    expect(apiKeyVerifier([])('op-0123456789abcdef')).toBeUndefined();
  });
});
