import { pureInitialTransition } from '../workflow/pure-transition';
import { HistoryMap } from '../workflow/history-map';
import { ErrorCode, hasErrorCode } from '../errors/esflow-error';
import { ok, reject, Result } from '../errors/rejection';
import { ExpectedRevision } from '../event-store/event-store.port';
import { EventCategory, EventTraceContext } from '../workflow/event-metadata';
import { instanceIdProblem } from '../workflow/instance-id';
import { InstanceState, InstanceView, viewOf } from '../workflow/instance-state';
import { streamNameOf, WorkflowDefinition } from '../workflow/workflow-definition';
import { EngineContext, observed, prefixIssues } from './engine-context';
import { UNKNOWN_LABEL } from './engine-observer';
import { keyReusedFor, requestFingerprint } from './idempotency';
import { nextCommandBook, NO_COMMANDS } from '../workflow/instance-commands';
import { nextPendingTimers } from '../workflow/instance-timers';
import { planFacts, PlannedEvent, schemaNameOf } from './transition-planner';

/**
 * A request to start an instance of `workflow`; `input` must match the start event's schema. With
 * an `idempotencyKey`, the start event's id (and the instance id, when neither `id` nor the
 * definition gives one) is derived from the key, so repeating the request answers with the original
 * outcome (`replayed: true`) instead of starting a second instance.
 */
export interface StartWorkflowCommand {
  readonly workflow: string;
  /** Caller-chosen instance id; otherwise the definition's business key, otherwise generated. */
  readonly id?: string;
  readonly input: unknown;
  readonly idempotencyKey?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  /** The message from another service this request delivers (kept on its event's metadata). */
  readonly message?: {
    readonly id: string;
    readonly name: string;
    readonly correlationKey: string;
    readonly source: string;
  };
  /**
   * The caller's W3C trace context (e.g. its request span's), recorded as given on every event
   * of the start's append; absent (tracing off), nothing is recorded.
   */
  readonly traceContext?: EventTraceContext;
  /**
   * Who asked (the REST API's principal id), recorded as the `actor` of every event of the
   * append; absent, none is recorded.
   */
  readonly actor?: string;
}

/**
 * A successful start: the instance's view right after its start (for a replay, as the original
 * request left it).
 */
export interface StartOutcome {
  readonly instance: InstanceView;
  /** True when this repeats an earlier request with the same idempotency key. */
  readonly replayed: boolean;
}

/**
 * Starts an instance: validates the start event, records it (with the facts its initial state
 * produces) expecting "no stream", so a duplicate start can never create a second instance.
 */
export class StartWorkflowHandler {
  constructor(private readonly engine: EngineContext) {}

  async handle(command: StartWorkflowCommand): Promise<Result<StartOutcome>> {
    return observed(
      this.engine,
      {
        workflow: command.workflow,
        eventType: this.engine.catalog.latest(command.workflow)?.startEvent ?? UNKNOWN_LABEL,
      },
      await this.start(command),
      (outcome) => (outcome.replayed ? 'replayed' : 'recorded'),
    );
  }

  private async start(command: StartWorkflowCommand): Promise<Result<StartOutcome>> {
    const { catalog, codec } = this.engine;
    const definition = catalog.latest(command.workflow);
    if (!definition)
      return reject({
        code: ErrorCode.WorkflowNotFound,
        message: `no workflow named ${command.workflow}; known: ${catalog.names().join(', ')}`,
        workflow: command.workflow,
      });
    const schemaName = schemaNameOf(definition, definition.startEvent);
    const issues = codec.validate(schemaName, command.input);
    if (issues.length > 0)
      return reject({
        code: ErrorCode.SchemaValidationFailed,
        message: `input does not match the schema of ${definition.startEvent}`,
        errors: prefixIssues('input', issues),
      });
    const input = command.input as Record<string, unknown>;
    const { id, idPath } = this.instanceIdFor(definition, command, input);
    const idProblem = instanceIdProblem(id);
    if (idProblem)
      return reject({ code: ErrorCode.InvalidId, message: `${idPath} ${idProblem}`, path: idPath });
    const streamName = streamNameOf(definition.name, id);
    return this.engine.serial.run(streamName, () =>
      this.startOnce(definition, id, streamName, input, command),
    );
  }

  private instanceIdFor(
    definition: WorkflowDefinition,
    command: StartWorkflowCommand,
    input: Record<string, unknown>,
  ): { id: string; idPath: string } {
    if (command.id !== undefined) return { id: command.id, idPath: 'id' };
    const businessKey = definition.instanceIdFrom?.(input);
    if (businessKey !== undefined) return { id: businessKey, idPath: 'id (derived from input)' };
    const { ids } = this.engine;
    const id = command.idempotencyKey
      ? ids.deterministic(`${definition.name}/start/${command.idempotencyKey}`)
      : ids.random();
    return { id, idPath: 'id' };
  }

  private async startOnce(
    definition: WorkflowDefinition,
    id: string,
    streamName: string,
    input: Record<string, unknown>,
    command: StartWorkflowCommand,
  ): Promise<Result<StartOutcome>> {
    const { instances, ids, recorder } = this.engine;
    const eventId = command.idempotencyKey
      ? ids.deterministic(`${streamName}/${command.idempotencyKey}`)
      : ids.random();
    const fingerprint = command.idempotencyKey
      ? requestFingerprint(ids, {
          operation: 'start',
          workflow: definition.name,
          ...(command.id === undefined ? {} : { id: command.id }),
          body: input,
        })
      : undefined;
    // No read before the append: its no-stream check tells whether the instance exists.
    if (instances.cached(streamName))
      return this.replayOrConflict(definition, id, eventId, fingerprint, command);

    const [snapshot, actions] = pureInitialTransition(definition.machine, input);
    const startEvent: PlannedEvent = {
      eventId,
      type: definition.startEvent,
      schemaName: schemaNameOf(definition, definition.startEvent),
      category: EventCategory.Workflow,
      payload: input,
    };
    const facts = planFacts({
      definition,
      causeEventId: eventId,
      causeType: definition.startEvent,
      causeRevision: 0,
      before: undefined,
      after: snapshot,
      actions,
      pendingTimers: new Map(),
      now: this.engine.clock.now(),
      deriveId: (name) => ids.deterministic(name),
    });
    const correlationId = command.correlationId ?? eventId;
    try {
      const recorded = await recorder.record(
        {
          definition,
          instanceId: id,
          streamName,
          correlationId,
          causationId: command.causationId ?? eventId,
          ...(command.idempotencyKey === undefined
            ? {}
            : { idempotencyKey: command.idempotencyKey }),
          ...(fingerprint === undefined ? {} : { requestFingerprint: fingerprint }),
          bytesBefore: 0,
          stateBefore: null,
          nextSnapshot: snapshot,
          expectedRevision: ExpectedRevision.NoStream,
          ...(command.message ? { message: command.message } : {}),
          ...(command.traceContext ? { traceContext: command.traceContext } : {}),
          ...(command.actor === undefined ? {} : { actor: command.actor }),
        },
        [startEvent, ...facts],
      );
      if (!recorded.ok) return recorded;
      const appended = recorded.value;
      if (appended.deduplicated)
        return this.replayOrConflict(definition, id, eventId, fingerprint, command);
      const state: InstanceState = {
        definition,
        instanceId: id,
        streamName,
        snapshot,
        revision: appended.nextExpectedRevision,
        lastEventId: (facts[facts.length - 1] ?? startEvent).eventId,
        requestRevisions: HistoryMap.of(
          [[eventId, appended.nextExpectedRevision]],
          appended.nextExpectedRevision,
        ),
        requestFingerprints: HistoryMap.of(
          fingerprint === undefined ? [] : [[eventId, fingerprint]],
          appended.nextExpectedRevision,
        ),
        bytes: appended.bytes,
        correlationId,
        pendingTimers: nextPendingTimers(new Map(), facts),
        commands: nextCommandBook(
          NO_COMMANDS,
          facts.map((fact, i) => ({ ...fact, revision: i + 1 })),
        ),
      };
      instances.remember(state);
      return ok({ instance: viewOf(state), replayed: false });
    } catch (error) {
      // The instance exists: started before, by this request or another, here or elsewhere.
      if (hasErrorCode(error, ErrorCode.RevisionConflict))
        return this.replayOrConflict(definition, id, eventId, fingerprint, command);
      throw error;
    }
  }

  private async replayOrConflict(
    definition: WorkflowDefinition,
    id: string,
    eventId: string,
    fingerprint: string | undefined,
    command: StartWorkflowCommand,
  ): Promise<Result<StartOutcome>> {
    const { instances } = this.engine;
    instances.forget(streamNameOf(definition.name, id));
    const current = await instances.load(definition.name, id);
    const key = command.idempotencyKey;
    const earlier = current && key ? await instances.earlierRequest(current, eventId) : undefined;
    const answeredAt = earlier?.revision;
    if (current && key && fingerprint && answeredAt !== undefined) {
      const reused = keyReusedFor(current, earlier?.fingerprint, fingerprint, key);
      if (reused) return reject(reused);
    }
    if (current && answeredAt !== undefined) {
      const then =
        answeredAt === current.revision
          ? current
          : await instances.loadAt(definition.name, id, answeredAt);
      return ok({ instance: viewOf(then), replayed: true });
    }
    return reject({
      code: ErrorCode.InstanceAlreadyExists,
      message: `${definition.name} instance ${id} already exists`,
      workflow: definition.name,
      id,
    });
  }
}
