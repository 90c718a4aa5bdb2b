import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const alias = {
  '@esflow/domain': resolve(__dirname, 'libs/domain/src'),
  '@esflow/schemas': resolve(__dirname, 'libs/schemas/src'),
  '@esflow/eventstore-memory': resolve(__dirname, 'libs/eventstore-memory/src'),
  '@esflow/eventstore-sqlite': resolve(__dirname, 'libs/eventstore-sqlite/src'),
  '@esflow/eventstore-esdb': resolve(__dirname, 'libs/eventstore-esdb/src'),
  '@esflow/readmodel-sqlite': resolve(__dirname, 'libs/readmodel-sqlite/src'),
  '@esflow/readmodel-postgres': resolve(__dirname, 'libs/readmodel-postgres/src'),
  '@esflow/projections': resolve(__dirname, 'libs/projections/src'),
  '@esflow/workflows': resolve(__dirname, 'libs/workflows/src'),
  '@esflow/kafka': resolve(__dirname, 'libs/kafka/src'),
  '@esflow/app-core': resolve(__dirname, 'libs/app-core/src'),
};

// SWC compiles the NestJS sources with decorator metadata, which esbuild cannot emit.
const plugins = [swc.vite({ module: { type: 'es6' } })];

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    projects: [
      {
        plugins,
        resolve: { alias },
        test: { name: 'unit', include: ['{apps,libs}/**/*.unit.spec.ts'] },
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
          // Suites against real servers (schema registry, Kafka) and wire-protocol doubles.
          include: ['test/integration/**/*.int.spec.ts', 'test/doubles/**/*.int.spec.ts'],
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
