import type { AnyMachineSnapshot } from 'xstate';
import { PayloadCodec } from '../codec/payload-codec.port';
import {
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
} from '../event-store/event-store.port';
import { Clock } from '../ports/clock.port';
import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { EsflowEventMetadata } from '../workflow/event-metadata';
import { CommandDispatchedPayload, FrameworkEvent } from '../workflow/framework-events';
import { statusOf } from '../workflow/instance-state';
import { WorkflowDefinition } from '../workflow/workflow-definition';
import { PlannedEvent } from './transition-planner';

export interface RecordingContext {
  readonly definition: WorkflowDefinition;
  readonly instanceId: string;
  readonly streamName: string;
  readonly correlationId: string;
  readonly causationId: string;
  readonly idempotencyKey?: string;
  readonly stateBefore: unknown;
  readonly nextSnapshot: AnyMachineSnapshot;
  readonly expectedRevision: ExpectedRevision;
}

/** Encodes planned events, stamps esflow's metadata on them and appends them in one batch. */
export class EventRecorder {
  /**
   * A command the machine emitted must match the command's own schema before it is recorded:
   * receivers decode it by that schema. A mismatch is a bug in the workflow definition.
   */
  private checkCommand(context: RecordingContext, event: PlannedEvent): void {
    if (event.type !== FrameworkEvent.CommandDispatched) return;
    const { commandType, payloadJson } = event.payload as unknown as CommandDispatchedPayload;
    const issues = this.codec.validate(
      `${context.definition.schemaNamespace}.${commandType}`,
      JSON.parse(payloadJson),
    );
    if (issues.length > 0)
      throw new EsflowError(
        ErrorCode.InvalidDefinition,
        `${context.definition.name} v${context.definition.version} emitted ${commandType} that does not match its schema: ${issues
          .map((issue) => `${issue.path} ${issue.message}`)
          .join('; ')}`,
        { details: { commandType, errors: issues } },
      );
  }

  constructor(
    private readonly store: EventStore,
    private readonly codec: PayloadCodec,
    private readonly clock: Clock,
  ) {}

  async record(context: RecordingContext, planned: readonly PlannedEvent[]): Promise<AppendResult> {
    for (const event of planned) this.checkCommand(context, event);
    const occurredAt = this.clock.now().toISOString();
    const stateAfter = context.nextSnapshot.value;
    const statusAfter = statusOf(context.nextSnapshot);
    const requestEventId = planned[0]!.eventId;
    const events: EventToAppend[] = await Promise.all(
      planned.map(async (event, index): Promise<EventToAppend> => {
        const encoded = await this.codec.encode(event.schemaName, event.payload);
        const metadata: EsflowEventMetadata = {
          eventId: event.eventId,
          category: event.category,
          workflow: context.definition.name,
          instanceId: context.instanceId,
          definitionVersion: context.definition.version,
          correlationId: context.correlationId,
          // Facts are caused by the request's event; the request's event by its caller.
          causationId: index === 0 ? context.causationId : requestEventId,
          ...(context.idempotencyKey === undefined
            ? {}
            : { idempotencyKey: context.idempotencyKey }),
          schema: encoded.schema,
          stateBefore: context.stateBefore,
          stateAfter,
          statusAfter,
          occurredAt,
        };
        return {
          eventId: event.eventId,
          type: event.type,
          data: encoded.data,
          metadata: { ...metadata },
        };
      }),
    );
    return this.store.append(context.streamName, events, {
      expectedRevision: context.expectedRevision,
    });
  }
}
