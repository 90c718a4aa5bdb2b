import { createWorkflowEngine, EventStore, WorkflowCatalog, WorkflowEngine } from '@esflow/domain';
import { AvroPayloadCodec, SchemaCatalog, SchemaRegistry } from '@esflow/schemas';
import { builtInWorkflows } from '@esflow/workflows';
import { nodeIdGenerator } from './node-id-generator';
import { systemClock } from './system-clock';

export interface EngineParts {
  readonly engine: WorkflowEngine;
  readonly codec: AvroPayloadCodec;
  readonly catalog: WorkflowCatalog;
}

/**
 * The engine over a store and a registry, with the built-in workflows and the schemas of
 * `schemaDir` (registered on the way): what the api binds, and what tools and benchmarks use to
 * write through the engine without HTTP.
 */
export async function buildWorkflowEngine(options: {
  store: EventStore;
  registry: SchemaRegistry;
  schemaDir: string;
  cacheCapacity?: number;
}): Promise<EngineParts> {
  const codec = await AvroPayloadCodec.create({
    catalog: SchemaCatalog.load(options.schemaDir),
    registry: options.registry,
  });
  const catalog = new WorkflowCatalog(builtInWorkflows);
  const engine = createWorkflowEngine({
    store: options.store,
    codec,
    catalog,
    clock: systemClock,
    ids: nodeIdGenerator,
    ...(options.cacheCapacity === undefined ? {} : { cacheCapacity: options.cacheCapacity }),
  });
  return { engine, codec, catalog };
}
