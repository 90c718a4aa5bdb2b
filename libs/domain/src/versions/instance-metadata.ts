import { EventMetadataRecord } from '../event-store/event-store.port';
import { EsflowEventMetadata, readEsflowMetadata } from '../workflow/event-metadata';
import { streamNameOf } from '../workflow/workflow-definition';

/**
 * esflow's metadata of an event of a workflow instance's stream (its workflow, instance id and
 * definition version present, and the stream named after them), or undefined for any other
 * event (a message stream's, one written by another tool).
 */
export function instanceMetadataOf(event: {
  readonly streamName: string;
  readonly metadata: EventMetadataRecord;
}):
  | (EsflowEventMetadata & {
      readonly workflow: string;
      readonly instanceId: string;
      readonly definitionVersion: number;
    })
  | undefined {
  const metadata = readEsflowMetadata(event.metadata);
  if (
    typeof metadata.workflow !== 'string' ||
    typeof metadata.instanceId !== 'string' ||
    typeof metadata.definitionVersion !== 'number' ||
    event.streamName !== streamNameOf(metadata.workflow, metadata.instanceId)
  )
    return undefined;
  return metadata as EsflowEventMetadata & {
    readonly workflow: string;
    readonly instanceId: string;
    readonly definitionVersion: number;
  };
}
