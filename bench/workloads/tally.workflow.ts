import { join, resolve } from 'node:path';
import { assign, setup } from 'xstate';
import { defineFeature, defineWorkflow } from '@esflow/core';

// The bench's own workflow, as a user would write one: an instance that accepts the same event
// for ever, so a stream can be made as long as a scenario needs (10, 1 000, 10 000 events).

const tallyMachine = setup({
  types: {
    input: {} as { tallyId: string },
    events: {} as { type: 'Counted'; amount: number },
  },
}).createMachine({
  id: 'tally',
  initial: 'open',
  context: ({ input }) => ({ tallyId: input.tallyId, total: 0, counts: 0 }),
  states: {
    open: {
      on: {
        Counted: {
          actions: assign({
            total: ({ context, event }) => context.total + event.amount,
            counts: ({ context }) => context.counts + 1,
          }),
        },
      },
    },
  },
});

/** The tally workflow: `TallyOpened { tallyId }` starts it, each `Counted { amount }` adds. */
export const tallyWorkflow = defineWorkflow({
  name: 'tally',
  version: 1,
  machine: tallyMachine,
  startEvent: 'TallyOpened',
  instanceIdFrom: (input) => input.tallyId,
});

const REPO = resolve(__dirname, '..', '..', '..');

/** The tally feature (workflow and schemas), for the bench's engines. */
export const tallyFeature = defineFeature({
  workflows: [tallyWorkflow],
  schemas: join(REPO, 'bench', 'workloads', 'tally-schemas'),
});
