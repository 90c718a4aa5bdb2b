import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/esflow-error';
import { Result } from '../errors/rejection';
import { anOrder, createTestEngine } from '../../../../test/support/engine-fixture';
import type { WorkflowEngine } from './workflow-engine';

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

/** An order whose goods were unavailable: RefundPayment dispatched, awaiting its reply. */
async function aRefundInFlight(engine: WorkflowEngine, id: string) {
  valueOf(await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder(id) }));
  const send = async (type: string, payload: Record<string, unknown>) =>
    valueOf(await engine.sendEvent.handle({ workflow: 'orderFulfillment', id, type, payload }));
  await send('PaymentReceived', { paymentId: 'p-1', amountCents: 4999 });
  const refunding = await send('GoodsUnavailable', { sku: 'SKU-1' });
  const [command] = refunding.instance.inFlightCommands;
  expect(command).toEqual({
    commandId: expect.any(String),
    commandType: 'RefundPayment',
    incidentId: null,
  });
  return command!.commandId;
}

const refunded = { type: 'PaymentRefunded', payload: { refundId: 'r-1' } };

describe('command outcomes', () => {
  it('delivers a reply caused by the command, settles the command, and recognises a duplicate', async () => {
    const { engine, store } = await createTestEngine();
    const commandId = await aRefundInFlight(engine, 'c-1');
    const complete = { workflow: 'orderFulfillment', id: 'c-1', commandId, attempts: 1 };
    const first = valueOf(await engine.commands.complete({ ...complete, reply: refunded }));
    expect(first).toMatchObject({
      outcome: 'recorded',
      replyAccepted: true,
      instance: { state: 'cancelled', inFlightCommands: [], incidents: [] },
    });
    const events = await store.readStream('orderFulfillment-c-1');
    expect(events.slice(-3).map((e) => e.type)).toEqual([
      'PaymentRefunded',
      'CommandCompleted',
      'WorkflowCompleted',
    ]);
    expect(JSON.parse(JSON.stringify(events.at(-3)!.metadata))).toMatchObject({
      causationId: commandId,
    });
    // The same reply again, on this engine and on one that folds the stream afresh.
    expect(valueOf(await engine.commands.complete({ ...complete, reply: refunded }))).toMatchObject(
      { outcome: 'replayed' },
    );
    const { engine: fresh } = await createTestEngine({ store });
    expect(valueOf(await fresh.commands.complete({ ...complete, reply: refunded }))).toMatchObject({
      outcome: 'replayed',
    });
    expect(await store.readStream('orderFulfillment-c-1')).toHaveLength(events.length);
  });

  it('answers on the stream when another engine settled the command after this one cached it', async () => {
    const { engine, store } = await createTestEngine();
    const commandId = await aRefundInFlight(engine, 'c-5');
    const complete = { workflow: 'orderFulfillment', id: 'c-5', commandId, attempts: 1 };
    const { engine: other } = await createTestEngine({ store });
    expect(valueOf(await other.commands.complete({ ...complete, reply: refunded }))).toMatchObject({
      outcome: 'recorded',
    });
    const length = (await store.readStream('orderFulfillment-c-5')).length;
    // This engine's cached instance still has the command in flight: neither a bad reply's
    // refusal nor a second completion is given from it.
    const invalid = await engine.commands.complete({
      ...complete,
      reply: { type: 'PaymentRefunded', payload: { refundId: 7 } },
    });
    expect(valueOf(invalid)).toMatchObject({
      outcome: 'replayed',
      instance: { state: 'cancelled' },
    });
    expect(valueOf(await engine.commands.complete({ ...complete, reply: refunded }))).toMatchObject(
      { outcome: 'replayed', instance: { state: 'cancelled' } },
    );
    expect(await store.readStream('orderFulfillment-c-5')).toHaveLength(length);
  });

  it('records a reply the state no longer accepts, settling the command without a transition', async () => {
    const { engine, store } = await createTestEngine();
    const commandId = await aRefundInFlight(engine, 'c-2');
    const before = (await store.readStream('orderFulfillment-c-2')).length;
    const late = valueOf(
      await engine.commands.complete({
        workflow: 'orderFulfillment',
        id: 'c-2',
        commandId,
        attempts: 2,
        reply: { type: 'GoodsFetched', payload: { warehouseId: 'w' } },
      }),
    );
    expect(late).toMatchObject({
      outcome: 'recorded',
      replyAccepted: false,
      instance: { state: 'refunding', inFlightCommands: [] },
    });
    const types = (await store.readStream('orderFulfillment-c-2')).slice(before).map((e) => e.type);
    expect(types).toEqual(['GoodsFetched', 'CommandCompleted']);
    const { engine: fresh } = await createTestEngine({ store });
    expect(valueOf(await fresh.queries.get('orderFulfillment', 'c-2'))).toMatchObject({
      state: 'refunding',
      inFlightCommands: [],
    });
  });

  it('refuses a reply of an unknown type or with a bad payload, writing nothing', async () => {
    const { engine, store } = await createTestEngine();
    const commandId = await aRefundInFlight(engine, 'c-3');
    const before = (await store.readStream('orderFulfillment-c-3')).length;
    const complete = { workflow: 'orderFulfillment', id: 'c-3', commandId, attempts: 1 };
    const unknown = await engine.commands.complete({
      ...complete,
      reply: { type: 'Refunded', payload: {} },
    });
    expect(!unknown.ok && unknown.rejection.code).toBe(ErrorCode.UnknownEventType);
    const invalid = await engine.commands.complete({
      ...complete,
      reply: { type: 'PaymentRefunded', payload: { refundId: 7 } },
    });
    expect(!invalid.ok && invalid.rejection).toMatchObject({
      code: ErrorCode.SchemaValidationFailed,
      errors: [expect.objectContaining({ path: 'reply.payload.refundId' })],
    });
    expect(await store.readStream('orderFulfillment-c-3')).toHaveLength(before);
  });

  it('raises an incident, retries it under a new incident id, and resolves one by hand', async () => {
    const { engine, store } = await createTestEngine();
    const commandId = await aRefundInFlight(engine, 'c-4');
    const at = { workflow: 'orderFulfillment', id: 'c-4' };
    const raise = () =>
      engine.commands.raiseIncident({ ...at, commandId, attempts: 5, error: 'provider down' });
    const raised = valueOf(await raise());
    expect(raised.instance.incidents).toEqual([
      {
        incidentId: expect.any(String),
        commandId,
        commandType: 'RefundPayment',
        attempts: 5,
        error: 'provider down',
      },
    ]);
    const firstIncident = raised.instance.incidents[0]!.incidentId;
    expect(raised.instance.inFlightCommands[0]?.incidentId).toBe(firstIncident);
    // One open incident per command.
    expect(valueOf(await raise())).toMatchObject({ outcome: 'notInFlight' });

    const retried = valueOf(
      await engine.commands.resolveIncident({
        ...at,
        incidentId: firstIncident,
        resolution: 'retry',
      }),
    );
    expect(retried.instance).toMatchObject({
      incidents: [],
      inFlightCommands: [{ commandId, incidentId: null }],
    });
    expect(
      valueOf(
        await engine.commands.resolveIncident({
          ...at,
          incidentId: firstIncident,
          resolution: 'retry',
        }),
      ),
    ).toMatchObject({ outcome: 'replayed' });

    const again = valueOf(await raise());
    const secondIncident = again.instance.incidents[0]!.incidentId;
    expect(secondIncident).not.toBe(firstIncident);
    const manual = valueOf(
      await engine.commands.resolveIncident({
        ...at,
        incidentId: secondIncident,
        resolution: 'manual',
        note: 'refunded by hand in the provider console',
        resolvedBy: 'ops@example.org',
        actor: 'ops@example.org',
      }),
    );
    expect(manual.instance).toMatchObject({
      incidents: [],
      inFlightCommands: [],
      state: 'refunding',
    });
    const types = (await store.readStream('orderFulfillment-c-4')).map((e) => e.type).slice(-4);
    expect(types).toEqual([
      'IncidentRaised',
      'IncidentResolved',
      'IncidentRaised',
      'IncidentResolved',
    ]);
    // The operator's decision names who made it; the retry above, asked without one, does not.
    const actors = (await store.readStream('orderFulfillment-c-4'))
      .slice(-4)
      .map((e) => (e.metadata as { actor?: string }).actor);
    expect(actors).toEqual([undefined, undefined, undefined, 'ops@example.org']);
    const { engine: fresh } = await createTestEngine({ store });
    expect(valueOf(await fresh.queries.get('orderFulfillment', 'c-4'))).toMatchObject({
      incidents: [],
      inFlightCommands: [],
    });
    // A completion for a command resolved by hand finds nothing in flight.
    expect(
      valueOf(await fresh.commands.complete({ ...at, commandId, attempts: 1, reply: refunded })),
    ).toMatchObject({ outcome: 'notInFlight' });
  });
});
