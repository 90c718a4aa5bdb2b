import { createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { describeState, parseStateText, resolveStateValue, stateNodesAccept } from './state-paths';

const machine = createMachine({
  id: 'parcel',
  initial: 'packing',
  on: { Cancelled: '.cancelled' },
  states: {
    packing: { on: { 'label.*': 'shipping' } },
    shipping: {
      initial: 'awaitingCarrier',
      states: { awaitingCarrier: { after: { 1000: 'late' } }, late: {} },
      on: { Delivered: 'delivered' },
    },
    checks: {
      type: 'parallel',
      states: { customs: { initial: 'open', states: { open: {} } }, fraud: {} },
    },
    delivered: { type: 'final' },
    cancelled: { type: 'final' },
  },
});

describe('state paths', () => {
  it('describes and parses nested and parallel state values', () => {
    expect(describeState('packing')).toBe('packing');
    expect(describeState({ shipping: 'awaitingCarrier' })).toBe('shipping.awaitingCarrier');
    expect(describeState({ checks: { customs: 'open', fraud: {} } })).toBe(
      'checks.customs.open, checks.fraud',
    );
    expect(parseStateText('shipping.awaitingCarrier')).toEqual({ shipping: 'awaitingCarrier' });
    expect(parseStateText('packing')).toBe('packing');
    expect(parseStateText('{"checks":{"fraud":{}}}')).toEqual({ checks: { fraud: {} } });
  });

  it('names every state of a value the machine lacks, nested ones too', () => {
    expect(resolveStateValue(machine, { shipping: 'awaitingCarrier' }).missing).toEqual([]);
    expect(resolveStateValue(machine, { shipping: 'atDepot' }).missing).toEqual([
      'shipping.atDepot',
    ]);
    expect(resolveStateValue(machine, 'weighing').missing).toEqual(['weighing']);
    expect(resolveStateValue(machine, 'toString').missing).toEqual(['toString']);
    expect(
      resolveStateValue(machine, { checks: { customs: 'closed', fraud: {}, kyc: {} } }).missing,
    ).toEqual(['checks.customs.closed', 'checks.kyc']);
  });

  it('accepts an event a state, or an ancestor, has a transition for, wildcards included', () => {
    const at = (value: unknown) => resolveStateValue(machine, value).nodes;
    const waiting = at({ shipping: 'awaitingCarrier' });
    expect(stateNodesAccept(waiting, 'Delivered')).toBe(true);
    expect(stateNodesAccept(waiting, 'Cancelled')).toBe(true);
    expect(stateNodesAccept(waiting, 'xstate.after.1000.parcel.shipping.awaitingCarrier')).toBe(
      true,
    );
    expect(
      stateNodesAccept(
        at({ shipping: 'late' }),
        'xstate.after.1000.parcel.shipping.awaitingCarrier',
      ),
    ).toBe(false);
    expect(stateNodesAccept(at('packing'), 'label.printed')).toBe(true);
    expect(stateNodesAccept(at('packing'), 'Delivered')).toBe(false);
  });
});
