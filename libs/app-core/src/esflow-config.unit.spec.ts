import { describe, expect, it } from 'vitest';
import { loadConfig } from './esflow-config';
import { uuidV5 } from './node-id-generator';

describe('configuration', () => {
  it('applies defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      projectorPort: 3001,
      sqliteSynchronous: 'FULL',
      bodyLimitBytes: 1024 * 1024,
      logLevel: 'info',
    });
    expect(config.dataDir).toMatch(/data$/);
  });
  it('parses sizes and ports', () => {
    expect(loadConfig({ PORT: '8080', ESFLOW_BODY_LIMIT: '512kb' })).toMatchObject({
      port: 8080,
      bodyLimitBytes: 512 * 1024,
    });
  });
  it('names every bad variable and its rule in one message', () => {
    expect(() =>
      loadConfig({ PORT: '70000', LOG_LEVEL: 'loud', ESFLOW_BODY_LIMIT: 'huge' }),
    ).toThrow(
      /PORT: PORT must be between 1 and 65535[\s\S]*ESFLOW_BODY_LIMIT[\s\S]*LOG_LEVEL must be one of/,
    );
  });
});

describe('deterministic ids', () => {
  it('are RFC 4122 version-5 UUIDs, stable for a name and distinct across names', () => {
    const id = uuidV5('orderFulfillment-o-1/key');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidV5('orderFulfillment-o-1/key')).toBe(id);
    expect(uuidV5('orderFulfillment-o-1/other')).not.toBe(id);
  });
});
