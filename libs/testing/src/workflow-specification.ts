import { ManualClock } from './support/manual-clock';
import { randomUUID } from 'node:crypto';
import {
  Clock,
  CommandDispatchedPayload,
  createMemoryEventStore,
  EsflowFeature,
  EventStore,
  FrameworkEvent,
  correlationKeysOf,
  InstanceView,
  MessageOutcome,
  readEsflowMetadata,
  Rejection,
  START_POSITION,
  schemaNameOf,
  streamNameOf,
  WorkflowDefinition,
} from '@esflow/core';
import { createEsflowRuntime, EsflowRuntime } from '@esflow/nest';
import { createEmbeddedSchemaRegistry } from '@esflow/sqlite';

/** An event sent to an instance: its type and payload fields, as XState sees it. */
export interface SpecEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * One event the scenario expects to be recorded. `data` is matched as a subset (only the fields
 * given are compared, recursively). For a `CommandDispatched` fact, `command` matches the
 * dispatched command's type and fields; {@link dispatched} and {@link completed} write these.
 */
export interface ExpectedRecord {
  readonly type: string;
  readonly data?: Readonly<Record<string, unknown>>;
  readonly command?: {
    readonly type: string;
    readonly payload?: Readonly<Record<string, unknown>>;
  };
}

/** An event as the scenario recorded it: type, decoded payload, and the command it dispatched. */
export interface RecordedFact {
  readonly type: string;
  readonly category: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly command?: { readonly type: string; readonly payload: Readonly<Record<string, unknown>> };
}

/** What a scenario's `when` produced, for assertions beyond `then`. */
export interface ScenarioResult {
  /** The events `when` appended, in order (the accepted event first, then the facts). */
  readonly recorded: readonly RecordedFact[];
  /** The instance afterwards. */
  readonly instance: InstanceView;
}

/** Thrown by `then`/`thenRejected` when the scenario did not go as specified. */
export class WorkflowSpecificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkflowSpecificationError';
  }
}

/** Expects a `CommandDispatched` fact for a command of this type (with at least these fields). */
export function dispatched(
  commandType: string,
  payload?: Readonly<Record<string, unknown>>,
): ExpectedRecord {
  return {
    type: FrameworkEvent.CommandDispatched,
    command: { type: commandType, ...(payload ? { payload } : {}) },
  };
}

/** Expects the `WorkflowCompleted` fact, with this final status (`completed`, `cancelled`, ...). */
export function completed(status?: string): ExpectedRecord {
  return { type: FrameworkEvent.WorkflowCompleted, ...(status ? { data: { status } } : {}) };
}

/** Expects a `TimerScheduled` fact (with at least these fields, e.g. `{ delayMs: 60_000 }`). */
export function timerScheduled(data?: Readonly<Record<string, unknown>>): ExpectedRecord {
  return { type: FrameworkEvent.TimerScheduled, ...(data ? { data } : {}) };
}

/** Expects a `TimerCancelled` fact: the state of a pending timer was left before it fired. */
export function timerCancelled(data?: Readonly<Record<string, unknown>>): ExpectedRecord {
  return { type: FrameworkEvent.TimerCancelled, ...(data ? { data } : {}) };
}

/** Expects the `TimerFired` event that caused the transition (with at least these fields). */
export function timerFired(data?: Readonly<Record<string, unknown>>): ExpectedRecord {
  return { type: FrameworkEvent.TimerFired, ...(data ? { data } : {}) };
}

/** Expects a `CommandCompleted` fact (with at least these fields, e.g. `{ attempts: 1 }`). */
export function commandCompleted(data?: Readonly<Record<string, unknown>>): ExpectedRecord {
  return { type: FrameworkEvent.CommandCompleted, ...(data ? { data } : {}) };
}

/** Expects a `CommandFailed` fact: an invoked command's final error went to its `onError`. */
export function commandFailed(data?: Readonly<Record<string, unknown>>): ExpectedRecord {
  return { type: FrameworkEvent.CommandFailed, ...(data ? { data } : {}) };
}

/** Expects a `CommandWithdrawn` fact: the state that invoked a command was left first. */
export function commandWithdrawn(data?: Readonly<Record<string, unknown>>): ExpectedRecord {
  return { type: FrameworkEvent.CommandWithdrawn, ...(data ? { data } : {}) };
}

/** Expects an `IncidentRaised` fact: a command failed for good and waits for an operator. */
export function incidentRaised(data?: Readonly<Record<string, unknown>>): ExpectedRecord {
  return { type: FrameworkEvent.IncidentRaised, ...(data ? { data } : {}) };
}

/** What a command under test comes to: its reply event (emitted), its output (invoked), or neither. */
export interface SpecCommandResult {
  readonly reply?: SpecEvent;
  readonly output?: unknown;
}

/** Options of {@link WorkflowSpecification.for}. */
export interface WorkflowSpecificationOptions {
  /** Which of the feature's workflows (by name); needed when it has several. */
  readonly workflow?: string;
  /**
   * The clock the engine stamps events with and timers fall due by (default: a
   * {@link ManualClock}, which `whenTimerFires` moves to the timer's due time).
   */
  readonly clock?: Clock;
}

/** A message from another service under test (see {@link Scenario.whenMessage}). */
export interface SpecMessage {
  /** A message name the workflow declares (`PaymentReceived`). */
  readonly name: string;
  /** The fields of the event it becomes. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** Default: a new id. */
  readonly messageId?: string;
  /** Default: the value the scenario's instance declares for the message's key. */
  readonly correlationKey?: string;
}

type Outcome =
  | { readonly ok: true; readonly recorded: RecordedFact[]; readonly instance: InstanceView }
  | { readonly ok: false; readonly rejection: Rejection }
  | { readonly ok: false; readonly notDelivered: MessageOutcome };

/**
 * Given/when/then specifications of a workflow, run by the real engine on the in-memory store
 * with the real Avro codec (the feature's schemas, registered in an in-memory registry): what
 * the scenario records is exactly what production would record.
 *
 * ```ts
 * const spec = await WorkflowSpecification.for(orderFulfillmentFeature);
 * await spec
 *   .given(orderPlaced, { type: 'PaymentReceived', paymentId: 'p-1', amountCents: 4999 })
 *   .when({ type: 'GoodsUnavailable', sku: 'SKU-1' })
 *   .then([{ type: 'GoodsUnavailable' }, dispatched('RefundPayment', { paymentId: 'p-1' })]);
 * await spec
 *   .given(orderPlaced, paid, unavailable)
 *   .whenCommandCompletes('RefundPayment', { reply: { type: 'PaymentRefunded', refundId: 'r-1' } })
 *   .then([{ type: 'PaymentRefunded' }, commandCompleted(), completed('cancelled')]);
 * ```
 * Each scenario runs on an instance of its own, so scenarios of one specification never see
 * each other. Assertions throw {@link WorkflowSpecificationError}, which every test runner
 * reports as a failure.
 */
export class WorkflowSpecification {
  private constructor(
    private readonly runtime: EsflowRuntime,
    private readonly store: EventStore,
    private readonly definition: WorkflowDefinition,
    private readonly clock: Clock,
  ) {}

  /** A specification of the (only, or named) workflow of `feature`. */
  static async for(
    feature: EsflowFeature,
    options: WorkflowSpecificationOptions = {},
  ): Promise<WorkflowSpecification> {
    const names = [...new Set(feature.workflows.map((workflow) => workflow.name))];
    const name = options.workflow ?? (names.length === 1 ? names[0] : undefined);
    if (name === undefined || !names.includes(name))
      throw new WorkflowSpecificationError(
        `name the workflow to specify with { workflow } (the feature has ${names.join(', ')})`,
      );
    const store = createMemoryEventStore();
    const clock = options.clock ?? new ManualClock();
    const runtime = await createEsflowRuntime({
      store,
      registry: createEmbeddedSchemaRegistry({ filename: ':memory:' }),
      features: [{ feature, registeredBy: 'WorkflowSpecification' }],
      clock,
    });
    return new WorkflowSpecification(runtime, store, runtime.catalog.latest(name)!, clock);
  }

  /** A scenario on a new instance started with `input`, to which `events` were then sent. */
  given(input: Readonly<Record<string, unknown>>, ...events: readonly SpecEvent[]): Scenario {
    return new Scenario(this, { input, events });
  }

  /** A scenario whose `when` is the start itself. */
  whenStarted(input: Readonly<Record<string, unknown>>): Then {
    return new Then(() => this.run({ events: [] }, { start: input }));
  }

  /** @internal Runs the given part and the when part, and reports what `when` recorded. */
  async run(
    given: {
      readonly input?: Readonly<Record<string, unknown>>;
      readonly events: readonly SpecEvent[];
    },
    when:
      | { readonly start: Readonly<Record<string, unknown>> }
      | { readonly event: SpecEvent }
      | { readonly timer: string | undefined }
      | { readonly completes: string; readonly result: SpecCommandResult }
      | { readonly fails: string; readonly error: string }
      | { readonly message: SpecMessage },
  ): Promise<Outcome> {
    const { engine } = this.runtime;
    const workflow = this.definition.name;
    const id = `spec-${randomUUID()}`;
    if (given.input) {
      const started = await engine.startWorkflow.handle({ workflow, id, input: given.input });
      if (!started.ok) throw givenFailed('the start', started.rejection);
      for (const event of given.events) {
        const { type, ...payload } = event;
        const sent = await engine.sendEvent.handle({ workflow, id, type, payload });
        if (!sent.ok) throw givenFailed(type, sent.rejection);
      }
    }
    const before = (await this.store.readStream(streamNameOf(workflow, id))).length;
    const result =
      'start' in when
        ? await engine.startWorkflow.handle({ workflow, id, input: when.start })
        : 'event' in when
          ? await engine.sendEvent.handle({
              workflow,
              id,
              type: when.event.type,
              payload: withoutType(when.event),
            })
          : 'timer' in when
            ? await this.fireTimer(id, when.timer)
            : 'message' in when
              ? await this.deliverMessage(id, when.message)
              : await this.settleCommand(id, when);
    if (!result.ok)
      return 'notDelivered' in result ? result : { ok: false, rejection: result.rejection };
    const appended = (await this.store.readStream(streamNameOf(workflow, id))).slice(before);
    const recorded = await Promise.all(
      appended.map(async (event): Promise<RecordedFact> => {
        const data = await this.runtime.codec.decode(
          schemaNameOf(this.definition, event.type),
          event.data,
        );
        const fact: RecordedFact = {
          type: event.type,
          category: readEsflowMetadata(event.metadata).category,
          data,
        };
        if (event.type !== FrameworkEvent.CommandDispatched) return fact;
        const { commandType, payloadJson } = data as unknown as CommandDispatchedPayload;
        return { ...fact, command: { type: commandType, payload: JSON.parse(payloadJson) } };
      }),
    );
    return { ok: true, recorded, instance: result.value.instance };
  }

  /**
   * Completes (with its reply or output) or fails for good (after its last attempt) the
   * instance's one command in flight of `commandType`, as the dispatcher or a worker would.
   */
  private async settleCommand(
    id: string,
    when:
      | { readonly completes: string; readonly result: SpecCommandResult }
      | { readonly fails: string; readonly error: string },
  ) {
    const { engine } = this.runtime;
    const workflow = this.definition.name;
    const commandType = 'completes' in when ? when.completes : when.fails;
    const current = await engine.queries.get(workflow, id);
    if (!current.ok) throw givenFailed('the instance', current.rejection);
    const inFlight = current.value.inFlightCommands.filter((c) => c.commandType === commandType);
    if (inFlight.length !== 1)
      throw new WorkflowSpecificationError(
        `when: expected one ${commandType} in flight, the instance has ${
          current.value.inFlightCommands.map((c) => c.commandType).join(', ') || 'none'
        }`,
      );
    const { commandId } = inFlight[0]!;
    if ('fails' in when)
      return engine.commands.fail({ workflow, id, commandId, attempts: 1, error: when.error });
    const { reply, output } = when.result;
    return engine.commands.complete({
      workflow,
      id,
      commandId,
      attempts: 1,
      ...(reply ? { reply: { type: reply.type, payload: withoutType(reply) } } : {}),
      ...(output === undefined ? {} : { output }),
    });
  }

  /**
   * Gives `message` to the application's correlator, keyed by the instance's own value of the
   * message's key unless it says: delivered, the instance's view; any other outcome is reported
   * as not delivered.
   */
  private async deliverMessage(id: string, message: SpecMessage) {
    const { engine, messages } = this.runtime;
    const workflow = this.definition.name;
    const definition = this.definition.messages[message.name];
    const current = await engine.queries.get(workflow, id);
    if (!current.ok) throw givenFailed('the instance', current.rejection);
    const keys = correlationKeysOf(this.definition, current.value.context);
    const correlationKey =
      message.correlationKey ?? (definition ? keys[definition.correlateBy] : undefined) ?? id;
    // What the projector's correlation service would have indexed: this instance's keys. Scenarios
    // share their inputs, so only the scenario's own instance declares them while it runs.
    const { messageIndex } = this.runtime;
    const at = (await messageIndex.checkpoint()) ?? START_POSITION;
    const declare = (declared: Record<string, string>) =>
      messageIndex.apply([{ kind: 'instanceKeys', workflow, instanceId: id, keys: declared }], at);
    await declare(keys);
    const received = await messages
      .receive({
        name: message.name,
        correlationKey,
        messageId: message.messageId ?? `spec-message-${randomUUID()}`,
        payload: message.payload,
        source: { kind: 'rest' },
      })
      .finally(() => declare({}));
    if (!received.ok) return received;
    if (received.value.outcome !== 'delivered')
      return { ok: false as const, notDelivered: received.value };
    const after = await engine.queries.get(workflow, id);
    if (!after.ok) throw givenFailed('the instance', after.rejection);
    return { ok: true as const, value: { instance: after.value } };
  }

  /**
   * Fires the instance's pending timer whose event type contains `which` (the only pending one
   * when not given), moving a {@link ManualClock} to its due time first.
   */
  private async fireTimer(id: string, which: string | undefined) {
    const { engine } = this.runtime;
    const workflow = this.definition.name;
    const current = await engine.queries.get(workflow, id);
    if (!current.ok) throw givenFailed('the instance', current.rejection);
    const pending = current.value.pendingTimers.filter(
      (timer) => which === undefined || timer.eventType.includes(which),
    );
    if (pending.length !== 1)
      throw new WorkflowSpecificationError(
        `when: expected one pending timer${which ? ` matching "${which}"` : ''}, the instance has ${
          current.value.pendingTimers.map((timer) => timer.eventType).join(', ') || 'none'
        }`,
      );
    const timer = pending[0]!;
    if (this.clock instanceof ManualClock) this.clock.set(timer.dueAt);
    const fired = await engine.fireTimer.handle({ workflow, id, timerId: timer.timerId });
    if (fired.ok && fired.value.outcome !== 'fired')
      throw new WorkflowSpecificationError(
        `when: the timer ${timer.eventType} did not fire (${fired.value.outcome}); with your own clock, move it to ${timer.dueAt} first`,
      );
    return fired;
  }
}

function withoutType(event: SpecEvent): Record<string, unknown> {
  const { type: _type, ...payload } = event;
  return payload;
}

function givenFailed(what: string, rejection: Rejection): WorkflowSpecificationError {
  return new WorkflowSpecificationError(
    `given: ${what} was not accepted (${rejection.code}): ${rejection.message}`,
  );
}

/** The given part of a scenario; `when` says what happens next. */
export class Scenario {
  constructor(
    private readonly spec: WorkflowSpecification,
    private readonly given: {
      readonly input?: Readonly<Record<string, unknown>>;
      readonly events: readonly SpecEvent[];
    },
  ) {}

  /** The event under test, sent to the instance the given part made. */
  when(event: SpecEvent): Then {
    return new Then(() => this.spec.run(this.given, { event }));
  }

  /**
   * The timer under test fires: the instance's pending timer whose event type contains `which`
   * (e.g. the delay's name, `'paymentWindow'`), or its only pending timer. The specification's
   * clock is moved to the timer's due time; time never passes otherwise.
   */
  whenTimerFires(which?: string): Then {
    return new Then(() => this.spec.run(this.given, { timer: which }));
  }

  /**
   * The instance's one command of `commandType` in flight completes, with `result`: the reply
   * event of an emitted command (`{ reply: { type: 'PaymentRefunded', refundId } }`), the output
   * of an invoked actor (`{ output: { passed: true } }`), or neither.
   */
  whenCommandCompletes(commandType: string, result: SpecCommandResult = {}): Then {
    return new Then(() => this.spec.run(this.given, { completes: commandType, result }));
  }

  /**
   * The instance's one command of `commandType` in flight fails for good (its last attempt):
   * an invoked actor's error reaches its `onError`, any other failure raises an incident.
   */
  whenCommandFails(commandType: string, error: string): Then {
    return new Then(() => this.spec.run(this.given, { fails: commandType, error }));
  }

  /**
   * A message from another service arrives for the instance (correlated by the value the
   * instance declares for the message's key, unless `correlationKey` says), through the same
   * correlator as `POST /messages`: `then` sees what its delivery recorded; a message the
   * instance does not take (buffered, late, quarantined) fails `then` naming the outcome, and a
   * bad message is a rejection for `thenRejected`.
   */
  whenMessage(message: SpecMessage): Then {
    return new Then(() => this.spec.run(this.given, { message }));
  }
}

/** The then part of a scenario: what must have been recorded, or the rejection. */
export class Then {
  constructor(private readonly outcome: () => Promise<Outcome>) {}

  /**
   * Asserts that exactly these events were recorded, in this order (each matched by type, and
   * by the fields it gives), and returns what was recorded and the instance afterwards.
   */
  async then(expected: readonly ExpectedRecord[]): Promise<ScenarioResult> {
    const outcome = await this.outcome();
    if (!outcome.ok)
      throw new WorkflowSpecificationError(
        'notDelivered' in outcome
          ? `expected ${describeList(expected)} to be recorded, but the message was ${outcome.notDelivered.outcome}${outcome.notDelivered.reason ? ` (${outcome.notDelivered.reason})` : ''}: ${outcome.notDelivered.detail ?? ''}`
          : `expected ${describeList(expected)} to be recorded, but the event was rejected with ${outcome.rejection.code}: ${outcome.rejection.message}`,
      );
    const problems = compare(expected, outcome.recorded);
    if (problems.length > 0)
      throw new WorkflowSpecificationError(
        `expected ${describeList(expected)} to be recorded, got ${describeList(outcome.recorded)}:\n  ${problems.join('\n  ')}\nrecorded: ${JSON.stringify(outcome.recorded, null, 2)}`,
      );
    return { recorded: outcome.recorded, instance: outcome.instance };
  }

  /**
   * Asserts that the event was rejected with this stable code (and, when given, these fields of
   * the rejection, e.g. `{ acceptedEvents: [...] }`), with nothing recorded.
   */
  async thenRejected(
    code: string,
    fields: Readonly<Record<string, unknown>> = {},
  ): Promise<Rejection> {
    const outcome = await this.outcome();
    if (outcome.ok)
      throw new WorkflowSpecificationError(
        `expected a rejection with ${code}, but ${describeList(outcome.recorded)} was recorded`,
      );
    if ('notDelivered' in outcome)
      throw new WorkflowSpecificationError(
        `expected a rejection with ${code}, but the message was ${outcome.notDelivered.outcome}`,
      );
    const { rejection } = outcome;
    const problems = [
      ...(rejection.code === code ? [] : [`code: expected ${code}, got ${rejection.code}`]),
      ...subsetProblems(fields, rejection as unknown as Record<string, unknown>, 'rejection'),
    ];
    if (problems.length > 0)
      throw new WorkflowSpecificationError(
        `the rejection does not match:\n  ${problems.join('\n  ')}\nrejection: ${JSON.stringify(rejection)}`,
      );
    return rejection;
  }
}

function describeList(items: readonly { type: string; command?: { type: string } }[]): string {
  const names = items.map((item) =>
    item.command ? `${item.type}(${item.command.type})` : item.type,
  );
  return `[${names.join(', ')}]`;
}

function compare(expected: readonly ExpectedRecord[], recorded: readonly RecordedFact[]): string[] {
  const problems: string[] = [];
  if (expected.length !== recorded.length)
    problems.push(`expected ${expected.length} events, ${recorded.length} were recorded`);
  expected.forEach((want, index) => {
    const got = recorded[index];
    if (!got) return;
    const at = `#${index} (${got.type})`;
    if (want.type !== got.type) {
      problems.push(`${at}: expected type ${want.type}`);
      return;
    }
    if (want.data) problems.push(...subsetProblems(want.data, got.data, `${at} data`));
    if (want.command) {
      if (!got.command) problems.push(`${at}: expected a command, the event dispatched none`);
      else {
        if (want.command.type !== got.command.type)
          problems.push(`${at}: expected command ${want.command.type}, got ${got.command.type}`);
        if (want.command.payload)
          problems.push(
            ...subsetProblems(want.command.payload, got.command.payload, `${at} command`),
          );
      }
    }
  });
  return problems;
}

/** Where `actual` differs from the fields `expected` gives (recursively for objects). */
function subsetProblems(expected: unknown, actual: unknown, path: string): string[] {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    return Object.entries(expected).flatMap(([key, value]) =>
      subsetProblems(value, (actual as Record<string, unknown>)[key], `${path}.${key}`),
    );
  }
  return JSON.stringify(expected) === JSON.stringify(actual)
    ? []
    : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}
