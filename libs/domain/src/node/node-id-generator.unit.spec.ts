import { describe, expect, it } from 'vitest';
import { nodeIdGenerator, uuidV5 } from './node-id-generator';

describe('deterministic ids', () => {
  it('are RFC 4122 version-5 UUIDs, stable for a name and distinct across names', () => {
    const id = uuidV5('orderFulfillment-o-1/key');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidV5('orderFulfillment-o-1/key')).toBe(id);
    expect(uuidV5('orderFulfillment-o-1/other')).not.toBe(id);
    expect(nodeIdGenerator.deterministic('orderFulfillment-o-1/key')).toBe(id);
  });

  it('random ones differ every time', () => {
    expect(nodeIdGenerator.random()).not.toBe(nodeIdGenerator.random());
  });
});
