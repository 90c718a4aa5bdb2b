import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { WorkflowDefinition } from './workflow-definition';

/** The workflow definitions a process knows, by name and version. */
export class WorkflowCatalog {
  private readonly byName = new Map<string, Map<number, WorkflowDefinition>>();

  constructor(definitions: readonly WorkflowDefinition[]) {
    for (const definition of definitions) {
      const versions = this.byName.get(definition.name) ?? new Map<number, WorkflowDefinition>();
      if (versions.has(definition.version))
        throw new EsflowError(
          ErrorCode.InvalidDefinition,
          `workflow ${definition.name} version ${definition.version} is defined twice`,
        );
      versions.set(definition.version, definition);
      this.byName.set(definition.name, versions);
    }
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  all(): WorkflowDefinition[] {
    return [...this.byName.values()].flatMap((versions) => [...versions.values()]);
  }

  /** The newest version: the one new instances start on. */
  latest(name: string): WorkflowDefinition | undefined {
    const versions = this.byName.get(name);
    if (!versions) return undefined;
    return versions.get(Math.max(...versions.keys()));
  }

  version(name: string, version: number): WorkflowDefinition | undefined {
    return this.byName.get(name)?.get(version);
  }
}
