import { PayloadCodec } from '../../codec/payload-codec.port';
import { schemaNameOf } from '../../engine/transition-planner';
import { RecordedEvent } from '../../event-store/event-store.port';
import { readEsflowMetadata } from '../../workflow/event-metadata';
import { WorkflowCatalog } from '../../workflow/workflow-catalog';

/** Decodes a recorded event's payload for a projection, by its workflow's current schemas. */
export function projectionDecoder(catalog: WorkflowCatalog, codec: PayloadCodec) {
  return (event: RecordedEvent): Promise<Record<string, unknown>> => {
    const definition = catalog.latest(readEsflowMetadata(event.metadata).workflow);
    if (!definition) throw new Error(`no workflow definition for ${event.streamName}`);
    return codec.decode(schemaNameOf(definition, event.type), event.data);
  };
}
