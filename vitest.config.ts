import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

/**
 * Tests import the workspace packages by name, as users do, but from their sources: each
 * package export (`./dist/x.js`) is aliased to `./src/x.ts`, so no build is needed and one
 * module instance exists per package. Longer names first, so `@esflow/core/node` wins.
 */
function workspaceAliases(): Record<string, string> {
  const entries: [string, string][] = [];
  for (const group of ['libs', 'apps', 'examples']) {
    for (const dir of readdirSync(resolve(__dirname, group))) {
      const root = resolve(__dirname, group, dir);
      const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
        name: string;
        exports?: Record<string, string | { default: string }>;
      };
      for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
        const file = typeof target === 'string' ? target : target.default;
        if (!file.startsWith('./dist/')) continue;
        const source = file.replace('./dist/', './src/').replace(/\.js$/, '.ts');
        entries.push([`${manifest.name}${subpath.slice(1)}`, join(root, source)]);
      }
    }
  }
  return Object.fromEntries(entries.sort(([a], [b]) => b.length - a.length));
}

const alias = workspaceAliases();

// SWC compiles the NestJS sources with decorator metadata, which esbuild cannot emit.
const plugins = [swc.vite({ module: { type: 'es6' } })];

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    // Vitest's default is one worker fewer than the cores: on these 2-core machines that is one,
    // and every project would run after the other. Two let the unit, contract and integration
    // files run beside the serial e2e chain (each of those projects still runs one file at a time).
    maxWorkers: 2,
    projects: [
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['{apps,libs,examples}/**/*.unit.spec.ts', 'test/unit/**/*.unit.spec.ts'],
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'contract',
          include: ['test/contract/**/*.spec.ts'],
          testTimeout: 30_000,
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'integration',
          // Suites against real servers (schema registry, Kafka) and wire-protocol doubles, and
          // in-process applications.
          include: [
            'test/integration/**/*.int.spec.ts',
            'test/doubles/**/*.int.spec.ts',
            '{apps,libs,examples}/**/*.int.spec.ts',
          ],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Suites start real server processes: run files one at a time on 2-core machines.
          fileParallelism: false,
        },
      },
    ],
  },
});
