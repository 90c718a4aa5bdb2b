import { PayloadCodec } from '../codec/payload-codec.port';
import { MessageTarget, messageIdempotencyKey } from '../engine/message-targets';
import { prefixIssues } from '../engine/engine-context';
import { schemaNameOf } from '../engine/transition-planner';
import { WorkflowEngine } from '../engine/workflow-engine';
import { ErrorCode, EsflowError, hasErrorCode } from '../errors/esflow-error';
import { ok, reject, Rejection, Result } from '../errors/rejection';
import { EventStore, ExpectedRevision } from '../event-store/event-store.port';
import { Clock } from '../ports/clock.port';
import { IdGenerator } from '../ports/id-generator.port';
import { instanceIdProblem } from '../workflow/instance-id';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { EventTraceContext } from '../workflow/event-metadata';
import {
  MAX_MESSAGE_TTL_SECONDS,
  MessageDefinition,
  WorkflowDefinition,
} from '../workflow/workflow-definition';
import {
  IndexedMessage,
  MessageIndex,
  MessageStatus,
  QuarantineReason,
} from './message-index.port';
import {
  IncomingMessage,
  MessageIntake,
  MessageOutcome,
  MessageOutcomeKind,
  MessageSource,
  UnreadableMessage,
} from './message-intake';
import {
  CorrelationTrigger,
  indexedFromRecord,
  MessageCorrelatedPayload,
  MessageEvent,
  MessageRecord,
  MessageStreams,
} from './message-stream';

/** What a {@link MessageCorrelator} works with. */
export interface MessageCorrelatorOptions {
  readonly engine: WorkflowEngine;
  readonly catalog: WorkflowCatalog;
  readonly store: EventStore;
  readonly codec: PayloadCodec;
  readonly index: MessageIndex;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** How many instances declaring one key are considered (default 20); more are ignored. */
  readonly maxCandidates?: number;
  /**
   * The most bytes one stored event may hold (the engine's `maxEventBytes`, default 256 KiB): a
   * message's payload, as UTF-8 JSON, may take all of it but {@link MESSAGE_RECORD_OVERHEAD_BYTES}.
   */
  readonly maxEventBytes?: number;
}

/** Sees every outcome recorded and how long its correlation took (metrics). */
export type MessageOutcomeListener = (
  outcome: MessageOutcome,
  trigger: CorrelationTrigger,
  ms: number,
) => void;

/** A message as `GET /messages/{messageId}` shows it: where it stands and every attempt. */
export interface MessageDetails {
  readonly message: IndexedMessage;
  /** The payload as received (for an unreadable message: the raw value, as text). */
  readonly payload: unknown;
  readonly source: MessageSource | { readonly kind: string };
  readonly attempts: readonly MessageCorrelatedPayload[];
  readonly discarded?: { readonly reason: string; readonly by: string | null; readonly at: string };
}

/** The fields of a message correlation needs, whether it just arrived or waited in the buffer. */
interface Correlatable {
  readonly messageId: string;
  readonly name: string;
  readonly correlationKey: string;
  readonly payload: unknown;
  readonly source: { readonly kind: string };
  readonly traceContext?: EventTraceContext;
  readonly actor?: string;
}

/** The sender's trace context and identity, for the events a message appends at once. */
function sentBy(message: Correlatable): { traceContext?: EventTraceContext; actor?: string } {
  return {
    ...(message.traceContext ? { traceContext: message.traceContext } : {}),
    ...(message.actor === undefined ? {} : { actor: message.actor }),
  };
}

/** What one correlation attempt came to, before it is recorded. */
interface Decision {
  readonly outcome: MessageStatus;
  readonly reason?: QuarantineReason;
  readonly detail: string;
  readonly instanceId?: string;
  readonly revision?: number;
  readonly candidates: readonly string[];
  /** Delivered: by an earlier attempt (this one found it done), not by this one. */
  readonly already?: boolean;
}

/**
 * Room a message's own record keeps beside its payload (ids, name, key, times, source), so a
 * payload that fits its event also fits the message's stream when it waits.
 */
export const MESSAGE_RECORD_OVERHEAD_BYTES = 2048;

const utf8 = new TextEncoder();

/** Correlation gives way to a concurrent writer this many times before it buffers the message. */
const MAX_RACES = 4;

/**
 * Correlates messages from other services with workflow instances (see {@link MessageIntake}),
 * and carries out the operators' retry and discard. The rules, for a message correlated by key
 * `k` (candidates: the instances whose declared key is `k`, from the message index, and the
 * instance whose id is `k` when it declares `k` itself, each checked against its stream):
 * - a candidate already has the message (by id) → duplicate;
 * - exactly one candidate accepts it now → delivered, in one append to that instance, with an
 *   event id derived from the message id (a repeat can never be delivered twice to it);
 * - more than one accepts it → quarantined `AMBIGUOUS_CORRELATION`, delivered to none;
 * - none accepts it, and none exists or one could still come to accept it → buffered until its
 *   time-to-live runs out (then quarantined `NO_MATCHING_INSTANCE`), delivered when one does;
 * - every candidate has moved past the states that accept it → the workflow's late policy.
 * A start message starts the instance whose id is its key; a second start for that key is a
 * `duplicate`. Every outcome but a direct delivery or start is recorded in the message's own
 * stream before it is answered; those two are recorded in the instance's stream.
 */
export class MessageCorrelator implements MessageIntake {
  private readonly messages = new Map<string, MessageDefinition>();
  private readonly streams: MessageStreams;
  private readonly listeners: MessageOutcomeListener[] = [];

  constructor(private readonly options: MessageCorrelatorOptions) {
    this.streams = new MessageStreams(options.store, options.codec, options.ids);
    for (const name of options.catalog.names()) {
      const definition = options.catalog.latest(name)!;
      for (const message of Object.values(definition.messages)) {
        const other = this.messages.get(message.name);
        if (other)
          throw new EsflowError(
            ErrorCode.InvalidDefinition,
            `message ${message.name} is declared by both ${other.workflow} and ${message.workflow}; message names must be unique across workflows`,
          );
        this.messages.set(message.name, message);
      }
    }
  }

  /** Adds a listener that sees every outcome from now on (e.g. metrics). */
  observe(listener: MessageOutcomeListener): void {
    this.listeners.push(listener);
  }

  private told(outcome: MessageOutcome, trigger: CorrelationTrigger, started: number): void {
    for (const listener of this.listeners)
      listener(outcome, trigger, this.options.clock.now().getTime() - started);
  }

  async receive(message: IncomingMessage): Promise<Result<MessageOutcome>> {
    const started = this.options.clock.now().getTime();
    const checked = this.check(message);
    if (!checked.ok) return checked;
    const definition = checked.value;
    // The index knows every message id but the last moments'; those are caught where they would
    // take effect: a delivery or a start by the instance's event id, any other outcome by its
    // stream, which only the first copy creates. (So a repeat of a message that still waits,
    // made before the index learnt of it and once an instance takes it, is delivered — once, by
    // that event id — and answered `delivered`.)
    const prior = await this.options.index.get(message.messageId);
    const outcome = prior
      ? duplicateOf(prior)
      : definition.starts
        ? await this.start(definition, message)
        : await this.correlateNew(definition, message);
    if (!outcome.ok) return outcome;
    this.told(outcome.value, 'received', started);
    return outcome;
  }

  async quarantineUnreadable(message: UnreadableMessage): Promise<MessageOutcome> {
    const prior = await this.prior(message.messageId);
    if (prior) return duplicateOf(prior).value;
    const definition = this.messages.get(message.name);
    const decision: Decision = {
      outcome: MessageStatus.Quarantined,
      reason: QuarantineReason.InvalidPayload,
      detail: message.problem,
      candidates: [],
    };
    const outcome = await this.recordNew(
      {
        messageId: message.messageId,
        name: message.name,
        workflow: definition?.workflow ?? '',
        keyName: definition?.correlateBy ?? '',
        correlationKey: message.correlationKey,
        payloadJson: this.cut(message.rawPayload),
        ttlSeconds: definition?.ttlSeconds ?? 0,
        source: message.source,
      },
      decision,
    );
    this.told(outcome, 'received', this.options.clock.now().getTime());
    return outcome;
  }

  /**
   * Correlates a recorded message again: `retry` (an operator, `by`) for one that is buffered,
   * quarantined or late; `instanceChanged`, `recheck` and `expired` (the correlation service) for
   * a buffered one, recording only what changes its status (an `expired` one still unmatched is
   * quarantined `NO_MATCHING_INSTANCE`). MESSAGE_NOT_FOUND for an id never received,
   * MESSAGE_SETTLED when a retry finds it delivered, started or discarded.
   */
  async correlateAgain(
    messageId: string,
    trigger: Exclude<CorrelationTrigger, 'received'>,
    by?: string,
  ): Promise<Result<MessageOutcome>> {
    const started = this.options.clock.now().getTime();
    for (let race = 0; ; race++) {
      const record = await this.streams.read(messageId);
      if (!record) return this.notRecorded(messageId);
      const settled = isSettled(record.status);
      if (trigger === 'retry' ? settled : record.status !== MessageStatus.Buffered)
        return trigger === 'retry'
          ? reject(settledRejection(messageId, record.status))
          : ok(outcomeOf(indexedFromRecord(record), record.status));
      const decision = await this.decideAgain(record, trigger);
      if (
        trigger !== 'retry' &&
        decision.outcome === MessageStatus.Buffered &&
        record.status === MessageStatus.Buffered
      )
        return ok(outcomeOf(indexedFromRecord(record), MessageStatus.Buffered));
      try {
        const attempt = this.attemptOf(decision, trigger, record, by);
        await this.streams.append(messageId, record.revision, [
          { type: MessageEvent.Correlated, payload: attempt },
        ]);
        const outcome = outcomeOf(
          indexedFromRecord({ ...record, attempts: [...record.attempts, attempt] }),
          attempt.outcome,
        );
        this.told(outcome, trigger, started);
        return ok(outcome);
      } catch (error) {
        if (!hasErrorCode(error, ErrorCode.RevisionConflict) || race >= MAX_RACES) throw error;
      }
    }
  }

  /**
   * Discards a buffered, quarantined or late message for good, recording the operator's reason.
   * MESSAGE_NOT_FOUND for an id never received, MESSAGE_SETTLED for one delivered, started or
   * discarded already.
   */
  async discard(messageId: string, reason: string, by?: string): Promise<Result<MessageOutcome>> {
    for (let race = 0; ; race++) {
      const record = await this.streams.read(messageId);
      if (!record) return this.notRecorded(messageId);
      if (isSettled(record.status)) return reject(settledRejection(messageId, record.status));
      const discarded = { reason, by: by ?? null, at: this.now() };
      try {
        await this.streams.append(messageId, record.revision, [
          { type: MessageEvent.Discarded, payload: discarded },
        ]);
        return ok(
          outcomeOf(indexedFromRecord({ ...record, discarded, status: 'discarded' }), 'discarded'),
        );
      } catch (error) {
        if (!hasErrorCode(error, ErrorCode.RevisionConflict) || race >= MAX_RACES) throw error;
      }
    }
  }

  /** The message with every attempt, from its stream (or the index, for a direct delivery). */
  async details(messageId: string): Promise<MessageDetails | undefined> {
    const record = await this.streams.read(messageId);
    if (record)
      return {
        message: indexedFromRecord(record),
        payload: parseOrText(record.received.payloadJson),
        source: record.source,
        attempts: record.attempts,
        ...(record.discarded ? { discarded: record.discarded } : {}),
      };
    const indexed = await this.options.index.get(messageId);
    if (!indexed) return undefined;
    return {
      message: indexed,
      payload: null,
      source: { kind: indexed.source },
      attempts: [
        {
          trigger: 'received',
          outcome: indexed.status,
          reason: null,
          detail: indexed.detail,
          instanceId: indexed.instanceId,
          revision: indexed.revision,
          expiresAt: null,
          candidates: indexed.instanceId ? [indexed.instanceId] : [],
          by: null,
          at: indexed.receivedAt,
        },
      ],
    };
  }

  private check(message: IncomingMessage): Result<MessageDefinition> {
    const definition = this.messages.get(message.name);
    if (!definition)
      return reject({
        code: ErrorCode.UnknownMessage,
        message: `no workflow declares a message named ${message.name}; known: ${[...this.messages.keys()].sort().join(', ') || 'none'}`,
        name: message.name,
        knownMessages: [...this.messages.keys()].sort(),
      });
    const idProblem = instanceIdProblem(message.messageId);
    if (idProblem)
      return reject({
        code: ErrorCode.InvalidId,
        message: `messageId ${idProblem}`,
        path: 'messageId',
      });
    const keyProblem = definition.starts
      ? instanceIdProblem(message.correlationKey)
      : message.correlationKey.length === 0
        ? 'must not be empty'
        : message.correlationKey.length > 200
          ? `must be at most 200 characters, got ${message.correlationKey.length}`
          : undefined;
    if (keyProblem)
      return reject({
        code: ErrorCode.InvalidId,
        message: `correlationKey ${keyProblem}${definition.starts ? ' (it becomes the instance id)' : ''}`,
        path: 'correlationKey',
      });
    const ttl = message.ttlSeconds;
    if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 1 && ttl <= MAX_MESSAGE_TTL_SECONDS))
      return reject({
        code: ErrorCode.MalformedRequest,
        message: `ttlSeconds must be a whole number from 1 to ${MAX_MESSAGE_TTL_SECONDS}`,
        errors: [
          {
            path: 'ttlSeconds',
            message: `must be a whole number from 1 to ${MAX_MESSAGE_TTL_SECONDS}`,
          },
        ],
      });
    const issues = this.payloadIssues(definition, message.payload);
    if (issues.length > 0)
      return reject({
        code: ErrorCode.SchemaValidationFailed,
        message: `payload does not match the schema of ${definition.event}, the event message ${definition.name} becomes`,
        errors: prefixIssues('payload', issues),
      });
    const json = JSON.stringify(message.payload);
    // A UTF-16 unit is at most 3 bytes of UTF-8: only a long text needs counting.
    const bytes = json.length * 3 <= this.payloadBudget ? 0 : utf8.encode(json).byteLength;
    if (bytes > this.payloadBudget)
      return reject({
        code: ErrorCode.PayloadTooLarge,
        message: `the payload is ${bytes} bytes as JSON; a message's payload may be at most ${this.payloadBudget} (the event size limit less its record)`,
        eventType: definition.event,
        eventBytes: bytes,
        limitBytes: this.payloadBudget,
      });
    return ok(definition);
  }

  /** The most bytes of JSON a message's payload may have. */
  private get payloadBudget(): number {
    return (this.options.maxEventBytes ?? 256 * 1024) - MESSAGE_RECORD_OVERHEAD_BYTES;
  }

  private payloadIssues(definition: MessageDefinition, payload: unknown) {
    const workflow = this.workflowOf(definition);
    return this.options.codec.validate(schemaNameOf(workflow, definition.event), payload);
  }

  private workflowOf(message: MessageDefinition): WorkflowDefinition {
    return this.options.catalog.latest(message.workflow)!;
  }

  /** The first outcome of a message id seen before: from the index, else from its stream. */
  private async prior(messageId: string): Promise<IndexedMessage | undefined> {
    const indexed = await this.options.index.get(messageId);
    if (indexed) return indexed;
    const record = await this.streams.read(messageId);
    return record ? indexedFromRecord(record) : undefined;
  }

  private async notRecorded(messageId: string): Promise<Result<never>> {
    const indexed = await this.options.index.get(messageId);
    return reject(
      indexed
        ? settledRejection(messageId, indexed.status)
        : {
            code: ErrorCode.MessageNotFound,
            message: `no message ${messageId} was received`,
            messageId,
          },
    );
  }

  private async start(
    definition: MessageDefinition,
    message: IncomingMessage,
  ): Promise<Result<MessageOutcome>> {
    const started = await this.options.engine.startWorkflow.handle({
      workflow: definition.workflow,
      id: message.correlationKey,
      input: message.payload,
      idempotencyKey: messageIdempotencyKey(message.messageId),
      message: {
        id: message.messageId,
        name: message.name,
        correlationKey: message.correlationKey,
        source: message.source.kind,
      },
      ...sentBy(message),
    });
    const base = baseOf(definition, message);
    if (started.ok) {
      const { instance, replayed } = started.value;
      return ok(
        replayed
          ? { ...base, outcome: 'duplicate', firstOutcome: 'started', instanceId: instance.id }
          : { ...base, outcome: 'started', instanceId: instance.id, revision: instance.revision },
      );
    }
    const { code } = started.rejection;
    if (code === ErrorCode.IdempotencyKeyReused)
      return ok({
        ...base,
        outcome: 'duplicate',
        firstOutcome: 'started',
        instanceId: message.correlationKey,
      });
    if (code !== ErrorCode.InstanceAlreadyExists) return started;
    return ok(
      await this.recordNew(receivedOf(definition, message), {
        outcome: MessageStatus.Duplicate,
        detail: `${definition.workflow} instance ${message.correlationKey} was already started by another message; a business key starts one instance only`,
        instanceId: message.correlationKey,
        candidates: [message.correlationKey],
      }),
    );
  }

  private async correlateNew(
    definition: MessageDefinition,
    message: IncomingMessage,
  ): Promise<Result<MessageOutcome>> {
    const ttlSeconds = message.ttlSeconds ?? definition.ttlSeconds;
    const decision = await this.decide(definition, message);
    const base = baseOf(definition, message);
    if (decision.outcome === MessageStatus.Delivered)
      return ok(
        decision.already
          ? { ...base, outcome: 'duplicate', firstOutcome: 'delivered', ...instanceOf(decision) }
          : { ...base, outcome: 'delivered', ...instanceOf(decision) },
      );
    return ok(await this.recordNew({ ...receivedOf(definition, message), ttlSeconds }, decision));
  }

  /** Writes a new message stream (the message and its first attempt); a race is a duplicate. */
  private async recordNew(
    received: Omit<Parameters<typeof receivedPayload>[0], 'receivedAt'>,
    decision: Decision,
  ): Promise<MessageOutcome> {
    const at = this.now();
    const payload = receivedPayload({ ...received, receivedAt: at });
    const attempt = this.attemptOf(decision, 'received', undefined, undefined, received.ttlSeconds);
    // A second copy racing the first: its append is the same append (same ids) or a conflict.
    const first = await this.streams
      .append(received.messageId, ExpectedRevision.NoStream, [
        { type: MessageEvent.Received, payload },
        { type: MessageEvent.Correlated, payload: attempt },
      ])
      .catch((error: unknown) => {
        if (hasErrorCode(error, ErrorCode.RevisionConflict)) return { duplicate: true };
        throw error;
      });
    if (first.duplicate) {
      const prior = await this.prior(received.messageId);
      if (prior) return duplicateOf(prior).value;
      throw new EsflowError(
        ErrorCode.Internal,
        `message ${received.messageId}: its stream was written concurrently but cannot be read`,
      );
    }
    return outcomeOf(
      indexedFromRecord({
        received: payload,
        source: received.source,
        attempts: [attempt],
        status: attempt.outcome,
        revision: 1,
      }),
      attempt.outcome,
    );
  }

  private attemptOf(
    decision: Decision,
    trigger: CorrelationTrigger,
    record: MessageRecord | undefined,
    by: string | undefined,
    ttlSeconds = record?.received.ttlSeconds ?? 0,
  ): MessageCorrelatedPayload {
    const now = this.options.clock.now();
    const buffered = decision.outcome === MessageStatus.Buffered;
    // A buffered message keeps the deadline it was first given; a retried one gets a new one.
    const kept =
      record?.status === MessageStatus.Buffered ? record.attempts.at(-1)?.expiresAt : null;
    return {
      trigger,
      outcome: decision.outcome,
      reason: decision.reason ?? null,
      detail: decision.detail,
      instanceId: decision.instanceId ?? null,
      revision: decision.revision ?? null,
      expiresAt: buffered
        ? (kept ?? new Date(now.getTime() + ttlSeconds * 1000).toISOString())
        : null,
      candidates: decision.candidates,
      by: by ?? null,
      at: now.toISOString(),
    };
  }

  private async decideAgain(record: MessageRecord, trigger: CorrelationTrigger): Promise<Decision> {
    const { received } = record;
    const definition = this.messages.get(received.name);
    if (!definition || definition.workflow !== received.workflow)
      return {
        outcome: MessageStatus.Quarantined,
        reason: QuarantineReason.UnknownMessage,
        detail: `no workflow declares message ${received.name} any more (it was ${received.workflow || 'unknown'}'s)`,
        candidates: [],
      };
    const payload = parseOrText(received.payloadJson);
    const issues =
      typeof payload === 'string'
        ? [{ path: '', message: 'is not JSON' }]
        : this.payloadIssues(definition, payload);
    if (issues.length > 0)
      return {
        outcome: MessageStatus.Quarantined,
        reason: QuarantineReason.InvalidPayload,
        detail: `payload does not match the schema of ${definition.event}: ${issues.map((i) => `${i.path || '(payload)'} ${i.message}`).join('; ')}`,
        candidates: [],
      };
    const decision = await this.decide(definition, {
      messageId: received.messageId,
      name: received.name,
      correlationKey: received.correlationKey,
      payload,
      source: record.source,
    });
    if (trigger === 'expired' && decision.outcome === MessageStatus.Buffered)
      return {
        ...decision,
        outcome: MessageStatus.Quarantined,
        reason: QuarantineReason.NoMatchingInstance,
        detail: `no instance accepted it within its time-to-live of ${received.ttlSeconds} s: ${decision.detail}`,
      };
    return decision;
  }

  /** Finds who takes the message now and delivers it there; see the class's rules. */
  private async decide(definition: MessageDefinition, message: Correlatable): Promise<Decision> {
    const { engine } = this.options;
    // The first look is at the instances as this process last knew them (no store read when
    // cached): a delivery to the one that accepts is then decided on its stream by the send.
    // Any other conclusion is drawn on a fresh look only, as another process may have moved them.
    let fresh = false;
    for (let race = 0; race < MAX_RACES; race++) {
      const targets = await this.targets(definition, message, definition.event, fresh);
      const candidates = targets.map((target) => target.instanceId);
      const done = targets.find((target) => target.deliveredAt !== undefined);
      if (done)
        return {
          outcome: MessageStatus.Delivered,
          detail: `already delivered to ${done.instanceId}`,
          instanceId: done.instanceId,
          revision: done.deliveredAt!,
          candidates,
          already: true,
        };
      const accepting = targets.filter((target) => target.acceptsNow);
      if (accepting.length !== 1 && !fresh) {
        fresh = true;
        race--;
        continue;
      }
      if (accepting.length > 1)
        return {
          outcome: MessageStatus.Quarantined,
          reason: QuarantineReason.AmbiguousCorrelation,
          detail: `${accepting.length} instances with ${definition.correlateBy}=${message.correlationKey} accept ${definition.event} (${accepting.map((t) => t.instanceId).join(', ')}); delivered to none`,
          candidates,
        };
      if (accepting.length === 1) {
        const target = accepting[0]!;
        const sent = await engine.sendEvent.handle({
          workflow: definition.workflow,
          id: target.instanceId,
          type: definition.event,
          payload: message.payload,
          idempotencyKey: messageIdempotencyKey(message.messageId),
          message: {
            id: message.messageId,
            name: message.name,
            correlationKey: message.correlationKey,
            source: message.source.kind,
          },
          ...sentBy(message),
        });
        if (sent.ok)
          return {
            outcome: MessageStatus.Delivered,
            detail: `delivered to ${target.instanceId} as ${definition.event}`,
            instanceId: target.instanceId,
            revision: sent.value.instance.revision,
            candidates,
            ...(sent.value.replayed ? { already: true } : {}),
          };
        if (isRace(sent.rejection)) continue;
        return {
          outcome: MessageStatus.Quarantined,
          reason: QuarantineReason.DeliveryRefused,
          detail: `${target.instanceId} refused ${definition.event}: ${sent.rejection.message}`,
          instanceId: target.instanceId,
          candidates,
        };
      }
      const waiting = targets.filter((target) => target.mayAcceptLater());
      if (targets.length === 0 || waiting.length > 0)
        return {
          outcome: MessageStatus.Buffered,
          detail:
            targets.length === 0
              ? `no ${definition.workflow} instance declares ${definition.correlateBy}=${message.correlationKey} yet`
              : `${waiting.map((t) => `${t.instanceId} (in ${JSON.stringify(t.state)})`).join(', ')} does not accept ${definition.event} yet`,
          candidates,
        };
      const late = await this.late(definition, message, targets);
      if (late === 'race') continue;
      return late;
    }
    return {
      outcome: MessageStatus.Buffered,
      detail: `the instances with ${definition.correlateBy}=${message.correlationKey} kept changing while it was correlated; it waits in the buffer`,
      candidates: [],
    };
  }

  /** Every candidate has moved past the states that accept the message: the late policy. */
  private async late(
    definition: MessageDefinition,
    message: Correlatable,
    targets: readonly MessageTarget[],
  ): Promise<Decision | 'race'> {
    const target = targets[targets.length - 1]!;
    const candidates = targets.map((t) => t.instanceId);
    const past = `${target.instanceId} has moved past the states that accept ${definition.event} (it is ${target.status} in ${JSON.stringify(target.state)})`;
    const policy = definition.late;
    if (policy === 'quarantine')
      return {
        outcome: MessageStatus.Quarantined,
        reason: QuarantineReason.LateMessage,
        detail: past,
        instanceId: target.instanceId,
        candidates,
      };
    if (policy === 'ignore')
      return {
        outcome: MessageStatus.Late,
        detail: `${past}; ignored`,
        instanceId: target.instanceId,
        candidates,
      };
    const takers = (await this.targets(definition, message, policy.deliver)).filter(
      (t) => t.acceptsNow,
    );
    if (takers.length !== 1)
      return {
        outcome: MessageStatus.Late,
        detail: `${past}; ${takers.length === 0 ? 'no instance' : `${takers.length} instances`} accepted its late event ${policy.deliver}, so it was ignored`,
        instanceId: target.instanceId,
        candidates,
      };
    const sent = await this.options.engine.sendEvent.handle({
      workflow: definition.workflow,
      id: takers[0]!.instanceId,
      type: policy.deliver,
      payload: message.payload,
      idempotencyKey: messageIdempotencyKey(message.messageId),
      ...sentBy(message),
    });
    if (!sent.ok)
      return isRace(sent.rejection)
        ? 'race'
        : {
            outcome: MessageStatus.Late,
            detail: `${past}; its late event ${policy.deliver} was refused: ${sent.rejection.message}`,
            instanceId: takers[0]!.instanceId,
            candidates,
          };
    return {
      outcome: MessageStatus.Late,
      detail: `${past}; delivered as its late event ${policy.deliver}`,
      instanceId: takers[0]!.instanceId,
      revision: sent.value.instance.revision,
      candidates,
    };
  }

  /**
   * The instances that declare the message's key, each as its stream has it now: those the index
   * names, and the one whose id is the key (an instance the index has not learnt of yet, e.g.
   * when the key is also the business key); kept only if the stream confirms the key.
   */
  private async targets(
    definition: MessageDefinition,
    message: Correlatable,
    eventType: string,
    fresh = true,
  ): Promise<MessageTarget[]> {
    const { index, engine } = this.options;
    const limit = this.options.maxCandidates ?? 20;
    const key = message.correlationKey;
    const named = await index.instancesByKey(
      definition.workflow,
      definition.correlateBy,
      key,
      limit,
    );
    const ids = named.includes(key) || instanceIdProblem(key) ? named : [...named, key];
    const probe = { messageId: message.messageId, eventType, payload: message.payload, fresh };
    const found = await Promise.all(
      ids.map((id) => engine.messageTargets.inspect(definition.workflow, id, probe)),
    );
    return found.filter(
      (target): target is MessageTarget =>
        target !== undefined && target.keys[definition.correlateBy] === key,
    );
  }

  /** A raw value kept for the operator, cut to what the message's record may hold. */
  private cut(raw: string): string {
    const bytes = utf8.encode(raw).byteLength;
    if (bytes <= this.payloadBudget) return raw;
    // At most 4 bytes a character: what is kept fits whatever it holds.
    const kept = raw.slice(0, Math.floor(this.payloadBudget / 4) - 64);
    return `${kept}… (cut: ${bytes} bytes in all)`;
  }

  private now(): string {
    return this.options.clock.now().toISOString();
  }
}

/** A message in a status nothing changes any more. */
function isSettled(status: MessageStatus): boolean {
  return (
    status === MessageStatus.Delivered ||
    status === MessageStatus.Started ||
    status === MessageStatus.Duplicate ||
    status === MessageStatus.Discarded
  );
}

function settledRejection(messageId: string, status: MessageStatus): Rejection {
  return {
    code: ErrorCode.MessageSettled,
    message: `message ${messageId} is ${status}; only a buffered, quarantined or late message can be retried or discarded`,
    messageId,
    messageStatus: status,
  };
}

/** The instance moved on between the look and the send: look again. */
function isRace(rejection: Rejection): boolean {
  return (
    rejection.code === ErrorCode.EventNotAccepted ||
    rejection.code === ErrorCode.RevisionConflict ||
    rejection.code === ErrorCode.InstanceNotFound
  );
}

function baseOf(definition: MessageDefinition, message: IncomingMessage) {
  return {
    messageId: message.messageId,
    name: message.name,
    workflow: definition.workflow,
    correlationKey: message.correlationKey,
  };
}

function instanceOf(decision: Decision) {
  return {
    ...(decision.instanceId === undefined ? {} : { instanceId: decision.instanceId }),
    ...(decision.revision === undefined ? {} : { revision: decision.revision }),
  };
}

function receivedOf(definition: MessageDefinition, message: IncomingMessage) {
  return {
    messageId: message.messageId,
    name: message.name,
    workflow: definition.workflow,
    keyName: definition.correlateBy,
    correlationKey: message.correlationKey,
    payloadJson: JSON.stringify(message.payload),
    ttlSeconds: message.ttlSeconds ?? definition.ttlSeconds,
    source: message.source,
  };
}

function receivedPayload(received: ReturnType<typeof receivedOf> & { receivedAt: string }) {
  const { source, ...rest } = received;
  return { ...rest, sourceJson: JSON.stringify(source) };
}

/** A message's answer as the index (or its stream) shows it, with `kind` as the outcome. */
function outcomeOf(message: IndexedMessage, kind: MessageStatus): MessageOutcome {
  return {
    outcome: kind as MessageOutcomeKind,
    messageId: message.messageId,
    name: message.name,
    workflow: message.workflow,
    correlationKey: message.correlationKey,
    ...(message.instanceId === null ? {} : { instanceId: message.instanceId }),
    ...(message.revision === null ? {} : { revision: message.revision }),
    ...(message.reason === null ? {} : { reason: message.reason }),
    ...(message.detail === null ? {} : { detail: message.detail }),
    ...(message.expiresAt === null ? {} : { expiresAt: message.expiresAt }),
  };
}

function duplicateOf(prior: IndexedMessage): { ok: true; value: MessageOutcome } {
  return {
    ok: true,
    value: { ...outcomeOf(prior, prior.status), outcome: 'duplicate', firstOutcome: prior.status },
  };
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
