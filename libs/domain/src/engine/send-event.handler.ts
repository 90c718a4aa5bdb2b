import { ErrorCode, hasErrorCode } from '../errors/esflow-error';
import { ok, reject, Result } from '../errors/rejection';
import {
  afterAppend,
  InstanceState,
  InstanceView,
  machineEvent,
  viewOf,
} from '../workflow/instance-state';
import { EventTraceContext } from '../workflow/event-metadata';
import { streamNameOf } from '../workflow/workflow-definition';
import {
  decideOnInstance,
  EngineContext,
  observed,
  prefixIssues,
  reloadInstance,
} from './engine-context';
import { keyReusedFor, requestFingerprint } from './idempotency';
import { retry } from '../retry/retry';
import { planTransition, schemaNameOf } from './transition-planner';

/**
 * A request to deliver event `type` with `payload` to instance `id` of `workflow`; the payload must
 * match the event's schema. A repeated `idempotencyKey` is answered with the original outcome and
 * records nothing; `correlationId` defaults to the instance's and `causationId` to the new event's
 * id.
 */
export interface SendEventCommand {
  readonly workflow: string;
  readonly id: string;
  readonly type: string;
  readonly payload: unknown;
  /** The revision the caller last saw (`If-Match`); a mismatch is a conflict, not retried. */
  readonly expectedRevision?: number;
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
   * of the append; absent (tracing off), nothing is recorded.
   */
  readonly traceContext?: EventTraceContext;
  /**
   * Who asked (the REST API's principal id), recorded as the `actor` of every event of the
   * append; absent, none is recorded.
   */
  readonly actor?: string;
}

/**
 * A successful send: the instance's view after the transition. When `replayed` is true, the request
 * repeated an earlier one with the same idempotency key, nothing was recorded, and the view is as
 * that request left it.
 */
export interface SendOutcome {
  readonly instance: InstanceView;
  readonly replayed: boolean;
}

/** Refusals a newer state of the instance could turn into an acceptance. */
const STATE_DEPENDENT_REFUSALS: ReadonlySet<string> = new Set([
  ErrorCode.EventNotAccepted,
  ErrorCode.RevisionConflict,
]);

/**
 * Delivers an event to an instance: validate → accepted in the current state? → plan the
 * transition and its facts → one atomic append with the expected revision → on a lost race,
 * reload and decide again (bounded, with jitter).
 */
export class SendEventHandler {
  constructor(private readonly engine: EngineContext) {}

  async handle(command: SendEventCommand): Promise<Result<SendOutcome>> {
    const { catalog } = this.engine;
    if (!catalog.latest(command.workflow))
      return reject({
        code: ErrorCode.WorkflowNotFound,
        message: `no workflow named ${command.workflow}; known: ${catalog.names().join(', ')}`,
        workflow: command.workflow,
      });
    const streamName = streamNameOf(command.workflow, command.id);
    return observed(
      this.engine,
      { workflow: command.workflow, eventType: command.type },
      await this.engine.serial.run(streamName, () => this.sendWithRetries(command, streamName)),
      (outcome) => (outcome.replayed ? 'replayed' : 'recorded'),
    );
  }

  private async sendWithRetries(
    command: SendEventCommand,
    streamName: string,
  ): Promise<Result<SendOutcome>> {
    const { random, sleep, instances, observer } = this.engine;
    const lostRace = (error: unknown) => hasErrorCode(error, ErrorCode.RevisionConflict);
    try {
      const sent = await retry(this.engine.retry, () => this.sendOnce(command, streamName), {
        // With If-Match the caller decides on a stale revision: a conflict is the answer.
        retriable: (error) => lostRace(error) && command.expectedRevision === undefined,
        onRetry: () => {
          observer.revisionConflict?.(command.workflow, 'retried');
          instances.forget(streamName);
        },
        random,
        sleep,
      });
      if (!sent.ok && sent.rejection.code === ErrorCode.RevisionConflict)
        observer.revisionConflict?.(command.workflow, 'returned');
      return sent;
    } catch (error) {
      if (!lostRace(error)) throw error;
      observer.revisionConflict?.(command.workflow, 'returned');
      instances.forget(streamName);
      const current = await instances.load(command.workflow, command.id);
      return reject({
        code: ErrorCode.RevisionConflict,
        message: `instance moved on concurrently (now at revision ${current?.revision ?? -1}); reload and retry`,
        expectedRevision: command.expectedRevision ?? -1,
        actualRevision: current?.revision ?? -1,
      });
    }
  }

  private sendOnce(command: SendEventCommand, streamName: string): Promise<Result<SendOutcome>> {
    // On the cached instance while this process is its only writer; a refusal that depends on
    // the state is confirmed on a fresh load before it is given.
    return decideOnInstance(
      this.engine,
      command.workflow,
      command.id,
      (state) => this.decide(command, streamName, state),
      (decided) => decided.ok || !STATE_DEPENDENT_REFUSALS.has(decided.rejection.code),
    );
  }

  private async decide(
    command: SendEventCommand,
    streamName: string,
    state: InstanceState,
  ): Promise<Result<SendOutcome>> {
    const { instances, codec, ids, recorder } = this.engine;
    const { definition } = state;
    if (!definition.inputEvents.includes(command.type))
      return reject({
        code: ErrorCode.UnknownEventType,
        message: `${definition.name} v${definition.version} has no event ${command.type}`,
        eventType: command.type,
        knownTypes: definition.inputEvents,
      });
    const issues = codec.validate(schemaNameOf(definition, command.type), command.payload);
    if (issues.length > 0)
      return reject({
        code: ErrorCode.SchemaValidationFailed,
        message: `payload does not match the schema of ${command.type}`,
        errors: prefixIssues('payload', issues),
      });

    const eventId = command.idempotencyKey
      ? ids.deterministic(`${streamName}/${command.idempotencyKey}`)
      : ids.random();
    const key = command.idempotencyKey;
    // A message's repeat is its first outcome again whatever it carries: no fingerprint to compare.
    const fingerprint =
      key && !command.message
        ? requestFingerprint(ids, {
            operation: 'send',
            workflow: command.workflow,
            type: command.type,
            body: command.payload,
          })
        : undefined;
    const earlier = key ? await instances.earlierRequest(state, eventId) : undefined;
    const answeredAt = earlier?.revision;
    if (answeredAt !== undefined) {
      const reused =
        key && fingerprint
          ? keyReusedFor(state, earlier?.fingerprint, fingerprint, key)
          : undefined;
      if (reused) return reject(reused);
      return ok({ instance: await this.viewAt(state, answeredAt), replayed: true });
    }

    if (command.expectedRevision !== undefined && command.expectedRevision !== state.revision)
      return reject({
        code: ErrorCode.RevisionConflict,
        message: `If-Match expected revision ${command.expectedRevision}, the instance is at ${state.revision}`,
        expectedRevision: command.expectedRevision,
        actualRevision: state.revision,
      });
    const payload = command.payload as Record<string, unknown>;
    if (state.terminated) {
      const { operator, reason, revision } = state.terminated;
      // Final, like a completed instance: it accepts nothing any more.
      return reject({
        code: ErrorCode.EventNotAccepted,
        message: `${command.type} is not accepted: the instance was terminated at revision ${revision} by ${operator} (${reason})`,
        eventType: command.type,
        state: state.snapshot.value,
        acceptedEvents: [],
      });
    }
    if (!state.snapshot.can(machineEvent(command.type, payload))) {
      const view = viewOf(state);
      const timer = state.movedByTimer;
      return reject({
        code: ErrorCode.EventNotAccepted,
        message:
          `${command.type} is not accepted in state ${JSON.stringify(view.state)}` +
          (timer
            ? `: timer ${timer.timerId} (${timer.eventType}) fired at ${timer.firedAt} and moved the instance on at revision ${timer.revision}`
            : ''),
        eventType: command.type,
        state: view.state,
        acceptedEvents: view.acceptedEvents,
        ...(timer ? { movedByTimer: timer } : {}),
      });
    }

    const plan = planTransition(
      state,
      eventId,
      command.type,
      payload,
      (name) => ids.deterministic(name),
      this.engine.clock.now(),
    );
    const recorded = await recorder.record(
      {
        definition,
        instanceId: state.instanceId,
        streamName,
        correlationId: command.correlationId ?? state.correlationId,
        causationId: command.causationId ?? eventId,
        ...(key === undefined ? {} : { idempotencyKey: key }),
        ...(fingerprint === undefined ? {} : { requestFingerprint: fingerprint }),
        bytesBefore: state.bytes,
        stateBefore: state.snapshot.value,
        nextSnapshot: plan.nextSnapshot,
        expectedRevision: state.revision,
        ...(command.message ? { message: command.message } : {}),
        ...(command.traceContext ? { traceContext: command.traceContext } : {}),
        ...(command.actor === undefined ? {} : { actor: command.actor }),
      },
      plan.events,
    );
    if (!recorded.ok) return recorded;
    const appended = recorded.value;
    if (appended.deduplicated) {
      const reloaded = await reloadInstance(this.engine, command.workflow, command.id);
      return ok({
        instance: await this.viewAt(
          reloaded,
          reloaded.requestRevisions.get(eventId) ?? reloaded.revision,
        ),
        replayed: true,
      });
    }
    const next = afterAppend(state, {
      snapshot: plan.nextSnapshot,
      revision: appended.nextExpectedRevision,
      requestEventId: eventId,
      ...(fingerprint === undefined ? {} : { fingerprint }),
      bytes: appended.bytes,
      events: plan.events,
    });
    instances.remember(next);
    return ok({ instance: viewOf(next), replayed: false });
  }

  private async viewAt(state: InstanceState, revision: number): Promise<InstanceView> {
    if (revision === state.revision) return viewOf(state);
    return viewOf(
      await this.engine.instances.loadAt(state.definition.name, state.instanceId, revision),
    );
  }
}
