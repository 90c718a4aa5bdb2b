// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      'node_modules/**',
      'esflow.config.js',
      'data/**',
      '.cache/**',
      'coverage/**',
      '**/*.mjs',
      '**/*.cjs',
      'bench/results/**',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSEnumDeclaration',
          message: 'Use a const object and a derived union type instead of an enum.',
        },
      ],
    },
  },
  {
    // Packages are used through their public entry points only, by each other as by users.
    files: ['**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@esflow/*/*',
                '!@esflow/core/node',
                '!@esflow/core/append-rules',
                '!@esflow/kafka/testing',
              ],
              message: "Import a package's public entry point (see its package.json exports).",
            },
            {
              regex: '^(\\.\\./)+(libs|apps|examples)/',
              message: 'Import another package by its name, not by a path into its sources.',
            },
          ],
        },
      ],
    },
  },
  {
    // The domain never reads the clock or randomness itself: they are injected (ports/).
    files: ['libs/domain/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Inject a Clock.' },
      ],
    },
  },
);
