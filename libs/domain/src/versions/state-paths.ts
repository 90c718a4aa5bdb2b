import type { AnyStateMachine, AnyStateNode } from 'xstate';

/**
 * The leaf paths of a state value, dotted from the machine's root: `awaitingPayment`,
 * `shipping.awaitingCarrier`; one per active region of a parallel state.
 */
export function statePaths(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  const paths: string[] = [];
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const below = statePaths(child);
    if (below.length === 0) paths.push(key);
    else for (const path of below) paths.push(`${key}.${path}`);
  }
  return paths;
}

/** A state value in words: its leaf paths, comma-separated (`awaitingPayment`, `a.b, a.c`). */
export function describeState(value: unknown): string {
  const paths = statePaths(value);
  return paths.length > 0 ? paths.join(', ') : JSON.stringify(value);
}

/**
 * A state as a migration's mapping writes it, as a state value: JSON for an object value
 * (`{"shipping":"awaitingCarrier"}`), else a dotted path (`shipping.awaitingCarrier` is
 * `{ shipping: 'awaitingCarrier' }`). Throws a plain `Error` for JSON that does not parse.
 */
export function parseStateText(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as unknown;
  const parts = trimmed.split('.');
  let value: unknown = parts.pop()!;
  while (parts.length > 0) value = { [parts.pop()!]: value };
  return value;
}

/** The state nodes a state value names in a machine, and the paths it names that the machine lacks. */
export interface ResolvedState {
  /** The deepest node named on each path (its ancestors are active too). */
  readonly nodes: readonly AnyStateNode[];
  /** Dotted paths of the states the value names that the machine does not have (each the first missing one on its path). */
  readonly missing: readonly string[];
}

const childOf = (node: AnyStateNode, key: string): AnyStateNode | undefined =>
  Object.prototype.hasOwnProperty.call(node.states, key)
    ? (node.states as Record<string, AnyStateNode>)[key]
    : undefined;

/**
 * Resolves a recorded state value against a machine's state tree, by key from the root, without
 * entering anything: which nodes it names, and which of its states (any nested one) the machine
 * does not have.
 */
export function resolveStateValue(machine: AnyStateMachine, value: unknown): ResolvedState {
  const nodes: AnyStateNode[] = [];
  const missing: string[] = [];
  const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);
  const walk = (node: AnyStateNode, at: unknown, path: string) => {
    if (typeof at === 'string') {
      const child = childOf(node, at);
      if (child) nodes.push(child);
      else missing.push(join(path, at));
      return;
    }
    if (at === null || typeof at !== 'object') {
      missing.push(path === '' ? JSON.stringify(at) : path);
      return;
    }
    for (const [key, below] of Object.entries(at as Record<string, unknown>)) {
      const child = childOf(node, key);
      if (!child) missing.push(join(path, key));
      else if (typeof below === 'object' && below !== null && Object.keys(below).length === 0)
        nodes.push(child);
      else walk(child, below, join(path, key));
    }
  };
  walk(machine.root, value, '');
  return { nodes, missing };
}

/** Whether a transition's event descriptor (`PaymentReceived`, `*`, `payment.*`) matches `type`. */
function descriptorMatches(descriptor: string, type: string): boolean {
  if (descriptor === type || descriptor === '*') return true;
  return descriptor.endsWith('.*') && type.startsWith(descriptor.slice(0, -1));
}

/**
 * Whether an instance in these state nodes can take an event of `type` at all: one of them or
 * an ancestor has a transition for it (`on`, `after`, an invoke's done or error). Guards are not
 * evaluated: this is about the definition's shape, not about one instance's context.
 */
export function stateNodesAccept(nodes: readonly AnyStateNode[], type: string): boolean {
  const seen = new Set<AnyStateNode>();
  for (const leaf of nodes)
    for (let at: AnyStateNode | undefined = leaf; at && !seen.has(at); at = at.parent) {
      seen.add(at);
      for (const descriptor of at.transitions.keys())
        if (descriptorMatches(descriptor, type)) return true;
    }
  return false;
}
