import { transition } from 'xstate';
import { EventCategory } from '../workflow/event-metadata';
import { FRAMEWORK_NAMESPACE, FrameworkEvent } from '../workflow/framework-events';
import { InstanceState, machineEvent, statusOf } from '../workflow/instance-state';
import { WorkflowDefinition } from '../workflow/workflow-definition';
import type { AnyMachineSnapshot } from 'xstate';

/** An event the engine is about to record, before encoding. */
export interface PlannedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaName: string;
  readonly category: EventCategory;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface TransitionPlan {
  readonly nextSnapshot: AnyMachineSnapshot;
  /** The accepted event first, then the facts its transition produced, in order. */
  readonly events: readonly PlannedEvent[];
}

/**
 * The Avro full name of event `type` in `definition`: `esflow.framework.<type>` for the framework's
 * own events, otherwise `<schemaNamespace>.<type>`. Pure; the engine validates and encodes each
 * event under this name.
 */
export function schemaNameOf(definition: WorkflowDefinition, type: string): string {
  return (Object.values(FrameworkEvent) as string[]).includes(type)
    ? `${FRAMEWORK_NAMESPACE}.${type}`
    : `${definition.schemaNamespace}.${type}`;
}

interface EmittedEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * Facts a transition produces: a `CommandDispatched` per command the machine emitted, and a
 * `WorkflowCompleted` when it reached a final state. Command ids are derived from the cause's
 * event id, so a receiver can deduplicate however often the command is delivered.
 */
export function planFacts(
  definition: WorkflowDefinition,
  causeEventId: string,
  before: AnyMachineSnapshot | undefined,
  after: AnyMachineSnapshot,
  actions: readonly { type: string; params?: unknown }[],
  deriveId: (name: string) => string,
): PlannedEvent[] {
  const facts: PlannedEvent[] = [];
  const framework = (type: FrameworkEvent, payload: Record<string, unknown>): PlannedEvent => ({
    eventId: deriveId(`${causeEventId}/fact/${facts.length}`),
    type,
    schemaName: schemaNameOf(definition, type),
    category: EventCategory.Framework,
    payload,
  });
  for (const action of actions) {
    if (action.type !== 'xstate.emit') continue;
    const emitted = (action.params as { event?: EmittedEvent } | undefined)?.event;
    if (!emitted || !definition.commands.includes(emitted.type)) continue;
    const { type: commandType, ...fields } = emitted;
    facts.push(
      framework(FrameworkEvent.CommandDispatched, {
        commandId: deriveId(`${causeEventId}/command/${facts.length}`),
        commandType,
        payloadJson: JSON.stringify(fields),
      }),
    );
  }
  if (after.status === 'done' && before?.status !== 'done') {
    facts.push(
      framework(FrameworkEvent.WorkflowCompleted, {
        status: statusOf(after),
        finalStateJson: JSON.stringify(after.value),
      }),
    );
  }
  return facts;
}

/** Computes, without side effects, what accepting `type` in the current state records. */
export function planTransition(
  state: InstanceState,
  eventId: string,
  type: string,
  payload: Readonly<Record<string, unknown>>,
  deriveId: (name: string) => string,
): TransitionPlan {
  const { definition } = state;
  const [nextSnapshot, actions] = transition(
    definition.machine,
    state.snapshot,
    machineEvent(type, payload),
  );
  const accepted: PlannedEvent = {
    eventId,
    type,
    schemaName: schemaNameOf(definition, type),
    category: EventCategory.Workflow,
    payload,
  };
  const facts = planFacts(definition, eventId, state.snapshot, nextSnapshot, actions, deriveId);
  return { nextSnapshot, events: [accepted, ...facts] };
}
