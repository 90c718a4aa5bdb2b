import type { AnyMachineSnapshot, AnyStateNode } from 'xstate';

/**
 * Whether an instance could still come to accept `eventType`: some state it can still reach (its
 * active states, their ancestors, and whatever any transition from them leads to, transitively)
 * has a transition for it. Guards are not evaluated and every descendant of an entered state is
 * counted as reachable, so the answer errs towards "still could": a message for which it is false
 * is late for certain. False once the machine is done (or has failed).
 *
 * This is what tells a message that came early (buffer it) from one that came late (the instance
 * has moved past the states that wait for it).
 */
export function canStillAccept(snapshot: AnyMachineSnapshot, eventType: string): boolean {
  if (snapshot.status !== 'active') return false;
  const seen = new Set<AnyStateNode>();
  const queue: AnyStateNode[] = [];
  const visit = (node: AnyStateNode) => {
    for (let at: AnyStateNode | undefined = node; at && !seen.has(at); at = at.parent) {
      seen.add(at);
      queue.push(at);
    }
  };
  const enter = (node: AnyStateNode) => {
    visit(node);
    for (const child of Object.values(node.states)) enter(child);
  };
  for (const node of snapshot._nodes as AnyStateNode[]) visit(node);
  while (queue.length > 0) {
    const node = queue.pop()!;
    if (node.transitions.has(eventType) || node.transitions.has('*')) return true;
    const definitions = [...node.transitions.values()].flat();
    for (const transition of [...definitions, ...(node.always ?? [])])
      for (const target of transition.target ?? []) if (!seen.has(target)) enter(target);
  }
  return false;
}
