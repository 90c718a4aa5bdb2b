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
import { ok, reject, Result } from '../errors/rejection';
import { EsflowEventMetadata, EventTraceContext, InstanceStatus } from '../workflow/event-metadata';
import { CommandDispatchedPayload, FrameworkEvent } from '../workflow/framework-events';
import { statusOf } from '../workflow/instance-state';
import { correlationKeysOf, WorkflowDefinition } from '../workflow/workflow-definition';
import { PlannedEvent } from './transition-planner';
import { EngineObserver, NO_ENGINE_OBSERVER } from './engine-observer';

export interface RecordingContext {
  readonly definition: WorkflowDefinition;
  readonly instanceId: string;
  readonly streamName: string;
  readonly correlationId: string;
  readonly causationId: string;
  readonly idempotencyKey?: string;
  /** With an idempotency key: the request's fingerprint, kept on its first event. */
  readonly requestFingerprint?: string;
  /** Bytes of event data the stream holds before this append. */
  readonly bytesBefore: number;
  readonly stateBefore: unknown;
  readonly nextSnapshot: AnyMachineSnapshot;
  readonly expectedRevision: ExpectedRevision;
  /** The message the request's event comes from, if it does: kept on that event. */
  readonly message?: {
    readonly id: string;
    readonly name: string;
    readonly correlationKey: string;
    readonly source: string;
  };
  /** The caller's trace context, when it gave one: kept on every event of the append. */
  readonly traceContext?: EventTraceContext;
  /** Who made the request (a principal's id), when known: kept on every event of the append. */
  readonly actor?: string;
  /** The status after the append, when it is not the next snapshot's (a termination's). */
  readonly statusAfter?: InstanceStatus;
  /**
   * Append even when the instance would outgrow its size limit (each event's limit still
   * holds): a termination must end an instance that grew too large to take anything else.
   */
  readonly beyondInstanceLimit?: boolean;
}

/** How large one event's data and one instance's stream may grow. */
export interface StreamLimits {
  /** Most bytes of one event's encoded payload (default 256 KiB). */
  readonly maxEventBytes: number;
  /** Most bytes of event data in one instance's stream (default 16 MiB). */
  readonly maxInstanceBytes: number;
}

/** The default {@link StreamLimits}: 256 KiB per event, 16 MiB per instance. */
export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxEventBytes: 256 * 1024,
  maxInstanceBytes: 16 * 1024 * 1024,
};

/** What an append recorded: the store's answer and the bytes of event data it added. */
export interface RecordedAppend extends AppendResult {
  readonly bytes: number;
}

/**
 * Encodes planned events, stamps esflow's metadata on them and appends them in one batch; an
 * event over the size limit, or an instance that would outgrow its limit, is refused with
 * nothing written.
 */
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
    private readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS,
    private readonly observer: EngineObserver = NO_ENGINE_OBSERVER,
  ) {}

  async record(
    context: RecordingContext,
    planned: readonly PlannedEvent[],
  ): Promise<Result<RecordedAppend>> {
    for (const event of planned) this.checkCommand(context, event);
    const occurredAt = this.clock.now().toISOString();
    const stateAfter = context.nextSnapshot.value;
    const statusAfter = context.statusAfter ?? statusOf(context.nextSnapshot);
    const requestEventId = planned[0]!.eventId;
    const firstEventOnly = this.firstEventMetadata(context, planned.length);
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
          ...(index === 0 && context.requestFingerprint !== undefined
            ? { requestFingerprint: context.requestFingerprint }
            : {}),
          schema: encoded.schema,
          stateBefore: context.stateBefore,
          stateAfter,
          statusAfter,
          occurredAt,
          ...(index === 0 ? firstEventOnly : {}),
          ...(context.actor === undefined ? {} : { actor: context.actor }),
          ...(context.traceContext === undefined ? {} : { traceContext: context.traceContext }),
        };
        return {
          eventId: event.eventId,
          type: event.type,
          data: encoded.data,
          metadata: { ...metadata },
        };
      }),
    );
    const tooLarge = this.limitBroken(context, events);
    if (tooLarge) return reject(tooLarge);
    const bytes = events.reduce((sum, event) => sum + event.data.byteLength, 0);
    const startedAt = performance.now();
    const appended = await this.store.append(context.streamName, events, {
      expectedRevision: context.expectedRevision,
    });
    this.observer.appended?.(context.definition.name, events.length, performance.now() - startedAt);
    return ok({ ...appended, bytes });
  }

  /** What only the request's event carries: the start's correlation keys, the message it came from. */
  private firstEventMetadata(
    context: RecordingContext,
    eventCount: number,
  ): Pick<EsflowEventMetadata, 'correlationKeys' | 'message'> {
    const { definition, message, expectedRevision } = context;
    const keys =
      context.stateBefore === null
        ? correlationKeysOf(definition, context.nextSnapshot.context)
        : {};
    const revisionBefore = typeof expectedRevision === 'number' ? expectedRevision : -1;
    return {
      ...(Object.keys(keys).length > 0 ? { correlationKeys: keys } : {}),
      ...(message
        ? {
            message: { ...message, revisionAfter: revisionBefore + eventCount },
          }
        : {}),
    };
  }

  private limitBroken(context: RecordingContext, events: readonly EventToAppend[]) {
    const { maxEventBytes, maxInstanceBytes } = this.limits;
    for (const event of events)
      if (event.data.byteLength > maxEventBytes)
        return {
          code: ErrorCode.PayloadTooLarge,
          message: `${event.type} would be ${event.data.byteLength} bytes stored; an event may be at most ${maxEventBytes}`,
          eventType: event.type,
          eventBytes: event.data.byteLength,
          limitBytes: maxEventBytes,
        } as const;
    const after = context.bytesBefore + events.reduce((sum, e) => sum + e.data.byteLength, 0);
    if (after > maxInstanceBytes && !context.beyondInstanceLimit)
      return {
        code: ErrorCode.InstanceTooLarge,
        message: `${context.definition.name} instance ${context.instanceId} would hold ${after} bytes of events; an instance may hold at most ${maxInstanceBytes}`,
        instanceBytes: after,
        limitBytes: maxInstanceBytes,
      } as const;
    return undefined;
  }
}
