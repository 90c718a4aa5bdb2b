import { randomUUID } from 'node:crypto';

/** A camelCase name unique to one test, usable as a workflow/category prefix. */
export function uniqueCategory(base = 'test'): string {
  return `${base}${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}
