import { dirname, join, resolve } from 'node:path';

/**
 * The directory of the framework's own Avro schemas (the facts esflow records in every stream,
 * such as `CommandDispatched`), shipped inside `@esflow/core`.
 */
export function frameworkSchemaDirectory(): string {
  return join(dirname(require.resolve('@esflow/core/package.json')), 'schemas');
}

/** `dirs` with the framework's schema directory first, each directory once. */
export function withFrameworkSchemas(dirs: readonly string[]): string[] {
  return [...new Set([frameworkSchemaDirectory(), ...dirs].map((dir) => resolve(dir)))];
}
