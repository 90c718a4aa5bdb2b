import { fromPromise } from 'xstate';
import type {
  AnyStateMachine,
  AnyStateNode,
  ContextFrom,
  EmittedFrom,
  EventFromLogic,
  InputFrom,
  PromiseActorLogic,
} from 'xstate';
import { ErrorCode, EsflowError, ValidationIssue } from '../errors/esflow-error';
import { CommandRetryPolicy, DEFAULT_COMMAND_RETRY } from '../commands/command-retry';

/** Workflow names are camelCase without `-`, so `<workflow>-<id>` streams group by category. */
const WORKFLOW_NAME = /^[a-z][A-Za-z0-9]*$/;
/** Event and command types are PascalCase: the XState type, stored type and Avro name agree. */
const TYPE_NAME = /^[A-Z][A-Za-z0-9]*$/;

/**
 * A workflow definition: an XState v5 machine plus what esflow needs to run it durably. Made
 * with {@link defineWorkflow}, which checks the naming rules once, at start-up.
 *
 * The machine must be deterministic: guards and `assign` see only context and event (no clock,
 * no randomness), because instances are rebuilt by replaying their events through it.
 */
export interface WorkflowDefinition<TMachine extends AnyStateMachine = AnyStateMachine> {
  /** camelCase, without `-`: the stream of instance `id` is `<name>-<id>`. */
  readonly name: string;
  /** Instances are pinned to the version they started on. */
  readonly version: number;
  readonly machine: TMachine;
  /** The first event of every instance; its payload is the machine's `input`. */
  readonly startEvent: string;
  /** Events a client may send; derived from the machine's transitions. */
  readonly inputEvents: readonly string[];
  /**
   * Commands the machine emits (`emit({ type: 'RefundPayment', ... })`). Each one is recorded
   * as a `CommandDispatched` fact in the same append, never executed inline.
   */
  readonly commands: readonly string[];
  /**
   * Named actors the machine invokes (`invoke: { src: 'runKycCheck' }`), each carried out as a
   * durable command: by `src`, the command it becomes and the record its output follows.
   */
  readonly invokes: Readonly<Record<string, InvokedCommand>>;
  /** Retry policies of command types that declare one (the others use the default). */
  readonly retries: Readonly<Record<string, CommandRetryPolicy>>;
  /** Avro namespace of this workflow's records; `esflow.<name>` unless given. */
  readonly schemaNamespace: string;
  /** Derives the instance id from the start payload when the client gives none (business key). */
  readonly instanceIdFrom?: (input: InputFrom<TMachine>) => string | undefined;
  /**
   * The keys an instance declares for message correlation, each read from its context right
   * after its start event (and recorded with it): `{ orderId: (context) => context.orderId }`.
   */
  readonly correlationKeys: Readonly<Record<string, (context: ContextFrom<TMachine>) => unknown>>;
  /** The messages from other services this workflow receives, by message name. */
  readonly messages: Readonly<Record<string, MessageDefinition>>;
  /** How instances of older versions migrate to this one (see {@link MigrationSpec}). */
  readonly migrations: MigrationSpec<ContextFrom<TMachine>>;
}

/**
 * What a definition says about instances migrated to it from an older version (`POST
 * /workflows/{workflow}/{id}/migrate`): how their context becomes this version's, and which
 * contexts it takes. Both run once, when the migration is decided; the context they produce is
 * recorded in `InstanceMigrated`, so replay never runs them again.
 */
export interface MigrationSpec<TContext = unknown> {
  /**
   * By source version, the context of an instance of that version turned into this version's
   * (e.g. a field v2 added, with a default). Without one, the context is carried over as it is.
   */
  readonly contextFrom?: Readonly<Record<number, (context: unknown) => TContext>>;
  /**
   * The problems of a context for this version, by field (`{ path: 'fraudCheck', message:
   * 'is required' }`); none when it is valid. Without it, any JSON object is taken.
   */
  readonly validateContext?: (context: unknown) => readonly ValidationIssue[];
}

/**
 * What happens to a message that arrives after its instance moved past every state that would
 * accept it (e.g. a payment after the payment window's timer cancelled the order): `ignore`
 * records it as `late` and does nothing else; `quarantine` sets it aside (`LATE_MESSAGE`) for an
 * operator; `{ deliver: 'LatePaymentReceived' }` delivers that event instead, when the instance's
 * state accepts it (recorded as `late`, with the revision).
 */
export type LatePolicy = 'ignore' | 'quarantine' | { readonly deliver: string };

/** A message a workflow receives, as {@link defineWorkflow} checked it. */
export interface MessageDefinition {
  /** PascalCase, unique across the application (`PaymentReceived`). */
  readonly name: string;
  readonly workflow: string;
  /** The event it becomes: the start event for a start message, else one the machine accepts. */
  readonly event: string;
  /**
   * True: it starts an instance whose id is the message's correlation key (its business key); a
   * second start for the same key is a duplicate, never a second instance.
   */
  readonly starts: boolean;
  /** The instance key it is matched against (one of `correlationKeys`); empty for a start message. */
  readonly correlateBy: string;
  /** How long it waits in the buffer for an instance to accept it, unless the sender says. */
  readonly ttlSeconds: number;
  readonly late: LatePolicy;
}

/** How a workflow declares a message in {@link WorkflowDefinitionSpec.messages}. */
export type MessageSpec<TEvent extends string = string, TKey extends string = string> =
  | {
      /** A start message: its correlation key is the new instance's id. */
      readonly starts: true;
    }
  | {
      readonly starts?: false;
      /** The instance key it is matched against. */
      readonly correlateBy: TKey;
      /** The event it becomes (default: the message's name). */
      readonly event?: TEvent;
      /** Buffer time-to-live in seconds (default {@link DEFAULT_MESSAGE_TTL_SECONDS}). */
      readonly ttlSeconds?: number;
      /** Default `ignore`. */
      readonly late?: 'ignore' | 'quarantine' | { readonly deliver: TEvent };
    };

/** A buffered message waits a day for its instance unless its definition or sender says. */
export const DEFAULT_MESSAGE_TTL_SECONDS = 86_400;
/** The longest buffer time-to-live accepted: a year. */
export const MAX_MESSAGE_TTL_SECONDS = 366 * 86_400;

/**
 * An invoked actor carried out as a command. The invoke's `input` is the command's payload
 * (validated against the command's schema); a worker's output (validated against `output`'s
 * schema, when declared) reaches the machine as `xstate.done.actor.<invoke id>` with `output`,
 * and a final failure as `xstate.error.actor.<invoke id>` with `error: { message }` when the
 * invoking state has `onError` (otherwise it raises an incident). Leaving the invoking state
 * first withdraws the command.
 */
export interface InvokedCommand {
  /** The command type, PascalCase, with an Avro schema of its own (e.g. `RunKycCheck`). */
  readonly command: string;
  /** The record the output follows (PascalCase, in the workflow's namespace); none: no output. */
  readonly output?: string;
}

/** The event types a machine accepts, or `string` for a machine whose events are untyped. */
type MachineEventType<TMachine extends AnyStateMachine> = EventFromLogic<TMachine>['type'];

/**
 * `TStart`, unless it is one of the machine's own events: the start event creates an instance,
 * it is never a transition of one.
 */
type StartEventName<TMachine extends AnyStateMachine, TStart extends string> =
  string extends MachineEventType<TMachine>
    ? TStart
    : TStart extends MachineEventType<TMachine>
      ? never
      : TStart;

/** What {@link defineWorkflow} takes: names and types are checked against the machine. */
export interface WorkflowDefinitionSpec<
  TMachine extends AnyStateMachine,
  TStart extends string = string,
> {
  /** camelCase letters and digits, without `-` (e.g. `orderFulfillment`). */
  readonly name: string;
  /** A positive integer; bump it for a definition change that running instances must not see. */
  readonly version: number;
  readonly machine: TMachine;
  /** PascalCase, past tense (`OrderPlaced`); its payload is the machine's `input`. */
  readonly startEvent: StartEventName<TMachine, TStart>;
  /** Types the machine emits (`emit(...)`) that are commands for other services. */
  readonly commands?: readonly EmittedFrom<TMachine>['type'][];
  /**
   * Actors the machine invokes by name (`src`), each run as a durable command: e.g.
   * `{ runKycCheck: { command: 'RunKycCheck', output: 'KycVerdict' } }`.
   */
  readonly invokes?: Readonly<Record<string, InvokedCommand>>;
  /**
   * Retry policies by command type (emitted or invoked); a policy given in part takes the rest
   * from `DEFAULT_COMMAND_RETRY`.
   */
  readonly retries?: Readonly<Record<string, Partial<CommandRetryPolicy>>>;
  /** Avro namespace of the workflow's records; `esflow.<name>` unless given. */
  readonly schemaNamespace?: string;
  /** The business key: an instance id derived from the start payload. */
  readonly instanceIdFrom?: (input: InputFrom<TMachine>) => string | undefined;
  /**
   * Keys the instance declares for correlating messages, read from its context after the start
   * event: `{ orderId: (context) => context.orderId }`. A key whose value is missing (undefined,
   * null, empty) is not declared by that instance.
   */
  readonly correlationKeys?: Readonly<
    Record<string, (context: ContextFrom<TMachine>) => string | number | null | undefined>
  >;
  /**
   * Messages from other services, by name: a start message (`{ starts: true }`, becoming the
   * start event) or one correlated to running instances (`{ correlateBy: 'orderId' }`).
   */
  readonly messages?: Readonly<Record<string, MessageSpec<MachineEventType<TMachine>>>>;
  /** How instances of older versions migrate to this one: their context, and its check. */
  readonly migrations?: MigrationSpec<ContextFrom<TMachine>>;
}

/** A migration spec's `contextFrom` may only name older versions. */
function checkedMigrations<T>(name: string, version: number, spec: MigrationSpec<T>) {
  for (const from of Object.keys(spec.contextFrom ?? {})) {
    const source = Number(from);
    if (!Number.isInteger(source) || source < 1 || source >= version)
      throw invalid(
        `workflow ${name} v${version}: migrations.contextFrom names version ${from}; only older versions (1 to ${version - 1}) migrate to it`,
      );
  }
  return spec;
}

function invalid(message: string): EsflowError {
  return new EsflowError(ErrorCode.InvalidDefinition, message);
}

/**
 * Defines a workflow: checks its naming rules (camelCase workflow name, PascalCase event and
 * command types, a start event that is not also a transition event) and derives the events
 * clients may send from the machine. Throws INVALID_DEFINITION, naming the rule, otherwise.
 * Types are checked too: `instanceIdFrom` receives the machine's input, `commands` must be
 * types the machine emits.
 */
export function defineWorkflow<TMachine extends AnyStateMachine, TStart extends string>(
  spec: WorkflowDefinitionSpec<TMachine, TStart>,
): WorkflowDefinition<TMachine> {
  if (!WORKFLOW_NAME.test(spec.name))
    throw invalid(`workflow name "${spec.name}" must be camelCase letters and digits, without "-"`);
  if (!Number.isInteger(spec.version) || spec.version < 1)
    throw invalid(`workflow ${spec.name}: version must be a positive integer, got ${spec.version}`);
  const startEvent: string = spec.startEvent;
  const inputEvents = spec.machine.events.filter((type: string) => !type.startsWith('xstate.'));
  const invokes = { ...(spec.invokes ?? {}) };
  const invokedTypes = Object.values(invokes).flatMap(({ command, output }) =>
    output === undefined ? [command] : [command, output],
  );
  const commands: readonly string[] = [
    ...new Set([...(spec.commands ?? []), ...Object.values(invokes).map((i) => i.command)]),
  ];
  for (const type of [startEvent, ...inputEvents, ...commands, ...invokedTypes]) {
    if (!TYPE_NAME.test(type))
      throw invalid(
        `workflow ${spec.name}: type "${type}" must be PascalCase (e.g. PaymentReceived)`,
      );
  }
  if (inputEvents.includes(startEvent))
    throw invalid(
      `workflow ${spec.name}: start event ${startEvent} must not also be a transition event`,
    );
  const retries: Record<string, CommandRetryPolicy> = {};
  for (const [type, policy] of Object.entries(spec.retries ?? {})) {
    if (!commands.includes(type))
      throw invalid(
        `workflow ${spec.name}: retries name ${type}, which is not one of its commands (${commands.join(', ') || 'none'})`,
      );
    retries[type] = checkedRetryPolicy(spec.name, type, policy);
  }
  const machine = withDurableInvokes(spec.name, spec.machine, invokes);
  const correlationKeys = {
    ...(spec.correlationKeys ?? {}),
  } as WorkflowDefinition<TMachine>['correlationKeys'];
  const messages = checkedMessages(
    spec.name,
    startEvent,
    inputEvents,
    correlationKeys,
    spec.messages ?? {},
  );
  return {
    name: spec.name,
    version: spec.version,
    machine,
    startEvent,
    inputEvents,
    commands,
    invokes,
    retries,
    schemaNamespace: spec.schemaNamespace ?? `esflow.${spec.name}`,
    correlationKeys,
    messages,
    migrations: checkedMigrations(spec.name, spec.version, spec.migrations ?? {}),
    ...(spec.instanceIdFrom ? { instanceIdFrom: spec.instanceIdFrom } : {}),
  };
}

/**
 * The logic of an actor esflow carries out as a durable command, for `setup({ actors })`: it
 * types the invoke's `input` and `output` (`durableCommand<{ userId: string }, KycVerdict>()`)
 * and never runs in the machine itself (esflow folds the machine with the pure `transition()`,
 * and a worker or handler carries out the command instead).
 */
export function durableCommand<TInput = unknown, TOutput = unknown>(): PromiseActorLogic<
  TOutput,
  TInput
> {
  return fromPromise<TOutput, TInput>(() =>
    Promise.reject(new Error('esflow carries out this actor as a durable command')),
  );
}

/**
 * The machine with every declared invoke's actor provided (as {@link durableCommand}) where the
 * machine's setup has none: XState resolves an invoke's `input` only for an actor it knows.
 * Throws INVALID_DEFINITION for an invoke of a named actor that `invokes` does not declare (it
 * would never complete), and for a declared one the machine never invokes.
 */
function withDurableInvokes<TMachine extends AnyStateMachine>(
  workflow: string,
  machine: TMachine,
  invokes: Readonly<Record<string, InvokedCommand>>,
): TMachine {
  const used = new Set<string>();
  const walk = (node: AnyStateNode) => {
    for (const invoke of node.invoke) {
      if (typeof invoke.src !== 'string') continue;
      if (!(invoke.src in invokes))
        throw invalid(
          `workflow ${workflow}: state ${node.id} invokes actor "${invoke.src}", which invokes does not declare; add invokes: { ${invoke.src}: { command: '...' } } so esflow carries it out as a durable command`,
        );
      used.add(invoke.src);
    }
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(machine.root);
  const unused = Object.keys(invokes).filter((src) => !used.has(src));
  if (unused.length > 0)
    throw invalid(
      `workflow ${workflow}: invokes declares ${unused.join(', ')}, which no state of the machine invokes`,
    );
  const known = machine.implementations.actors as Record<string, unknown>;
  const missing = Object.keys(invokes).filter((src) => !(src in known));
  if (missing.length === 0) return machine;
  return machine.provide({
    actors: Object.fromEntries(missing.map((src) => [src, durableCommand()])),
  }) as TMachine;
}

function checkedMessages(
  workflow: string,
  startEvent: string,
  inputEvents: readonly string[],
  correlationKeys: Readonly<Record<string, unknown>>,
  specs: Readonly<Record<string, MessageSpec>>,
): Record<string, MessageDefinition> {
  const messages: Record<string, MessageDefinition> = {};
  const keys = Object.keys(correlationKeys);
  const accepted = (event: string, what: string) => {
    if (!inputEvents.includes(event))
      throw invalid(
        `workflow ${workflow}: ${what} ${event}, which the machine does not accept (it accepts ${inputEvents.join(', ')})`,
      );
  };
  for (const [name, spec] of Object.entries(specs)) {
    const at = `messages.${name}`;
    if (!TYPE_NAME.test(name))
      throw invalid(
        `workflow ${workflow}: message "${name}" must be PascalCase (e.g. PaymentReceived)`,
      );
    if (spec.starts === true) {
      messages[name] = {
        name,
        workflow,
        event: startEvent,
        starts: true,
        correlateBy: '',
        ttlSeconds: DEFAULT_MESSAGE_TTL_SECONDS,
        late: 'ignore',
      };
      continue;
    }
    if (!keys.includes(spec.correlateBy))
      throw invalid(
        `workflow ${workflow}: ${at}.correlateBy names key "${spec.correlateBy}", which correlationKeys does not declare (${keys.join(', ') || 'none'})`,
      );
    const event = spec.event ?? name;
    accepted(event, `${at} becomes event`);
    const ttlSeconds = spec.ttlSeconds ?? DEFAULT_MESSAGE_TTL_SECONDS;
    if (!(Number.isInteger(ttlSeconds) && ttlSeconds >= 1 && ttlSeconds <= MAX_MESSAGE_TTL_SECONDS))
      throw invalid(
        `workflow ${workflow}: ${at}.ttlSeconds must be a whole number from 1 to ${MAX_MESSAGE_TTL_SECONDS}, got ${ttlSeconds}`,
      );
    const late = spec.late ?? 'ignore';
    if (typeof late === 'object') accepted(late.deliver, `${at}.late delivers`);
    else if (late !== 'ignore' && late !== 'quarantine')
      throw invalid(
        `workflow ${workflow}: ${at}.late must be "ignore", "quarantine" or { deliver: event }, got ${JSON.stringify(late)}`,
      );
    messages[name] = {
      name,
      workflow,
      event,
      starts: false,
      correlateBy: spec.correlateBy,
      ttlSeconds,
      late,
    };
  }
  return messages;
}

/**
 * The correlation keys `definition` declares for an instance whose context is `context`, as
 * text (a number as its decimal form); a key whose value is undefined, null or empty is left out.
 */
export function correlationKeysOf(
  definition: WorkflowDefinition,
  context: unknown,
): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const [name, read] of Object.entries(definition.correlationKeys)) {
    const value = read(context as never);
    if (value === undefined || value === null || value === '') continue;
    keys[name] = String(value);
  }
  return keys;
}

function checkedRetryPolicy(
  workflow: string,
  type: string,
  given: Partial<CommandRetryPolicy>,
): CommandRetryPolicy {
  const policy = { ...DEFAULT_COMMAND_RETRY, ...given };
  const bad = (rule: string) => invalid(`workflow ${workflow}: retries.${type}: ${rule}`);
  if (!(Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1))
    throw bad(`maxAttempts must be a whole number of at least 1, got ${policy.maxAttempts}`);
  if (!(Number.isFinite(policy.initialDelayMs) && policy.initialDelayMs >= 0))
    throw bad(`initialDelayMs must be 0 or more, got ${policy.initialDelayMs}`);
  if (!(Number.isFinite(policy.maxDelayMs) && policy.maxDelayMs >= policy.initialDelayMs))
    throw bad(`maxDelayMs must be at least initialDelayMs, got ${policy.maxDelayMs}`);
  if (policy.jitter !== 'full' && policy.jitter !== 'equal')
    throw bad(`jitter must be "full" or "equal", got ${JSON.stringify(policy.jitter)}`);
  return policy;
}

/** The stream of one instance: `<workflow>-<instanceId>`. */
export function streamNameOf(workflow: string, instanceId: string): string {
  return `${workflow}-${instanceId}`;
}
