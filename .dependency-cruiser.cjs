/**
 * Layer rules, checked in CI (`npm run lint`):
 * - @esflow/core (libs/domain) is pure: XState and its own files only — no NestJS, no I/O or
 *   client library; its `node/` entry may use node:crypto for ids.
 * - packages use each other through their public entry points only (no deep imports).
 * - adapters (one package per outside system) do not know each other.
 * - @esflow/nest is adapter-neutral: the application chooses the adapters.
 * - the example workflow modules use only the framework's public packages.
 * - nothing depends on the apps.
 */
const ENTRY_POINTS = [
  '/src/index\\.ts$',
  '^libs/domain/src/node/index\\.ts$',
  '^libs/domain/src/append-rules/index\\.ts$',
  '^libs/kafka/src/testing/index\\.ts$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment:
        'libs/domain may import only xstate and its own files (no NestJS, stores, Kafka, Node I/O).',
      severity: 'error',
      from: { path: '^libs/domain/src', pathNot: '^libs/domain/src/node/' },
      to: {
        pathNot: ['^libs/domain/src', '^node_modules/xstate/'],
      },
    },
    {
      name: 'domain-no-node-builtins',
      comment: 'Only the `@esflow/core/node` entry may use a Node built-in (crypto, for ids).',
      severity: 'error',
      from: { path: '^libs/domain/src' },
      to: { dependencyTypes: ['core'], pathNot: '^crypto$' },
    },
    {
      name: 'domain-node-entry-is-small',
      comment: 'Inside core, only node/ touches Node.',
      severity: 'error',
      from: { path: '^libs/domain/src', pathNot: '^libs/domain/src/node/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'no-deep-imports-across-packages',
      comment:
        'A package reaches another only through the entry points its package.json exports, as users do.',
      severity: 'error',
      from: { path: '^(libs|apps|examples)/([^/]+)/' },
      to: {
        path: '^(libs|apps|examples)/[^/]+/src/',
        pathNot: ['^$1/$2/', ...ENTRY_POINTS],
      },
    },
    {
      name: 'no-app-imports-from-libs',
      severity: 'error',
      from: { path: '^(libs|examples)/' },
      to: { path: '^apps/' },
    },
    {
      name: 'adapters-do-not-know-each-other',
      comment: 'An adapter (one package per outside system) must not import another adapter.',
      severity: 'error',
      from: { path: '^libs/(sqlite|postgres|eventstoredb|kafka)/' },
      to: {
        path: '^libs/(sqlite|postgres|eventstoredb|kafka)/',
        pathNot: '^libs/$1/',
      },
    },
    {
      name: 'nest-is-adapter-neutral',
      comment: '@esflow/nest takes the adapters it runs on from the application.',
      severity: 'error',
      from: { path: '^libs/nest/' },
      to: { path: '^libs/(sqlite|postgres|eventstoredb|kafka|env-config|testing)/' },
    },
    {
      name: 'examples-use-the-framework-only',
      comment: 'The example workflow modules are built on @esflow/core and @esflow/nest only.',
      severity: 'error',
      from: { path: '^examples/' },
      to: { path: '^libs/', pathNot: '^libs/(domain|nest)/' },
    },
    {
      name: 'apps-use-stores-through-ports',
      comment:
        'Apps reach event and read-model stores through the ports; @esflow/env-config picks the adapter.',
      severity: 'error',
      from: { path: '^apps/' },
      to: { path: '^libs/(sqlite|postgres|eventstoredb)/' },
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
    exclude: { path: '(\\.spec\\.ts$|^test/|/dist/)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
