import type { AnyStateMachine, EmittedFrom, EventFromLogic, InputFrom } from 'xstate';
import { ErrorCode, EsflowError } from '../errors/esflow-error';

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
  /** Avro namespace of this workflow's records; `esflow.<name>` unless given. */
  readonly schemaNamespace: string;
  /** Derives the instance id from the start payload when the client gives none (business key). */
  readonly instanceIdFrom?: (input: InputFrom<TMachine>) => string | undefined;
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
  const commands: readonly string[] = spec.commands ?? [];
  for (const type of [startEvent, ...inputEvents, ...commands]) {
    if (!TYPE_NAME.test(type))
      throw invalid(
        `workflow ${spec.name}: type "${type}" must be PascalCase (e.g. PaymentReceived)`,
      );
  }
  if (inputEvents.includes(startEvent))
    throw invalid(
      `workflow ${spec.name}: start event ${startEvent} must not also be a transition event`,
    );
  return {
    name: spec.name,
    version: spec.version,
    machine: spec.machine,
    startEvent,
    inputEvents,
    commands,
    schemaNamespace: spec.schemaNamespace ?? `esflow.${spec.name}`,
    ...(spec.instanceIdFrom ? { instanceIdFrom: spec.instanceIdFrom } : {}),
  };
}

/** The stream of one instance: `<workflow>-<instanceId>`. */
export function streamNameOf(workflow: string, instanceId: string): string {
  return `${workflow}-${instanceId}`;
}
