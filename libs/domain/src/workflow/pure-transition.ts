import { createActor } from 'xstate';
import type { AnyActorScope, AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';

/** An action XState asked to run, as its pure `transition()` returns it (nothing runs). */
export interface PlannedAction {
  readonly type: string;
  readonly params?: unknown;
}

// XState's own `transition()` and `initialTransition()` build a fresh inert actor per call, and
// an actor's constructor computes the machine's initial snapshot (its context factory included):
// a cost paid on every event of every replay. The inert scope holds nothing of an instance, so
// one per machine serves every call; only its action collector changes. Calls are synchronous,
// so two never share the collector.
const scopes = new WeakMap<AnyStateMachine, AnyActorScope>();

function inertScope(machine: AnyStateMachine): AnyActorScope {
  let scope = scopes.get(machine);
  if (!scope) {
    const self = createActor(machine);
    scope = {
      self,
      defer: () => {},
      id: '',
      logger: () => {},
      sessionId: '',
      stopChild: () => {},
      system: self.system,
      emit: () => {},
      actionExecutor: () => {},
    } as unknown as AnyActorScope;
    scopes.set(machine, scope);
  }
  return scope;
}

function collecting<T>(
  machine: AnyStateMachine,
  step: (scope: AnyActorScope) => T,
): [T, PlannedAction[]] {
  const scope = inertScope(machine);
  const actions: PlannedAction[] = [];
  scope.actionExecutor = (action) => {
    actions.push(action as PlannedAction);
  };
  try {
    return [step(scope), actions];
  } finally {
    scope.actionExecutor = () => {};
  }
}

/**
 * The snapshot after `event` and the actions the machine asked for, computed without running
 * any of them: XState's `transition()`, minus the inert actor it would build per call.
 */
export function pureTransition(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: EventObject,
): [AnyMachineSnapshot, PlannedAction[]] {
  return collecting(
    machine,
    (scope) => machine.transition(snapshot, event, scope) as AnyMachineSnapshot,
  );
}

/**
 * The machine's first snapshot for `input` and the actions its entry asked for, computed without
 * running any: XState's `initialTransition()`, minus the inert actor it would build per call.
 */
export function pureInitialTransition(
  machine: AnyStateMachine,
  input: unknown,
): [AnyMachineSnapshot, PlannedAction[]] {
  return collecting(
    machine,
    (scope) => machine.getInitialSnapshot(scope, input) as AnyMachineSnapshot,
  );
}

/**
 * A machine snapshot back from XState's persisted form (`getPersistedSnapshot`), its invoked
 * children recreated but not started: what a stored instance snapshot holds.
 */
export function restoreMachineSnapshot(
  machine: AnyStateMachine,
  persisted: unknown,
): AnyMachineSnapshot {
  return machine.restoreSnapshot(
    persisted as Parameters<AnyStateMachine['restoreSnapshot']>[0],
    inertScope(machine),
  ) as AnyMachineSnapshot;
}
