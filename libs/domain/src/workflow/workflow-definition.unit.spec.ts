import { describe, expect, it } from 'vitest';
import { createMachine, emit, setup } from 'xstate';
import { afterFailedAttempt, DEFAULT_COMMAND_RETRY } from '../commands/command-retry';
import { defineWorkflow, durableCommand } from './workflow-definition';

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

describe('defineWorkflow, invoked actors and retry policies', () => {
  const invoking = setup({
    actors: { checkCredit: durableCommand<{ customerId: string }, { approved: boolean }>() },
  }).createMachine({
    initial: 'checking',
    states: {
      checking: {
        invoke: {
          id: 'credit',
          src: 'checkCredit',
          input: () => ({ customerId: 'c-1' }),
          onDone: 'approved',
        },
      },
      approved: { type: 'final' },
    },
  });
  const base = { name: 'credit', version: 1, machine: invoking, startEvent: 'CreditRequested' };

  it('counts an invoked command among the commands and completes a partial retry policy', () => {
    const credit = defineWorkflow({
      ...base,
      invokes: { checkCredit: { command: 'CheckCredit', output: 'CreditVerdict' } },
      retries: { CheckCredit: { maxAttempts: 2 } },
    });
    expect(credit.commands).toEqual(['CheckCredit']);
    expect(credit.invokes).toEqual({
      checkCredit: { command: 'CheckCredit', output: 'CreditVerdict' },
    });
    expect(credit.retries['CheckCredit']).toEqual({ ...DEFAULT_COMMAND_RETRY, maxAttempts: 2 });
  });

  it('refuses an invoke of a named actor that invokes does not declare', () => {
    expect(() => defineWorkflow(base)).toThrow(
      /state \(machine\)\.checking invokes actor "checkCredit", which invokes does not declare/,
    );
  });

  it('refuses a declared invoke that no state invokes', () => {
    expect(() =>
      defineWorkflow({
        ...base,
        invokes: {
          checkCredit: { command: 'CheckCredit' },
          sendLetter: { command: 'SendLetter' },
        },
      }),
    ).toThrow(/invokes declares sendLetter, which no state of the machine invokes/);
  });

  it('refuses a retry policy for a type that is not a command, and a policy that breaks a rule', () => {
    const invokes = { checkCredit: { command: 'CheckCredit' } };
    expect(() => defineWorkflow({ ...base, invokes, retries: { Nope: {} } })).toThrow(
      /retries name Nope, which is not one of its commands \(CheckCredit\)/,
    );
    expect(() =>
      defineWorkflow({ ...base, invokes, retries: { CheckCredit: { maxAttempts: 0 } } }),
    ).toThrow(/retries.CheckCredit: maxAttempts must be a whole number of at least 1, got 0/);
    expect(() =>
      defineWorkflow({
        ...base,
        invokes,
        retries: { CheckCredit: { initialDelayMs: 500, maxDelayMs: 100 } },
      }),
    ).toThrow(/maxDelayMs must be at least initialDelayMs, got 100/);
  });

  it('provides the durable-command logic for a declared invoke whose setup has no actor', () => {
    // An untyped machine (createMachine without setup) names actors XState has no logic for.
    const bare = createMachine({
      initial: 'checking',
      states: {
        checking: {
          invoke: { id: 'credit', src: 'checkCredit', input: () => ({ customerId: 'c-2' }) },
        },
      },
    });
    const credit = defineWorkflow({
      ...base,
      machine: bare,
      invokes: { checkCredit: { command: 'CheckCredit' } },
    });
    expect(Object.keys(credit.machine.implementations.actors)).toEqual(['checkCredit']);
  });
});

describe('afterFailedAttempt', () => {
  const policy = { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 250, jitter: 'full' as const };
  const now = new Date('2026-03-01T10:00:00.000Z');
  it('waits the back-off of each retry, capped, then gives up after the last attempt', () => {
    expect(afterFailedAttempt(policy, 1, now, () => 0.5)).toEqual({
      retryAt: new Date(now.getTime() + 50),
    });
    expect(afterFailedAttempt(policy, 2, now, () => 0.999)).toEqual({
      retryAt: new Date(now.getTime() + 199),
    });
    expect(afterFailedAttempt(policy, 3, now, () => 0.5)).toEqual({ exhausted: true });
  });
  it('gives up at once on a failure that is not retryable', () => {
    expect(afterFailedAttempt(policy, 1, now, () => 0.5, false)).toEqual({ exhausted: true });
  });
});
