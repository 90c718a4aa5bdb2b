import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/esflow-error';
import { Result } from '../errors/rejection';
import { readEsflowMetadata } from '../workflow/event-metadata';
import { anOrder, createTestEngine } from '../../../../test/support/engine-fixture';

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}
function rejectionOf<T>(result: Result<T>) {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.value)}`);
  return result.rejection;
}

describe('workflow engine', () => {
  describe('starting', () => {
    it('records the start event under the business key and reports the initial state', async () => {
      const { engine, store } = await createTestEngine();
      const order = anOrder('order-1');
      const started = valueOf(
        await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: order }),
      );
      expect(started.replayed).toBe(false);
      expect(started.instance).toMatchObject({
        workflow: 'orderFulfillment',
        id: 'order-1',
        version: 1,
        state: 'awaitingPayment',
        status: 'running',
        revision: 1,
        acceptedEvents: ['PaymentReceived', 'PaymentFailed', 'OrderCancelled'],
        pendingTimers: [
          {
            timerId: expect.any(String),
            eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
            dueAt: expect.any(String),
          },
        ],
      });
      expect(
        (started.instance.context as { paymentWindowSeconds: number }).paymentWindowSeconds,
      ).toBe(1800);
      const events = await store.readStream('orderFulfillment-order-1');
      // One append: the start event, then the payment window's timer.
      expect(events.map((e) => [e.revision, e.type])).toEqual([
        [0, 'OrderPlaced'],
        [1, 'TimerScheduled'],
      ]);
      const [recorded, scheduled] = events;
      expect(recorded!.type).toBe('OrderPlaced');
      expect(readEsflowMetadata(scheduled!.metadata)).toMatchObject({
        category: 'framework',
        causationId: recorded!.eventId,
      });
      const metadata = readEsflowMetadata(recorded!.metadata);
      expect(metadata).toMatchObject({
        category: 'workflow',
        definitionVersion: 1,
        stateBefore: null,
        stateAfter: 'awaitingPayment',
        schema: { subject: 'esflow.orderFulfillment.OrderPlaced', version: 1 },
      });
      expect(recorded!.data[0]).toBe(0); // Confluent magic byte
    });

    it('never creates a second instance with the same id', async () => {
      const { engine, store } = await createTestEngine();
      await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder('dup') });
      const again = rejectionOf(
        await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder('dup') }),
      );
      expect(again.code).toBe(ErrorCode.InstanceAlreadyExists);
      expect((await store.readStream('orderFulfillment-dup')).map((e) => e.type)).toEqual([
        'OrderPlaced',
        'TimerScheduled',
      ]);
    });

    it('answers a repeated start with the same idempotency key with the first result', async () => {
      const { engine, store } = await createTestEngine();
      const command = {
        workflow: 'orderFulfillment',
        input: anOrder('idem'),
        idempotencyKey: 'k-1',
      };
      const first = valueOf(await engine.startWorkflow.handle(command));
      await engine.sendEvent.handle({
        workflow: 'orderFulfillment',
        id: 'idem',
        type: 'PaymentReceived',
        payload: { paymentId: 'p', amountCents: 4999 },
      });
      const repeat = valueOf(await engine.startWorkflow.handle(command));
      expect(repeat).toEqual({ instance: first.instance, replayed: true });
      expect((await store.readStream('orderFulfillment-idem')).map((e) => e.type)).toEqual([
        'OrderPlaced',
        'TimerScheduled',
        'PaymentReceived',
        'TimerCancelled',
      ]);
    });

    it('rejects invalid input naming each broken field, and writes nothing', async () => {
      const { engine, store } = await createTestEngine();
      const input = {
        ...anOrder('bad'),
        amountCents: '12',
        items: [{ sku: 'a', quantity: 1.5 }],
        colour: 'red',
      };
      const rejection = rejectionOf(
        await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input }),
      );
      expect(rejection.code).toBe(ErrorCode.SchemaValidationFailed);
      if (rejection.code !== ErrorCode.SchemaValidationFailed) return;
      expect(rejection.errors.map((e) => e.path)).toEqual([
        'input.amountCents',
        'input.items.0.quantity',
        'input.colour',
      ]);
      expect(rejection.errors[0]!.message).toContain('integer');
      expect(
        await store.readAll({ filter: { streamNamePrefixes: ['orderFulfillment-'] } }),
      ).toHaveLength(0);
    });

    it('rejects an unknown workflow and an id it cannot use', async () => {
      const { engine } = await createTestEngine();
      expect(
        rejectionOf(await engine.startWorkflow.handle({ workflow: 'nope', input: {} })).code,
      ).toBe(ErrorCode.WorkflowNotFound);
      const badId = rejectionOf(
        await engine.startWorkflow.handle({
          workflow: 'orderFulfillment',
          input: anOrder('has space'),
        }),
      );
      expect(badId).toMatchObject({ code: ErrorCode.InvalidId, path: 'id (derived from input)' });
    });
  });

  describe('sending events', () => {
    const started = async () => {
      const fixture = await createTestEngine();
      const order = anOrder();
      await fixture.engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: order });
      const send = (type: string, payload: unknown, extra: Record<string, unknown> = {}) =>
        fixture.engine.sendEvent.handle({
          workflow: 'orderFulfillment',
          id: order.orderId,
          type,
          payload,
          ...extra,
        });
      return { ...fixture, id: order.orderId, stream: `orderFulfillment-${order.orderId}`, send };
    };

    it('moves through the happy path to completed, recording WorkflowCompleted', async () => {
      const { send, store, stream } = await started();
      valueOf(await send('PaymentReceived', { paymentId: 'pay-1', amountCents: 4999 }));
      valueOf(await send('GoodsFetched', { warehouseId: 'w-1' }));
      const done = valueOf(await send('ShipmentDispatched', { trackingId: 't-1' }));
      expect(done.instance).toMatchObject({
        state: 'completed',
        status: 'completed',
        revision: 6,
        acceptedEvents: [],
        pendingTimers: [],
      });
      expect((done.instance.context as { trackingId: string }).trackingId).toBe('t-1');
      const types = (await store.readStream(stream)).map((e) => e.type);
      expect(types).toEqual([
        'OrderPlaced',
        'TimerScheduled',
        'PaymentReceived',
        'TimerCancelled',
        'GoodsFetched',
        'ShipmentDispatched',
        'WorkflowCompleted',
      ]);
    });

    it('records the refund command in the same append, with a deterministic command id', async () => {
      const { send, store, stream, codec } = await started();
      await send('PaymentReceived', { paymentId: 'pay-9', amountCents: 4999 });
      const refunding = valueOf(await send('GoodsUnavailable', { sku: 'SKU-1' }));
      expect(refunding.instance).toMatchObject({ state: 'refunding', revision: 5 });
      const events = await store.readStream(stream);
      expect(events[4]!.type).toBe('GoodsUnavailable');
      const dispatched = events[5]!;
      expect(dispatched.type).toBe('CommandDispatched');
      expect(readEsflowMetadata(dispatched.metadata)).toMatchObject({
        category: 'framework',
        causationId: events[4]!.eventId,
      });
      const payload = await codec.decode('esflow.framework.CommandDispatched', dispatched.data);
      expect(payload['commandType']).toBe('RefundPayment');
      expect(JSON.parse(payload['payloadJson'] as string)).toMatchObject({
        paymentId: 'pay-9',
        amountCents: 4999,
        currency: 'EUR',
      });
      const cancelled = valueOf(await send('PaymentRefunded', { refundId: 'r-1' }));
      expect(cancelled.instance).toMatchObject({ state: 'cancelled', status: 'cancelled' });
    });

    it('rejects what the current state does not accept, and unknown types, without writing', async () => {
      const { send, store, stream } = await started();
      const notAccepted = rejectionOf(await send('GoodsFetched', { warehouseId: 'w' }));
      expect(notAccepted).toMatchObject({
        code: ErrorCode.EventNotAccepted,
        state: 'awaitingPayment',
        acceptedEvents: ['PaymentReceived', 'PaymentFailed', 'OrderCancelled'],
      });
      expect(rejectionOf(await send('Teleported', {}))).toMatchObject({
        code: ErrorCode.UnknownEventType,
      });
      expect(rejectionOf(await send('OrderPlaced', {}))).toMatchObject({
        code: ErrorCode.UnknownEventType,
      });
      expect(rejectionOf(await send('PaymentReceived', { paymentId: 1 }))).toMatchObject({
        code: ErrorCode.SchemaValidationFailed,
        errors: [
          { path: 'payload.paymentId', message: expect.stringContaining('string') },
          { path: 'payload.amountCents', message: expect.stringContaining('required') },
        ],
      });
      expect((await store.readStream(stream)).map((e) => e.type)).toEqual([
        'OrderPlaced',
        'TimerScheduled',
      ]);
    });

    it('honours If-Match: a stale revision is a conflict, the current one succeeds', async () => {
      const { send } = await started();
      expect(
        rejectionOf(
          await send(
            'PaymentReceived',
            { paymentId: 'p', amountCents: 1 },
            { expectedRevision: 3 },
          ),
        ),
      ).toMatchObject({
        code: ErrorCode.RevisionConflict,
        expectedRevision: 3,
        actualRevision: 1,
      });
      expect(
        rejectionOf(
          await send(
            'PaymentReceived',
            { paymentId: 'p', amountCents: 1 },
            { expectedRevision: 0 },
          ),
        ),
      ).toMatchObject({
        code: ErrorCode.RevisionConflict,
        expectedRevision: 0,
        actualRevision: 1,
      });
      valueOf(
        await send('PaymentReceived', { paymentId: 'p', amountCents: 1 }, { expectedRevision: 1 }),
      );
    });

    it('answers a repeated request with its first result even after the state moved on', async () => {
      const { send, store, stream } = await started();
      const first = valueOf(
        await send(
          'PaymentReceived',
          { paymentId: 'p', amountCents: 1 },
          { idempotencyKey: 'pay' },
        ),
      );
      valueOf(await send('GoodsFetched', { warehouseId: 'w' }));
      const repeat = valueOf(
        await send(
          'PaymentReceived',
          { paymentId: 'p', amountCents: 1 },
          { idempotencyKey: 'pay' },
        ),
      );
      expect(repeat).toEqual({ instance: first.instance, replayed: true });
      expect((await store.readStream(stream)).map((e) => e.type)).toEqual([
        'OrderPlaced',
        'TimerScheduled',
        'PaymentReceived',
        'TimerCancelled',
        'GoodsFetched',
      ]);
    });

    it('rebuilds the same instance from its stream in a cold engine', async () => {
      const { send, store, id, engine } = await started();
      await send('PaymentReceived', { paymentId: 'p', amountCents: 1 });
      await send('GoodsUnavailable', { sku: 'SKU-1' });
      const hot = valueOf(await engine.queries.get('orderFulfillment', id));
      const { engine: cold } = await createTestEngine({ store });
      expect(valueOf(await cold.queries.get('orderFulfillment', id))).toEqual(hot);
    });

    it('reloads and retries when another writer appended first', async () => {
      const { send, store, id, engine } = await started();
      const { engine: other } = await createTestEngine({ store });
      await engine.queries.get('orderFulfillment', id); // warm this engine's cache
      valueOf(
        await other.sendEvent.handle({
          workflow: 'orderFulfillment',
          id,
          type: 'PaymentReceived',
          payload: { paymentId: 'p', amountCents: 1 },
        }),
      );
      const result = valueOf(await send('GoodsFetched', { warehouseId: 'w' }));
      expect(result.instance).toMatchObject({ state: 'shipping', revision: 4 });
    });

    it('serialises 50 racing events on one instance into contiguous, machine-valid revisions', async () => {
      const { send, store, stream } = await started();
      const attempts = Array.from({ length: 50 }, (_, i) =>
        i % 3 === 0
          ? send('PaymentReceived', { paymentId: `p${i}`, amountCents: 1 })
          : i % 3 === 1
            ? send('GoodsFetched', { warehouseId: `w${i}` })
            : send('ShipmentDispatched', { trackingId: `t${i}` }),
      );
      const results = await Promise.all(attempts);
      const accepted = results.filter((r) => r.ok);
      const rejected = results.filter((r) => !r.ok).map((r) => rejectionOf(r).code);
      expect(accepted).toHaveLength(3);
      expect(new Set(rejected)).toEqual(new Set([ErrorCode.EventNotAccepted]));
      const events = await store.readStream(stream);
      expect(events.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(events.map((e) => e.type)).toEqual([
        'OrderPlaced',
        'TimerScheduled',
        'PaymentReceived',
        'TimerCancelled',
        'GoodsFetched',
        'ShipmentDispatched',
        'WorkflowCompleted',
      ]);
    });
  });

  describe('idempotency keys: one key, one request', () => {
    const keyed = async () => {
      const fixture = await createTestEngine();
      const order = anOrder();
      const start = (input: unknown, key: string) =>
        fixture.engine.startWorkflow.handle({
          workflow: 'orderFulfillment',
          input,
          idempotencyKey: key,
        });
      const send = (type: string, payload: unknown, key: string) =>
        fixture.engine.sendEvent.handle({
          workflow: 'orderFulfillment',
          id: order.orderId,
          type,
          payload,
          idempotencyKey: key,
        });
      const length = async () =>
        (await fixture.store.readStream(`orderFulfillment-${order.orderId}`)).length;
      return { ...fixture, order, start, send, length };
    };

    it("refuses a start's key reused for an event on the instance, writing nothing", async () => {
      const { order, start, send, length } = await keyed();
      valueOf(await start(order, 'order-9'));
      const reused = rejectionOf(
        await send('PaymentReceived', { paymentId: 'p', amountCents: 1 }, 'order-9'),
      );
      expect(reused).toMatchObject({
        code: ErrorCode.IdempotencyKeyReused,
        idempotencyKey: 'order-9',
      });
      expect(await length()).toBe(2); // OrderPlaced, TimerScheduled
    });

    it("refuses an event's key reused with another body or event type, and replays a repeat", async () => {
      const { order, start, send, length } = await keyed();
      valueOf(await start(order, 'start-key'));
      const first = valueOf(
        await send('PaymentReceived', { paymentId: 'p', amountCents: 1 }, 'pay'),
      );
      expect(
        rejectionOf(await send('PaymentReceived', { paymentId: 'p', amountCents: 2 }, 'pay')).code,
      ).toBe(ErrorCode.IdempotencyKeyReused);
      expect(rejectionOf(await send('PaymentFailed', { reason: 'x' }, 'pay')).code).toBe(
        ErrorCode.IdempotencyKeyReused,
      );
      // The same request again, with its fields in another order: a repeat, answered as first.
      const repeat = valueOf(
        await send('PaymentReceived', { amountCents: 1, paymentId: 'p' }, 'pay'),
      );
      expect(repeat).toEqual({ instance: first.instance, replayed: true });
      expect(await length()).toBe(4); // OrderPlaced, TimerScheduled, PaymentReceived, TimerCancelled
    });

    it("refuses a start's key reused with another input for the same instance", async () => {
      const { order, start, length } = await keyed();
      valueOf(await start(order, 'k'));
      expect(rejectionOf(await start({ ...order, amountCents: 1 }, 'k')).code).toBe(
        ErrorCode.IdempotencyKeyReused,
      );
      expect(valueOf(await start(order, 'k')).replayed).toBe(true);
      expect(await length()).toBe(2); // OrderPlaced, TimerScheduled
    });
  });

  describe('size limits', () => {
    it('refuses an event larger than the limit, and an instance that would outgrow its own, writing nothing', async () => {
      const { engine, store } = await createTestEngine({
        limits: { maxEventBytes: 2_000, maxInstanceBytes: 3_000 },
      });
      const order = anOrder();
      const big = rejectionOf(
        await engine.startWorkflow.handle({
          workflow: 'orderFulfillment',
          input: { ...order, customerId: 'c'.repeat(5_000) },
        }),
      );
      expect(big).toMatchObject({
        code: ErrorCode.PayloadTooLarge,
        eventType: 'OrderPlaced',
        limitBytes: 2_000,
      });
      expect(await store.readStream(`orderFulfillment-${order.orderId}`)).toEqual([]);
      valueOf(
        await engine.startWorkflow.handle({
          workflow: 'orderFulfillment',
          input: { ...order, customerId: 'c'.repeat(1_500) },
        }),
      );
      const grown = rejectionOf(
        await engine.sendEvent.handle({
          workflow: 'orderFulfillment',
          id: order.orderId,
          type: 'PaymentFailed',
          payload: { reason: 'r'.repeat(1_900) },
        }),
      );
      expect(grown).toMatchObject({ code: ErrorCode.InstanceTooLarge, limitBytes: 3_000 });
      expect(
        (await store.readStream(`orderFulfillment-${order.orderId}`)).map((e) => e.type),
      ).toEqual(['OrderPlaced', 'TimerScheduled']);
    });
  });

  describe('commands', () => {
    it('refuses to record a command that does not match its schema, and writes nothing', async () => {
      const { assign, emit, setup } = await import('xstate');
      const { defineWorkflow } = await import('../workflow/workflow-definition');
      const machine = setup({}).createMachine({
        id: 'orderFulfillment',
        initial: 'awaitingPayment',
        context: {},
        states: {
          awaitingPayment: {
            on: {
              PaymentReceived: {
                target: 'done',
                actions: [assign({}), emit({ type: 'RefundPayment', orderId: 42 } as never)],
              },
            },
          },
          done: { type: 'final' },
        },
      });
      const broken = defineWorkflow({
        name: 'orderFulfillment',
        version: 1,
        machine,
        startEvent: 'OrderPlaced',
        commands: ['RefundPayment'],
      });
      const { engine, store } = await createTestEngine({ definitions: [broken] });
      await engine.startWorkflow.handle({
        workflow: 'orderFulfillment',
        id: 'cmd-1',
        input: anOrder('cmd-1'),
      });
      const attempt = engine.sendEvent.handle({
        workflow: 'orderFulfillment',
        id: 'cmd-1',
        type: 'PaymentReceived',
        payload: { paymentId: 'p', amountCents: 1 },
      });
      await expect(attempt).rejects.toMatchObject({
        code: ErrorCode.InvalidDefinition,
        message: expect.stringContaining(
          'emitted RefundPayment that does not match its schema: orderId must be a string',
        ),
      });
      expect(await store.readStream('orderFulfillment-cmd-1')).toHaveLength(1);
    });
  });

  describe('queries', () => {
    it('returns history decoded, and 404-style rejections for unknown instances', async () => {
      const { engine } = await createTestEngine();
      await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder('h-1') });
      const history = valueOf(await engine.queries.history('orderFulfillment', 'h-1'));
      expect(history).toHaveLength(2);
      expect(history[0]).toMatchObject({
        revision: 0,
        type: 'OrderPlaced',
        data: { ...anOrder('h-1'), paymentWindowSeconds: null },
      });
      expect(history[1]).toMatchObject({
        revision: 1,
        type: 'TimerScheduled',
        data: {
          eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
          delayMs: 1_800_000,
        },
      });
      expect(rejectionOf(await engine.queries.get('orderFulfillment', 'missing')).code).toBe(
        ErrorCode.InstanceNotFound,
      );
      expect(rejectionOf(await engine.queries.history('orderFulfillment', 'missing')).code).toBe(
        ErrorCode.InstanceNotFound,
      );
    });
  });
});
