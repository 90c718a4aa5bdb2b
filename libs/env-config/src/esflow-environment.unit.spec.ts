import { describe, expect, it } from 'vitest';
import { loadEsflowEnvironment } from './esflow-environment';

describe('configuration', () => {
  it('applies defaults', () => {
    const config = loadEsflowEnvironment({});
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
    expect(loadEsflowEnvironment({ PORT: '8080', ESFLOW_BODY_LIMIT: '512kb' })).toMatchObject({
      port: 8080,
      bodyLimitBytes: 512 * 1024,
    });
  });
  it('names every bad variable and its rule in one message', () => {
    expect(() =>
      loadEsflowEnvironment({ PORT: '70000', LOG_LEVEL: 'loud', ESFLOW_BODY_LIMIT: 'huge' }),
    ).toThrow(
      /PORT: PORT must be between 1 and 65535[\s\S]*ESFLOW_BODY_LIMIT[\s\S]*LOG_LEVEL must be one of/,
    );
  });
});
