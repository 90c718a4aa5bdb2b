/**
 * Layer rules, checked in CI (`npm run lint`):
 * - libs/domain is pure: XState and its own files only — no NestJS, no I/O or client library.
 * - adapters (libs/*) depend on the domain, never on each other's internals or on the apps.
 * - nothing depends on the apps.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment:
        'libs/domain may import only xstate and its own files (no NestJS, stores, Kafka, Node I/O).',
      severity: 'error',
      from: { path: '^libs/domain/src' },
      to: {
        pathNot: ['^libs/domain/src', '^node_modules/xstate/'],
      },
    },
    {
      name: 'domain-no-node-builtins',
      severity: 'error',
      from: { path: '^libs/domain/src' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'no-app-imports-from-libs',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'adapters-do-not-know-each-other',
      comment: 'An event-store adapter must not import another adapter.',
      severity: 'error',
      from: { path: '^libs/eventstore-([^/]+)/' },
      to: { path: '^libs/eventstore-', pathNot: '^libs/eventstore-$1/' },
    },
    {
      name: 'apps-use-stores-through-ports',
      comment:
        'Apps reach event and read-model stores through the domain ports; app-core picks the adapter.',
      severity: 'error',
      from: { path: '^apps/' },
      to: { path: '^libs/(eventstore|readmodel)-' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(\\.spec\\.ts$|^test/)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
