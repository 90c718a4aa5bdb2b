import { fromPromise } from 'xstate';
import type {
  AnyStateMachine,
  AnyStateNode,
  EmittedFrom,
  EventFromLogic,
  InputFrom,
  PromiseActorLogic,
} from 'xstate';
import { ErrorCode, EsflowError } from '../errors/esflow-error';
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
}

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
