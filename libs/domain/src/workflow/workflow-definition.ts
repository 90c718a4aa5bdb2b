import type { AnyStateMachine } from 'xstate';
import { ErrorCode, EsflowError } from '../errors/esflow-error';

/** Workflow names are camelCase without `-`, so `<workflow>-<id>` streams group by category. */
const WORKFLOW_NAME = /^[a-z][A-Za-z0-9]*$/;
/** Event and command types are PascalCase: the XState type, stored type and Avro name agree. */
const TYPE_NAME = /^[A-Z][A-Za-z0-9]*$/;

/**
 * A workflow definition: an XState v5 machine plus what esflow needs to run it durably.
 * The machine must be deterministic: guards and `assign` see only context and event (no clock,
 * no randomness), because instances are rebuilt by replaying their events through it.
 */
export interface WorkflowDefinition {
  readonly name: string;
  /** Instances are pinned to the version they started on. */
  readonly version: number;
  readonly machine: AnyStateMachine;
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
  readonly instanceIdFrom?: (input: Readonly<Record<string, unknown>>) => string | undefined;
}

export interface WorkflowDefinitionSpec {
  readonly name: string;
  readonly version: number;
  readonly machine: AnyStateMachine;
  readonly startEvent: string;
  readonly commands?: readonly string[];
  readonly schemaNamespace?: string;
  readonly instanceIdFrom?: WorkflowDefinition['instanceIdFrom'];
}

function invalid(message: string): EsflowError {
  return new EsflowError(ErrorCode.InvalidDefinition, message);
}

/** Checks a definition's naming rules once, at start-up, and derives what can be derived. */
export function defineWorkflow(spec: WorkflowDefinitionSpec): WorkflowDefinition {
  if (!WORKFLOW_NAME.test(spec.name))
    throw invalid(`workflow name "${spec.name}" must be camelCase letters and digits, without "-"`);
  if (!Number.isInteger(spec.version) || spec.version < 1)
    throw invalid(`workflow ${spec.name}: version must be a positive integer, got ${spec.version}`);
  const inputEvents = spec.machine.events.filter((type: string) => !type.startsWith('xstate.'));
  const commands = spec.commands ?? [];
  for (const type of [spec.startEvent, ...inputEvents, ...commands]) {
    if (!TYPE_NAME.test(type))
      throw invalid(
        `workflow ${spec.name}: type "${type}" must be PascalCase (e.g. PaymentReceived)`,
      );
  }
  if (inputEvents.includes(spec.startEvent))
    throw invalid(
      `workflow ${spec.name}: start event ${spec.startEvent} must not also be a transition event`,
    );
  return {
    name: spec.name,
    version: spec.version,
    machine: spec.machine,
    startEvent: spec.startEvent,
    inputEvents,
    commands,
    schemaNamespace: spec.schemaNamespace ?? `esflow.${spec.name}`,
    ...(spec.instanceIdFrom ? { instanceIdFrom: spec.instanceIdFrom } : {}),
  };
}

export function streamNameOf(workflow: string, instanceId: string): string {
  return `${workflow}-${instanceId}`;
}
