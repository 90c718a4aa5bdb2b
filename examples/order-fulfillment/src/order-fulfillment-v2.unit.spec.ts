import { beforeAll, describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { statusOf } from '@esflow/core';
import {
  commandCompleted,
  completed,
  dispatched,
  timerCancelled,
  timerFired,
  WorkflowSpecification,
} from '@esflow/testing';
import { CheckFraudHandler } from './check-fraud.handler';
import { FRAUD_CHECK_LIMIT_CENTS, StandInFraudChecker } from './fraud-checker';
import { orderFulfillmentV2, orderFulfillmentV2Machine } from './order-fulfillment-v2.workflow';
import {
  ORDER_FULFILLMENT_VERSIONS_VARIABLE,
  orderFulfillmentFeatureOf,
  OrderFulfillmentVersion,
  orderFulfillmentVersionsFrom,
} from './order-fulfillment.feature';
import { orderFulfillmentProviders } from './order-fulfillment.module';
import { orderFulfillment } from './order-fulfillment.workflow';

const placed = {
  orderId: 'o-1',
  customerId: 'c-1',
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'S', quantity: 1 }],
};
const paid = { type: 'PaymentReceived', paymentId: 'pay-7', amountCents: 4999 } as const;
const PAYMENT_WINDOW_TIMER = 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment';

/** Given the start event and these events, when folded through the pure transition function… */
function given(...events: { type: string; [field: string]: unknown }[]) {
  let [snapshot] = initialTransition(orderFulfillmentV2Machine, placed);
  for (const event of events)
    [snapshot] = transition(orderFulfillmentV2Machine, snapshot, event as never);
  return snapshot;
}

/** The commands a list of actions emits. */
const emitted = (actions: readonly { type: string; params?: unknown }[]) =>
  actions
    .filter((action) => action.type === 'xstate.emit')
    .map((action) => (action.params as { event: unknown }).event);

describe('orderFulfillment v2', () => {
  it('is v1 under the same name, with CheckFraud and its two replies added', () => {
    expect(orderFulfillmentV2).toMatchObject({
      name: 'orderFulfillment',
      version: 2,
      startEvent: 'OrderPlaced',
      commands: ['RefundPayment', 'CheckFraud'],
      schemaNamespace: 'esflow.orderFulfillment',
    });
    expect([...orderFulfillmentV2.inputEvents].sort()).toEqual(
      [...orderFulfillment.inputEvents, 'FraudCheckFailed', 'FraudCheckPassed'].sort(),
    );
    expect(orderFulfillmentV2.instanceIdFrom?.(placed)).toBe('o-1');
    expect(Object.keys(orderFulfillmentV2.messages)).toEqual(
      Object.keys(orderFulfillment.messages),
    );
    expect(Object.keys(orderFulfillmentV2.correlationKeys)).toEqual(['orderId', 'customerId']);
  });

  it('starts as v1 does, awaiting payment, with no fraud check yet', () => {
    const snapshot = given();
    expect(snapshot.value).toBe('awaitingPayment');
    expect(snapshot.context).toMatchObject({
      orderId: 'o-1',
      paymentId: null,
      fraudCheckId: null,
      paymentWindowSeconds: 1800,
    });
  });

  it('checks a paid order for fraud before fetching its goods: PaymentReceived emits CheckFraud', () => {
    const [checking, actions] = transition(orderFulfillmentV2Machine, given(), paid);
    expect(checking.value).toBe('checkingFraud');
    expect(checking.context.paymentId).toBe('pay-7');
    expect(emitted(actions)).toEqual([
      { type: 'CheckFraud', orderId: 'o-1', customerId: 'c-1', amountCents: 4999, currency: 'EUR' },
    ]);
    expect(checking.can({ type: 'GoodsFetched', warehouseId: 'w' })).toBe(false);
  });

  it('fetches the goods once the check passes, then completes as v1 does', () => {
    const passed = given(paid, { type: 'FraudCheckPassed', checkId: 'fc-1' });
    expect(passed.value).toBe('fetchingGoods');
    expect(passed.context.fraudCheckId).toBe('fc-1');
    const done = given(
      paid,
      { type: 'FraudCheckPassed', checkId: 'fc-1' },
      { type: 'GoodsFetched', warehouseId: 'w' },
      { type: 'ShipmentDispatched', trackingId: 't' },
    );
    expect(done.value).toBe('completed');
    expect(statusOf(done)).toBe('completed');
  });

  it('refunds an order that fails the check, and is cancelled once refunded', () => {
    const [refunding, actions] = transition(orderFulfillmentV2Machine, given(paid), {
      type: 'FraudCheckFailed',
      checkId: 'fc-2',
      reason: 'card reported stolen',
    });
    expect(refunding.value).toBe('refunding');
    expect(refunding.context).toMatchObject({
      fraudCheckId: 'fc-2',
      cancellationReason: 'fraud check failed: card reported stolen',
    });
    expect(emitted(actions)).toEqual([
      {
        type: 'RefundPayment',
        orderId: 'o-1',
        paymentId: 'pay-7',
        amountCents: 4999,
        currency: 'EUR',
      },
    ]);
    const [cancelled] = transition(orderFulfillmentV2Machine, refunding, {
      type: 'PaymentRefunded',
      refundId: 'r',
    });
    expect(statusOf(cancelled)).toBe('cancelled');
  });

  it('keeps v1’s other paths: unavailable goods refund, a failed payment cancels', () => {
    const unavailable = given(
      paid,
      { type: 'FraudCheckPassed', checkId: 'fc-3' },
      { type: 'GoodsUnavailable', sku: 'S' },
    );
    expect(unavailable.value).toBe('refunding');
    expect(unavailable.context.cancellationReason).toBe('goods unavailable: S');
    const failed = given({ type: 'PaymentFailed', reason: 'declined' });
    expect(failed.value).toBe('cancelled');
    expect(failed.context.cancellationReason).toBe('payment failed: declined');
  });
});

describe('orderFulfillment v2, as recorded (WorkflowSpecification)', () => {
  let spec: WorkflowSpecification;
  beforeAll(async () => {
    spec = await WorkflowSpecification.for(orderFulfillmentFeatureOf([2]));
  });

  it('schedules the same payment window as v1 at the start', async () => {
    const { instance } = await spec
      .whenStarted(placed)
      .then([
        { type: 'OrderPlaced' },
        { type: 'TimerScheduled', data: { eventType: PAYMENT_WINDOW_TIMER, delayMs: 1_800_000 } },
      ]);
    expect(instance.version).toBe(2);
    expect(instance.acceptedEvents).toEqual(['PaymentReceived', 'PaymentFailed', 'OrderCancelled']);
  });

  it('cancels an order whose payment window ran out, as v1 does', async () => {
    const { instance } = await spec
      .given({ ...placed, paymentWindowSeconds: 60 })
      .whenTimerFires('paymentWindow')
      .then([timerFired({ latenessMs: 0 }), completed('cancelled')]);
    expect(instance.context).toMatchObject({ cancellationReason: 'payment window expired' });
  });

  it('dispatches CheckFraud with the payment, in the same append as the payment window’s cancellation', async () => {
    const { instance } = await spec
      .given(placed)
      .when(paid)
      .then([
        { type: 'PaymentReceived', data: { paymentId: 'pay-7' } },
        timerCancelled({ cancelledByEventType: 'PaymentReceived' }),
        dispatched('CheckFraud', {
          orderId: 'o-1',
          customerId: 'c-1',
          amountCents: 4999,
          currency: 'EUR',
        }),
      ]);
    expect(instance.state).toBe('checkingFraud');
    expect(instance.acceptedEvents).toEqual(['FraudCheckPassed', 'FraudCheckFailed']);
    expect(instance.inFlightCommands).toEqual([
      expect.objectContaining({ commandType: 'CheckFraud' }),
    ]);
  });

  it('fetches the goods once CheckFraud’s reply FraudCheckPassed is recorded', async () => {
    const { instance } = await spec
      .given(placed, paid)
      .whenCommandCompletes('CheckFraud', { reply: { type: 'FraudCheckPassed', checkId: 'fc-1' } })
      .then([
        { type: 'FraudCheckPassed', data: { checkId: 'fc-1' } },
        commandCompleted({ commandType: 'CheckFraud', replyType: 'FraudCheckPassed' }),
      ]);
    expect(instance.state).toBe('fetchingGoods');
    expect(instance.inFlightCommands).toEqual([]);
    expect(instance.context).toMatchObject({ fraudCheckId: 'fc-1' });
  });

  it('dispatches RefundPayment on FraudCheckFailed, and is cancelled once refunded', async () => {
    const { instance } = await spec
      .given(placed, paid)
      .whenCommandCompletes('CheckFraud', {
        reply: { type: 'FraudCheckFailed', checkId: 'fc-2', reason: 'too large' },
      })
      .then([
        { type: 'FraudCheckFailed', data: { checkId: 'fc-2', reason: 'too large' } },
        commandCompleted({ commandType: 'CheckFraud', replyType: 'FraudCheckFailed' }),
        dispatched('RefundPayment', { orderId: 'o-1', paymentId: 'pay-7', amountCents: 4999 }),
      ]);
    expect(instance.state).toBe('refunding');
    expect(instance.context).toMatchObject({ cancellationReason: 'fraud check failed: too large' });

    await spec
      .given(placed, paid, { type: 'FraudCheckFailed', checkId: 'fc-2', reason: 'too large' })
      .whenCommandCompletes('RefundPayment', { reply: { type: 'PaymentRefunded', refundId: 'r' } })
      .then([
        { type: 'PaymentRefunded' },
        commandCompleted({ commandType: 'RefundPayment' }),
        completed('cancelled'),
      ]);
  });

  it('refuses a fraud verdict whose payload breaks its schema, naming the field', async () => {
    const rejection = await spec
      .given(placed, paid)
      .whenCommandCompletes('CheckFraud', { reply: { type: 'FraudCheckFailed', checkId: 'fc' } })
      .thenRejected('SCHEMA_VALIDATION_FAILED');
    expect(rejection).toMatchObject({
      errors: [expect.objectContaining({ path: 'reply.payload.reason' })],
    });
  });

  it('starts new instances on v2 when v1 is registered beside it', async () => {
    const both = await WorkflowSpecification.for(orderFulfillmentFeatureOf([1, 2]));
    const { instance } = await both
      .given(placed)
      .when(paid)
      .then([{ type: 'PaymentReceived' }, timerCancelled(), dispatched('CheckFraud')]);
    expect(instance).toMatchObject({ version: 2, state: 'checkingFraud' });
  });
});

describe('the CheckFraud handler (the stand-in fraud check)', () => {
  const command = (commandId: string, amountCents: number, attempt = 1) => ({
    commandId,
    commandType: 'CheckFraud',
    workflow: 'orderFulfillment',
    instanceId: 'o-1',
    payload: { orderId: 'o-1', customerId: 'c-1', amountCents, currency: 'EUR' },
    attempt,
    signal: new AbortController().signal,
  });

  it('passes an order below the limit, with the same check id on every attempt', async () => {
    const fraud = new StandInFraudChecker();
    const handler = new CheckFraudHandler(fraud);
    const first = await handler.handle(command('cmd-1', FRAUD_CHECK_LIMIT_CENTS - 1));
    expect(first).toEqual({
      reply: {
        type: 'FraudCheckPassed',
        payload: { checkId: expect.stringMatching(/^fraud-[0-9a-f]{12}$/) },
      },
    });
    expect(await handler.handle(command('cmd-1', FRAUD_CHECK_LIMIT_CENTS - 1, 2))).toEqual(first);
    expect(fraud.checked()).toBe(1);
  });

  it('fails an order at or above the limit, saying why', async () => {
    const handler = new CheckFraudHandler(new StandInFraudChecker());
    expect(await handler.handle(command('cmd-2', FRAUD_CHECK_LIMIT_CENTS))).toEqual({
      reply: {
        type: 'FraudCheckFailed',
        payload: {
          checkId: expect.stringMatching(/^fraud-[0-9a-f]{12}$/),
          reason: 'amount 100000 is at or above the limit of 100000',
        },
      },
    });
  });
});

describe('which versions the feature registers (ORDER_FULFILLMENT_VERSIONS)', () => {
  it.each([
    [undefined, [1]],
    ['1', [1]],
    ['2', [2]],
    ['1,2', [1, 2]],
    [' 2 , 1 ', [1, 2]],
  ])('reads %j as %j', (value, versions) => {
    expect(orderFulfillmentVersionsFrom(value)).toEqual(versions);
  });

  it.each(['', '3', '0', '1,1', '1,', 'v2', '1;2', '1.0', 'all'])(
    'refuses %j, naming the variable and the values it takes',
    (value) => {
      expect(() => orderFulfillmentVersionsFrom(value)).toThrow(
        expect.objectContaining({
          code: 'INVALID_CONFIGURATION',
          message: `${ORDER_FULFILLMENT_VERSIONS_VARIABLE} must be 1, 2 or 1,2 (the orderFulfillment versions to register, comma-separated), got ${JSON.stringify(value)}`,
        }),
      );
    },
  );

  it('registers exactly the versions asked for, oldest first, and the handlers they need', () => {
    const both = orderFulfillmentFeatureOf([2, 1]);
    expect(both.workflows).toEqual([orderFulfillment, orderFulfillmentV2]);
    expect(orderFulfillmentFeatureOf([1]).workflows).toEqual([orderFulfillment]);
    expect(orderFulfillmentProviders(both)).toContain(CheckFraudHandler);
    // v1 dispatches no CheckFraud: its handler would stop start-up.
    expect(orderFulfillmentProviders(orderFulfillmentFeatureOf([1]))).not.toContain(
      CheckFraudHandler,
    );
  });

  it('refuses no version, or one the package does not define', () => {
    expect(() => orderFulfillmentFeatureOf([])).toThrow(/declare at least one workflow/);
    expect(() => orderFulfillmentFeatureOf([3 as OrderFulfillmentVersion])).toThrow(
      'orderFulfillment has no version 3 (it defines 1, 2)',
    );
  });
});

describe('migrating a v1 order to v2 (migrations)', () => {
  const v1Context = {
    ...placed,
    paymentId: null,
    warehouseId: null,
    trackingId: null,
    cancellationReason: null,
    paymentWindowSeconds: 1800,
  };
  const { contextFrom, validateContext } = orderFulfillmentV2.migrations;

  it('gives a v1 order an unchecked fraud check, and takes the context it makes', () => {
    const migrated = contextFrom![1]!(v1Context);
    expect(migrated).toEqual({ ...v1Context, fraudCheckId: null });
    expect(validateContext!(migrated)).toEqual([]);
  });

  it('names each field of a context v2 cannot run', () => {
    expect(
      validateContext!({ ...v1Context, fraudCheckId: 42, amountCents: 'lots', orderId: '' }),
    ).toEqual([
      { path: 'fraudCheckId', message: 'must be a string or null' },
      { path: 'amountCents', message: 'must be an integer' },
      { path: 'orderId', message: 'must be a non-empty string' },
    ]);
  });
});
