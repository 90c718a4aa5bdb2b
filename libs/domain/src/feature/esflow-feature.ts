import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { InboundMessageMapping } from '../messages/message-intake';
import { ProjectionDefinition } from '../projections/projection';
import { WorkflowDefinition } from '../workflow/workflow-definition';

/**
 * Everything one workflow module brings to an application: its workflow definitions (several
 * versions of one workflow side by side), the directories of its Avro schemas and its
 * projections. Registered with `EsflowModule.forFeature(feature)` in a Nest module of its own,
 * and listed in `esflow.config` so the CLI sees the same set. Made with {@link defineFeature}.
 */
export interface EsflowFeature {
  /** The workflow definitions, from {@link defineWorkflow}. */
  readonly workflows: readonly WorkflowDefinition[];
  /** Absolute paths of directories holding the workflows' `.avsc` files (searched recursively). */
  readonly schemas: readonly string[];
  /** Projections of the workflows' events, from {@link defineProjection}. */
  readonly projections: readonly ProjectionDefinition[];
  /**
   * Events on other services' Kafka topics that become the workflows' messages, consumed by the
   * projector when Kafka and a schema registry are configured.
   */
  readonly inbound: readonly InboundMessageMapping[];
}

/** What {@link defineFeature} takes; everything but the workflows is optional. */
export interface EsflowFeatureSpec {
  readonly workflows: readonly WorkflowDefinition[];
  /** One absolute directory, or several (e.g. `join(__dirname, '../schemas')`). */
  readonly schemas?: string | readonly string[];
  readonly projections?: readonly ProjectionDefinition[];
  /** Kafka topics' events that become messages of these workflows. */
  readonly inbound?: readonly InboundMessageMapping[];
}

const isAbsolute = (path: string) => path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path);

/**
 * Declares a workflow module's contents. Checks what can be checked alone: at least one
 * workflow, absolute schema directories (a relative one would depend on the process's working
 * directory) and no name used twice inside the feature. Clashes between features are found when
 * the application composes them (see {@link composeFeatures}). Throws INVALID_DEFINITION.
 */
export function defineFeature(spec: EsflowFeatureSpec): EsflowFeature {
  const schemas = typeof spec.schemas === 'string' ? [spec.schemas] : [...(spec.schemas ?? [])];
  const names = spec.workflows.map((workflow) => workflow.name).join(', ') || '(none)';
  const invalid = (message: string) =>
    new EsflowError(ErrorCode.InvalidDefinition, `feature with workflows ${names}: ${message}`);
  if (spec.workflows.length === 0) throw invalid('declare at least one workflow');
  for (const dir of schemas)
    if (!isAbsolute(dir))
      throw invalid(
        `schema directory "${dir}" must be an absolute path, e.g. join(__dirname, '../schemas')`,
      );
  const projections = spec.projections ?? [];
  const seen = new Set<string>();
  for (const projection of projections) {
    if (seen.has(projection.name)) throw invalid(`projection ${projection.name} is declared twice`);
    seen.add(projection.name);
  }
  const versions = new Set<string>();
  for (const workflow of spec.workflows) {
    const key = `${workflow.name} v${workflow.version}`;
    if (versions.has(key)) throw invalid(`workflow ${key} is declared twice`);
    versions.add(key);
  }
  const inbound = spec.inbound ?? [];
  const declared = new Set(spec.workflows.flatMap((workflow) => Object.keys(workflow.messages)));
  for (const mapping of inbound)
    if (!declared.has(mapping.message))
      throw invalid(
        `inbound mapping of ${mapping.sourceEventType} on topic ${mapping.topic} names message ${mapping.message}, which none of its workflows declares (${[...declared].join(', ') || 'none'})`,
      );
  return {
    workflows: [...spec.workflows],
    schemas,
    projections: [...projections],
    inbound: [...inbound],
  };
}

/** A feature with where it was registered (a Nest module's name, a config file entry). */
export interface FeatureSource {
  readonly feature: EsflowFeature;
  /** Names the registration in errors, e.g. `KycOnboardingModule`. */
  readonly registeredBy: string;
}

/** The application's features merged: every workflow version, schema directory and projection. */
export interface ComposedFeatures {
  readonly workflows: readonly WorkflowDefinition[];
  readonly schemaDirectories: readonly string[];
  readonly projections: readonly ProjectionDefinition[];
  readonly inbound: readonly InboundMessageMapping[];
}

/**
 * Merges the features an application registers. A workflow or projection name belongs to one
 * registration: the same name from two of them (or a projection named like a built-in one)
 * throws INVALID_DEFINITION naming both, so a clash stops start-up instead of one silently
 * replacing the other. Registering the same feature object twice counts once.
 */
export function composeFeatures(
  sources: readonly FeatureSource[],
  reservedProjections: readonly string[] = [],
): ComposedFeatures {
  const workflowOwner = new Map<string, string>();
  const projectionOwner = new Map<string, string>(
    reservedProjections.map((name) => [name, 'esflow (built in)']),
  );
  const claim = (owners: Map<string, string>, what: string, name: string, by: string) => {
    const owner = owners.get(name);
    if (owner !== undefined && owner !== by)
      throw new EsflowError(
        ErrorCode.InvalidDefinition,
        `${what} ${name} is registered by both ${owner} and ${by}; names must be unique across modules`,
      );
    owners.set(name, by);
  };
  const seen = new Set<EsflowFeature>();
  const workflows: WorkflowDefinition[] = [];
  const projections: ProjectionDefinition[] = [];
  const inbound: InboundMessageMapping[] = [];
  const schemaDirectories = new Set<string>();
  for (const { feature, registeredBy } of sources) {
    if (seen.has(feature)) continue;
    seen.add(feature);
    for (const name of new Set(feature.workflows.map((workflow) => workflow.name)))
      claim(workflowOwner, 'workflow', name, registeredBy);
    for (const projection of feature.projections)
      claim(projectionOwner, 'projection', projection.name, registeredBy);
    workflows.push(...feature.workflows);
    projections.push(...feature.projections);
    inbound.push(...(feature.inbound ?? []));
    for (const dir of feature.schemas) schemaDirectories.add(dir);
  }
  return { workflows, schemaDirectories: [...schemaDirectories], projections, inbound };
}
