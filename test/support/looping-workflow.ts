import { assign, raise, setup } from 'xstate';
import { defineWorkflow } from '@esflow/core';

// The `looping` test workflow (schemas in schemas/looping: LOOPING_SCHEMAS of engine-fixture):
// each Retry re-enters `waiting`, whose timer is cancelled and a new one scheduled, so a stream
// grows three events per request and the context counts the visits. Once `waiting`'s timer
// fires, the instance is `expired` until a Ping ends it.

/** How the `looping` workflow is built; by default as the snapshot specs use it. */
export interface LoopingOptions {
  /** The delay after which `waiting` expires (default 60 s). */
  readonly waitMs?: number;
  /** Set: `expired` raises Ping to itself after this delay (a delayed raise is a timer). */
  readonly pingAfterMs?: number;
  /** Adds a final state `archived`: the same workflow with another structure. */
  readonly extraState?: boolean;
}

/** The `looping` workflow, version 1, started by LoopStarted. */
export function loopingWorkflow(options: LoopingOptions = {}) {
  const { waitMs = 60_000, pingAfterMs, extraState = false } = options;
  const machine = setup({
    types: { events: {} as { type: 'Retry' } | { type: 'Ping' } },
    delays: { wait: waitMs },
  }).createMachine({
    id: 'looping',
    initial: 'waiting',
    context: { visits: 0 },
    states: {
      waiting: {
        entry: assign({ visits: ({ context }) => context.visits + 1 }),
        after: { wait: 'expired' },
        on: { Retry: { target: 'waiting', reenter: true } },
      },
      expired: {
        ...(pingAfterMs === undefined
          ? {}
          : { entry: raise({ type: 'Ping' }, { delay: pingAfterMs, id: 'ping' }) }),
        on: { Ping: 'done' },
      },
      done: { type: 'final' },
      ...(extraState ? { archived: { type: 'final' as const } } : {}),
    },
  });
  return defineWorkflow({
    name: 'looping',
    version: 1,
    machine,
    startEvent: 'LoopStarted',
  });
}
