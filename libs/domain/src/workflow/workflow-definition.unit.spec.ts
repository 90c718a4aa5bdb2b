import { describe, expect, it } from 'vitest';
import { emit, setup } from 'xstate';
import { defineWorkflow } from './workflow-definition';

/** A typed machine: input, events and emitted commands declared with setup(). */
const machine = setup({
  types: {
    input: {} as { ticketId: string; priority: number },
    events: {} as { type: 'TicketAssigned'; agent: string } | { type: 'TicketClosed' },
    emitted: {} as { type: 'NotifyAgent'; agent: string },
  },
}).createMachine({
  initial: 'open',
  states: {
    open: {
      on: {
        TicketAssigned: {
          target: 'assigned',
          actions: emit(({ event }) => ({ type: 'NotifyAgent' as const, agent: event.agent })),
        },
      },
    },
    assigned: { on: { TicketClosed: 'closed' } },
    closed: { type: 'final' },
  },
});

describe('defineWorkflow, typed against the machine', () => {
  it('derives the events clients may send and keeps the business key typed', () => {
    const ticket = defineWorkflow({
      name: 'ticket',
      version: 1,
      machine,
      startEvent: 'TicketOpened',
      commands: ['NotifyAgent'],
      instanceIdFrom: (input) => input.ticketId,
    });
    expect([...ticket.inputEvents].sort()).toEqual(['TicketAssigned', 'TicketClosed']);
    expect(ticket.instanceIdFrom?.({ ticketId: 't-1', priority: 2 })).toBe('t-1');
  });

  it('refuses, at compile time, what the machine does not have', () => {
    // These lines must not compile (the root tsconfig type-checks them in `npm run lint`); at
    // run time the same mistakes are refused with INVALID_DEFINITION where they can be seen.
    const wrong = () => [
      defineWorkflow({
        name: 'ticket',
        version: 1,
        machine,
        startEvent: 'TicketOpened',
        // @ts-expect-error: the machine emits no command of this type
        commands: ['RefundPayment'],
      }),
      defineWorkflow({
        name: 'ticket',
        version: 1,
        machine,
        startEvent: 'TicketOpened',
        // @ts-expect-error: the input has no field orderId
        instanceIdFrom: (input) => input.orderId,
      }),
      defineWorkflow({
        name: 'ticket',
        version: 1,
        machine,
        // @ts-expect-error: a start event must not be one of the machine's transition events
        startEvent: 'TicketAssigned',
      }),
    ];
    expect(wrong).toThrow(/must not also be a transition event|PascalCase/);
  });
});
