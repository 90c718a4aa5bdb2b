import { describe, expect, it } from 'vitest';
import { AnyMachineSnapshot, initialTransition, setup, transition } from 'xstate';
import { ErrorCode, EsflowError } from '../errors/esflow-error';
import { defineWorkflow } from '../workflow/workflow-definition';
import { defineCompensations, SagaLog, SagaStep } from './compensation';

const compensations = defineCompensations({
  releaseStock: 'ReleaseStock',
  refundPayment: 'RefundPayment',
  cancelBooking: 'CancelBooking',
});
type Compensation = keyof typeof compensations.invokes;

type Done = { type: 'Done' } & SagaStep<Compensation>;
type Failed = { type: 'Failed'; reason: string };

/** A saga whose steps are reported by events; `Failed` compensates what was done. */
function aSaga(options: { withReasonInInput?: boolean } = {}) {
  const machine = setup({
    types: {
      context: {} as { saga: SagaLog<Compensation> },
      events: {} as Done | Failed,
    },
  }).createMachine({
    id: 'trip',
    initial: 'going',
    context: { saga: compensations.log() },
    states: {
      going: {
        on: {
          Done: {
            actions: compensations.recordStep(({ event }) => ({
              step: event.step,
              compensation: event.compensation,
              input: event.input,
            })),
          },
          Failed: {
            target: 'compensating',
            actions: compensations.recordFailure(({ event }) => event.reason),
          },
        },
      },
      compensating: compensations.state({
        onDone: 'rolledBack',
        ...(options.withReasonInInput
          ? { input: ({ context, step }) => ({ ...step.input, reason: context.saga.reason }) }
          : {}),
      }),
      rolledBack: { type: 'final' },
    },
  });
  // As esflow runs it: every compensating actor a durable command.
  return defineWorkflow({
    name: 'trip',
    version: 1,
    machine,
    startEvent: 'TripBooked',
    invokes: compensations.invokes,
  }).machine;
}

type Action = { type: string; params?: unknown };

/** The actors an action list starts (XState's `spawnChild`), as esflow records them. */
const started = (actions: readonly Action[]) =>
  actions
    .filter((action) => action.type === 'xstate.spawnChild')
    .map((action) => {
      const { id, src, input } = action.params as { id: string; src: string; input: unknown };
      return { id, src, input };
    });
const stopped = (actions: readonly Action[]) =>
  actions
    .filter((action) => action.type === 'xstate.stopChild')
    .map((action) => (action.params as { id: string }).id);

function run(
  machine: ReturnType<typeof aSaga>,
  ...events: { type: string; [field: string]: unknown }[]
) {
  let [snapshot, actions] = initialTransition(machine) as [AnyMachineSnapshot, Action[]];
  for (const event of events)
    [snapshot, actions] = transition(machine, snapshot, event as never) as [
      AnyMachineSnapshot,
      Action[],
    ];
  return { snapshot, actions };
}

const done = (step: string, compensation: Compensation, input: Record<string, unknown>) => ({
  type: 'Done',
  step,
  compensation,
  input,
});
const doneActor = (id: string) => ({ type: `xstate.done.actor.${id}` });
const booked = [
  done('stock', 'releaseStock', { sku: 'S-1' }),
  done('payment', 'refundPayment', { paymentId: 'p-1' }),
  done('booking', 'cancelBooking', { bookingId: 'b-1' }),
];

describe('defineCompensations', () => {
  it('declares each compensating actor as an invoked command without output', () => {
    expect(compensations.invokes).toEqual({
      releaseStock: { command: 'ReleaseStock' },
      refundPayment: { command: 'RefundPayment' },
      cancelBooking: { command: 'CancelBooking' },
    });
  });

  it('compensates the steps done in reverse order, one at a time, then goes on', () => {
    const machine = aSaga();
    const failed = run(machine, ...booked, { type: 'Failed', reason: 'no seats' });
    expect(failed.snapshot.value).toEqual({ compensating: 'cancelBooking' });
    expect(started(failed.actions)).toEqual([
      { id: 'cancelBooking', src: 'cancelBooking', input: { bookingId: 'b-1' } },
    ]);

    const second = run(
      machine,
      ...booked,
      { type: 'Failed', reason: 'no seats' },
      doneActor('cancelBooking'),
    );
    expect(second.snapshot.value).toEqual({ compensating: 'refundPayment' });
    expect(stopped(second.actions)).toEqual(['cancelBooking']);
    expect(started(second.actions)).toEqual([
      { id: 'refundPayment', src: 'refundPayment', input: { paymentId: 'p-1' } },
    ]);

    const third = run(
      machine,
      ...booked,
      { type: 'Failed', reason: 'no seats' },
      doneActor('cancelBooking'),
      doneActor('refundPayment'),
    );
    expect(third.snapshot.value).toEqual({ compensating: 'releaseStock' });
    expect(started(third.actions)).toEqual([
      { id: 'releaseStock', src: 'releaseStock', input: { sku: 'S-1' } },
    ]);

    const all = run(
      machine,
      ...booked,
      { type: 'Failed', reason: 'no seats' },
      doneActor('cancelBooking'),
      doneActor('refundPayment'),
      doneActor('releaseStock'),
    );
    expect(all.snapshot.value).toBe('rolledBack');
    expect(all.snapshot.status).toBe('done');
    expect(started(all.actions)).toEqual([]);
    expect(all.snapshot.context.saga).toEqual({
      done: [],
      compensated: [booked[2]!, booked[1]!, booked[0]!].map(({ type: _type, ...step }) => step),
      reason: 'no seats',
    });
  });

  it('waits for the compensation in progress: a failure of it is not taken, nothing is skipped', () => {
    const machine = aSaga();
    const { snapshot } = run(machine, ...booked, { type: 'Failed', reason: 'no seats' });
    // No onError: esflow raises an incident for a compensation that fails for good, and the saga
    // waits for an operator's retry.
    expect(snapshot.can({ type: 'xstate.error.actor.cancelBooking', error: {} } as never)).toBe(
      false,
    );
    // Nor does the completion of another compensation move it on.
    expect(snapshot.can(doneActor('refundPayment') as never)).toBe(false);
    expect(snapshot.can(doneActor('cancelBooking') as never)).toBe(true);
  });

  it('compensates each step, also two with the same compensation, last first', () => {
    const machine = aSaga();
    const twice = [
      done('first payment', 'refundPayment', { paymentId: 'p-1' }),
      done('second payment', 'refundPayment', { paymentId: 'p-2' }),
    ];
    const first = run(machine, ...twice, { type: 'Failed', reason: 'x' });
    expect(started(first.actions).map((a) => a.input)).toEqual([{ paymentId: 'p-2' }]);
    const second = run(
      machine,
      ...twice,
      { type: 'Failed', reason: 'x' },
      doneActor('refundPayment'),
    );
    expect(second.snapshot.value).toEqual({ compensating: 'refundPayment' });
    expect(stopped(second.actions)).toEqual(['refundPayment']);
    expect(started(second.actions).map((a) => a.input)).toEqual([{ paymentId: 'p-1' }]);
    const end = run(
      machine,
      ...twice,
      { type: 'Failed', reason: 'x' },
      doneActor('refundPayment'),
      doneActor('refundPayment'),
    );
    expect(end.snapshot.value).toBe('rolledBack');
  });

  it('goes straight on when nothing was done', () => {
    const { snapshot, actions } = run(aSaga(), { type: 'Failed', reason: 'at once' });
    expect(snapshot.value).toBe('rolledBack');
    expect(started(actions)).toEqual([]);
    expect(snapshot.context.saga).toEqual({ done: [], compensated: [], reason: 'at once' });
  });

  it("builds each compensation's input at the time it is invoked, when given a function", () => {
    const { actions } = run(aSaga({ withReasonInInput: true }), ...booked, {
      type: 'Failed',
      reason: 'no seats',
    });
    expect(started(actions)).toEqual([
      {
        id: 'cancelBooking',
        src: 'cancelBooking',
        input: { bookingId: 'b-1', reason: 'no seats' },
      },
    ]);
  });

  it('keeps the first reason recorded', () => {
    const machine = setup({
      types: { context: {} as { saga: SagaLog<Compensation> }, events: {} as Failed },
    }).createMachine({
      context: { saga: compensations.log() },
      on: { Failed: { actions: compensations.recordFailure(({ event }) => event.reason) } },
    });
    const { snapshot } = run(
      machine as unknown as ReturnType<typeof aSaga>,
      { type: 'Failed', reason: 'first' } as never,
      { type: 'Failed', reason: 'second' } as never,
    );
    expect(snapshot.context.saga.reason).toBe('first');
  });

  it('starts with the steps given to log(), plain JSON that replay rebuilds', () => {
    const step: SagaStep<Compensation> = {
      step: 'stock',
      compensation: 'releaseStock',
      input: { sku: 'S-9' },
    };
    const log = compensations.log(step);
    expect(log).toEqual({ done: [step], compensated: [], reason: null });
    expect(JSON.parse(JSON.stringify(log))).toEqual(log);
  });

  it('refuses to record a step whose compensation it does not know', () => {
    expect(() =>
      run(aSaga(), done('mystery', 'teleportBack' as Compensation, { where: 'home' })),
    ).toThrow(
      /compensation "teleportBack" is not one of releaseStock, refundPayment, cancelBooking/,
    );
  });

  it.each([
    [{}, /declare at least one/],
    [{ CloseAccount: 'CloseAccount' }, /actor name "CloseAccount" must be camelCase/],
    [{ 'close-account': 'CloseAccount' }, /actor name "close-account" must be camelCase/],
    [{ closeAccount: 'closeAccount' }, /command type "closeAccount" must be PascalCase/],
    [{ next: 'Next' }, /actor name "next" is taken/],
    [{ finished: 'Finished' }, /actor name "finished" is taken/],
  ])('refuses the declaration %j with INVALID_DEFINITION', (commands, message) => {
    let thrown: unknown;
    try {
      defineCompensations(commands);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EsflowError);
    expect((thrown as EsflowError).code).toBe(ErrorCode.InvalidDefinition);
    expect((thrown as EsflowError).message).toMatch(message);
  });
});
