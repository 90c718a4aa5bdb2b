import { resolve } from 'node:path';
import { WorkflowDefinition } from '@esflow/domain';
import { builtInWorkflows } from '@esflow/workflows';

/**
 * The workflows whose events need schemas: the built-in ones, or those a module exports
 * (`--workflows ./dist/my-workflows.js` exporting `workflows`, `builtInWorkflows` or a default
 * array of definitions made with `defineWorkflow`).
 */
export function loadWorkflows(modulePath?: string): readonly WorkflowDefinition[] {
  if (!modulePath) return builtInWorkflows;
  const path = resolve(modulePath);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(path) as Record<string, unknown>;
  const candidate = loaded['workflows'] ?? loaded['builtInWorkflows'] ?? loaded['default'];
  const valid =
    Array.isArray(candidate) &&
    candidate.every(
      (item) =>
        typeof item === 'object' &&
        item !== null &&
        typeof (item as WorkflowDefinition).name === 'string' &&
        typeof (item as WorkflowDefinition).startEvent === 'string' &&
        Array.isArray((item as WorkflowDefinition).inputEvents),
    );
  if (!valid)
    throw new Error(
      `${path} must export "workflows" (or a default export): an array of definitions made with defineWorkflow()`,
    );
  return candidate as WorkflowDefinition[];
}
