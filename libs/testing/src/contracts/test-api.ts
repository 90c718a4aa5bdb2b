import type { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The test functions a contract suite registers its tests with: pass your runner's own, e.g.
 * `import * as vitest from 'vitest'` and `describeEventStoreContract('mine', create, vitest)`.
 * The suites are not tied to one runner's module (vitest cannot be `require`d from CommonJS);
 * any runner with vitest's `describe/it/expect/beforeAll/afterAll` (jest too) works.
 */
export interface ContractTestApi {
  readonly describe: typeof describe;
  readonly it: typeof it;
  readonly expect: typeof expect;
  readonly beforeAll: typeof beforeAll;
  readonly afterAll: typeof afterAll;
}
