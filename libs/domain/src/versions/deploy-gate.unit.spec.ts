import { createMachine } from 'xstate';
import type { AnyStateMachine } from 'xstate';
import { beforeAll, describe, expect, it } from 'vitest';
import { orderFulfillment, orderFulfillmentMachine } from '@esflow/example-order-fulfillment';
import { createTestEngine, INVOKING_SCHEMAS } from '../../../../test/support/engine-fixture';
import { invokingWorkflow } from '../../../../test/support/invoking-workflow';
import { schemaNameOf } from '../engine/transition-planner';
import { Result } from '../errors/rejection';
import { EventStore } from '../event-store/event-store.port';
import { PayloadCodec } from '../codec/payload-codec.port';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { defineWorkflow, WorkflowDefinition } from '../workflow/workflow-definition';
import { checkVersionsInUse, parseDeclaredMigrations, VersionsGateRule } from './deploy-gate';
import { WaitingGroup, WaitingInstancesCollector } from './waiting-instances';

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

const order = (orderId: string) => ({
  orderId,
  customerId: `customer-${orderId}`,
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'SKU-1', quantity: 2 }],
});

/** Every event of the store, in its global order, as the gate reads it (payloads decoded). */
async function collect(
  store: EventStore,
  codec: PayloadCodec,
  definitions: readonly WorkflowDefinition[],
): Promise<WaitingGroup[]> {
  const collector = new WaitingInstancesCollector();
  for (const event of await store.readAll()) {
    const workflow = (event.metadata as { workflow?: string }).workflow;
    const definition = definitions.find((d) => d.name === workflow);
    if (!definition) continue;
    collector.add({
      streamName: event.streamName,
      revision: event.revision,
      type: event.type,
      eventId: event.eventId,
      metadata: event.metadata,
      payload: await codec.decode(schemaNameOf(definition, event.type), event.data),
    });
  }
  return collector.waitingGroups();
}

/**
 * orderFulfillment v1 as recorded: two orders waiting for payment (each with its payment-window
 * timer pending), one paid (fetchingGoods), one whose payment failed and one shipped (both done).
 */
async function recordedOrders(): Promise<WaitingGroup[]> {
  const { engine, store, codec } = await createTestEngine();
  const send = (id: string, type: string, payload: unknown) =>
    engine.sendEvent.handle({ workflow: 'orderFulfillment', id, type, payload }).then(valueOf);
  for (const id of ['waiting-1', 'waiting-2', 'paid', 'failed', 'shipped'])
    valueOf(await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: order(id) }));
  await send('paid', 'PaymentReceived', { paymentId: 'pay-1', amountCents: 4999 });
  await send('failed', 'PaymentFailed', { reason: 'declined' });
  await send('shipped', 'PaymentReceived', { paymentId: 'pay-2', amountCents: 4999 });
  await send('shipped', 'GoodsFetched', { warehouseId: 'wh-1' });
  await send('shipped', 'ShipmentDispatched', { trackingId: 'trk-1' });
  return collect(store, codec, [orderFulfillment]);
}

const TIMER = 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment';

/** orderFulfillment's machine with its states changed by `change` (a copy of the config's). */
function orderMachine(
  change: (states: Record<string, Record<string, unknown>>) => void,
  initial = 'awaitingPayment',
): AnyStateMachine {
  const config = orderFulfillmentMachine.config;
  const states = Object.fromEntries(
    Object.entries(config.states!).map(([key, node]) => [key, { ...(node as object) }]),
  ) as Record<string, Record<string, unknown>>;
  change(states);
  return createMachine(
    { ...config, initial, states } as never,
    orderFulfillmentMachine.implementations as never,
  );
}

function orderFulfillmentAt(version: number, machine: AnyStateMachine = orderFulfillmentMachine) {
  return defineWorkflow({
    name: 'orderFulfillment',
    version,
    machine,
    startEvent: 'OrderPlaced',
    commands: ['RefundPayment'],
  } as never);
}

/** v2 whose awaitingPayment is called awaitingFunds. */
const renamedAwaitingPayment = () =>
  orderMachine((states) => {
    states['awaitingFunds'] = states['awaitingPayment']!;
    delete states['awaitingPayment'];
  }, 'awaitingFunds');

describe('the deploy gate (checkVersionsInUse)', () => {
  let groups: WaitingGroup[];
  beforeAll(async () => {
    groups = await recordedOrders();
  });

  it('finds the running instances by version and state, with what they may still receive', () => {
    expect(groups.map((g) => [g.workflow, g.version, g.state, g.instances])).toEqual([
      ['orderFulfillment', 1, 'awaitingPayment', 2],
      ['orderFulfillment', 1, 'fetchingGoods', 1],
    ]);
    expect(groups[0]!.mayReceive).toEqual([
      { type: 'PaymentFailed', instances: 2, reasons: ['acceptedBefore'] },
      { type: 'PaymentReceived', instances: 2, reasons: ['acceptedBefore'] },
      { type: TIMER, instances: 2, reasons: ['pendingTimer'] },
    ]);
    expect(groups[1]!.mayReceive.map((e) => e.type)).toEqual(['GoodsFetched']);
  });

  it('passes an unchanged definition', () => {
    const report = checkVersionsInUse(new WorkflowCatalog([orderFulfillment]), groups);
    expect(report.failures).toEqual([]);
    expect(report.groups.map((g) => [g.state, g.instances, g.checkedAgainst, g.verdict])).toEqual([
      ['awaitingPayment', 2, 'v1', 'ok'],
      ['fetchingGoods', 1, 'v1', 'ok'],
    ]);
  });

  it('fails a version replaced without the state instances wait in, and passes once a migration maps them', () => {
    const catalog = new WorkflowCatalog([orderFulfillmentAt(1, renamedAwaitingPayment())]);
    const report = checkVersionsInUse(catalog, groups);
    expect(report.failures).toEqual([
      {
        rule: VersionsGateRule.StateRemoved,
        workflow: 'orderFulfillment',
        version: 1,
        state: 'awaitingPayment',
        against: 1,
        instances: 2,
        message:
          'orderFulfillment v1 awaitingPayment: the orderFulfillment v1 registered now has no state awaitingPayment, and 2 instances wait in it',
      },
    ]);
    const migrated = checkVersionsInUse(catalog, groups, [
      {
        workflow: 'orderFulfillment',
        fromVersion: 1,
        toVersion: 1,
        stateMapping: { awaitingPayment: 'awaitingFunds' },
      },
    ]);
    expect(migrated.failures).toEqual([]);
    expect(migrated.groups[0]).toMatchObject({ verdict: 'migrated', instances: 2 });
  });

  it('fails a removed version, needing a migration to the latest, and passes once one is declared', () => {
    const catalog = new WorkflowCatalog([orderFulfillmentAt(2, renamedAwaitingPayment())]);
    const report = checkVersionsInUse(catalog, groups);
    expect(report.failures.map((f) => [f.rule, f.state, f.against, f.instances])).toEqual([
      ['VERSION_REMOVED', 'awaitingPayment', 2, 2],
      ['STATE_REMOVED', 'awaitingPayment', 2, 2],
      ['VERSION_REMOVED', 'fetchingGoods', 2, 1],
    ]);
    expect(report.failures[0]!.message).toBe(
      'orderFulfillment v1 awaitingPayment: orderFulfillment v1 is no longer registered, and 2 instances wait in it: register v1 again, or declare a migration (--migrations)',
    );
    expect(report.groups.map((g) => g.checkedAgainst)).toEqual([
      'v2 (latest: needs a migration)',
      'v2 (latest: needs a migration)',
    ]);

    // Mapping only one of the two states leaves the other failing.
    const partly = checkVersionsInUse(catalog, groups, [
      {
        workflow: 'orderFulfillment',
        fromVersion: 1,
        toVersion: 2,
        stateMapping: { awaitingPayment: 'awaitingFunds' },
      },
    ]);
    expect(partly.failures.map((f) => [f.rule, f.state])).toEqual([
      ['VERSION_REMOVED', 'fetchingGoods'],
    ]);
    expect(partly.failures[0]!.message).toContain(
      'the migration declared from v1 does not map fetchingGoods',
    );

    const migrated = checkVersionsInUse(
      catalog,
      groups,
      parseDeclaredMigrations(
        [
          {
            workflow: 'orderFulfillment',
            fromVersion: 1,
            toVersion: 2,
            stateMapping: { awaitingPayment: 'awaitingFunds', fetchingGoods: 'fetchingGoods' },
          },
        ],
        'migrations.json',
      ),
    );
    expect(migrated.failures).toEqual([]);
    expect(migrated.groups.map((g) => [g.checkedAgainst, g.verdict])).toEqual([
      ['v2 awaitingFunds (migration)', 'migrated'],
      ['v2 fetchingGoods (migration)', 'migrated'],
    ]);
  });

  it('fails a migration whose target state or version does not exist', () => {
    const catalog = new WorkflowCatalog([orderFulfillmentAt(2, renamedAwaitingPayment())]);
    const report = checkVersionsInUse(catalog, groups, [
      {
        workflow: 'orderFulfillment',
        fromVersion: 1,
        toVersion: 2,
        stateMapping: { awaitingPayment: 'awaitingPayment', fetchingGoods: 'fetchingGoods' },
      },
    ]);
    expect(report.failures).toEqual([
      expect.objectContaining({
        rule: VersionsGateRule.MigrationTargetMissing,
        state: 'awaitingPayment',
        against: 2,
        instances: 2,
        message:
          'orderFulfillment v1 awaitingPayment: the declared migration maps 2 instances to awaitingPayment, but orderFulfillment v2 has no state awaitingPayment',
      }),
    ]);
    const toNowhere = checkVersionsInUse(catalog, groups, [
      {
        workflow: 'orderFulfillment',
        fromVersion: 1,
        toVersion: 3,
        stateMapping: { fetchingGoods: 'fetchingGoods' },
      },
    ]);
    expect(toNowhere.failures.map((f) => [f.rule, f.state, f.against])).toEqual([
      ['VERSION_REMOVED', 'awaitingPayment', 2],
      ['STATE_REMOVED', 'awaitingPayment', 2],
      ['MIGRATION_TARGET_MISSING', 'fetchingGoods', 3],
    ]);
  });

  it('fails a state that no longer accepts an event its waiting instances may still receive', () => {
    const withoutPaymentFailed = orderMachine((states) => {
      const { PaymentFailed: _removed, ...on } = states['awaitingPayment']!['on'] as Record<
        string,
        unknown
      >;
      states['awaitingPayment'] = { ...states['awaitingPayment'], on };
    });
    const report = checkVersionsInUse(
      new WorkflowCatalog([orderFulfillmentAt(1, withoutPaymentFailed)]),
      groups,
    );
    expect(report.failures).toEqual([
      {
        rule: VersionsGateRule.EventNoLongerAccepted,
        workflow: 'orderFulfillment',
        version: 1,
        state: 'awaitingPayment',
        event: 'PaymentFailed',
        against: 1,
        instances: 2,
        message:
          'orderFulfillment v1 awaitingPayment: 2 instances may still receive PaymentFailed (taken in this state before), which awaitingPayment in the orderFulfillment v1 registered now does not accept',
      },
    ]);
  });

  it('fails a state whose timer is gone while instances wait for it to fire', () => {
    const withoutTimer = orderMachine((states) => {
      const { after: _removed, ...rest } = states['awaitingPayment']!;
      states['awaitingPayment'] = rest;
    });
    const report = checkVersionsInUse(
      new WorkflowCatalog([orderFulfillmentAt(1, withoutTimer)]),
      groups,
    );
    expect(report.failures.map((f) => [f.rule, f.event, f.instances])).toEqual([
      ['EVENT_NO_LONGER_ACCEPTED', TIMER, 2],
    ]);
    expect(report.failures[0]!.message).toContain('(a pending timer)');
  });

  it('fails a workflow no version of which is registered', () => {
    const report = checkVersionsInUse(new WorkflowCatalog([]), groups);
    expect(report.failures.map((f) => [f.rule, f.state, f.instances])).toEqual([
      ['WORKFLOW_REMOVED', 'awaitingPayment', 2],
      ['WORKFLOW_REMOVED', 'fetchingGoods', 1],
    ]);
    expect(report.groups.every((g) => g.verdict === 'fails')).toBe(true);
  });

  it('knows an invoked command in flight is owed its done event', async () => {
    const job = invokingWorkflow('job', true);
    const { engine, store, codec } = await createTestEngine({
      definitions: [job],
      schemas: INVOKING_SCHEMAS,
    });
    valueOf(await engine.startWorkflow.handle({ workflow: 'job', input: { jobId: 'j-1' } }));
    const waiting = await collect(store, codec, [job]);
    expect(waiting).toEqual([
      expect.objectContaining({
        state: 'working',
        instances: 1,
        mayReceive: [{ type: 'xstate.done.actor.work', instances: 1, reasons: ['invokedCommand'] }],
      }),
    ]);
    const config = job.machine.config;
    const withoutInvoke = defineWorkflow({
      name: 'job',
      version: 1,
      machine: createMachine({
        ...config,
        states: { ...config.states, working: { on: { Abandon: 'abandoned' } } },
      } as never),
      startEvent: 'JobStarted',
    } as never);
    const report = checkVersionsInUse(new WorkflowCatalog([withoutInvoke]), waiting);
    expect(report.failures.map((f) => [f.rule, f.event, f.instances])).toEqual([
      ['EVENT_NO_LONGER_ACCEPTED', 'xstate.done.actor.work', 1],
    ]);
  });
});

describe('parseDeclaredMigrations', () => {
  const valid = {
    workflow: 'orderFulfillment',
    fromVersion: 1,
    toVersion: 2,
    stateMapping: { awaitingPayment: 'awaitingPayment' },
  };

  it('takes the documented form', () => {
    expect(parseDeclaredMigrations([valid], 'm.json')).toEqual([valid]);
  });

  it('refuses what it cannot use, saying where', () => {
    expect(() => parseDeclaredMigrations({}, 'm.json')).toThrow(/^m\.json: must be a JSON array/);
    expect(() => parseDeclaredMigrations([{ ...valid, toVersion: 0 }], 'm.json')).toThrow(
      'm.json: [0].toVersion must be a positive whole number, got 0',
    );
    expect(() =>
      parseDeclaredMigrations([{ ...valid, stateMapping: { awaitingPayment: 3 } }], 'm.json'),
    ).toThrow('m.json: [0].stateMapping.awaitingPayment must name a state of v2');
    expect(() => parseDeclaredMigrations([valid, valid], 'm.json')).toThrow(
      'm.json: [1] declares a second migration from orderFulfillment v1',
    );
  });
});

describe('WaitingInstancesCollector', () => {
  /** An event of instance `id` of `flow` v1, recorded between `before` and `after`. */
  const recorded = (
    id: string,
    revision: number,
    type: string,
    before: string | null,
    after: string,
    payload?: Record<string, unknown>,
  ) => ({
    streamName: `flow-${id}`,
    revision,
    type,
    eventId: `${id}-${revision}`,
    metadata: {
      workflow: 'flow',
      instanceId: id,
      definitionVersion: 1,
      category: type === 'CommandCompleted' ? 'framework' : 'workflow',
      stateBefore: before,
      stateAfter: after,
      statusAfter: 'running',
    },
    ...(payload ? { payload } : {}),
  });
  const completed = (accepted: boolean) => ({
    commandId: 'c',
    commandType: 'Refund',
    attempts: 1,
    replyType: 'Refunded',
    replyAccepted: accepted,
    outputJson: null,
  });

  it('does not learn a reply the state refused as one it accepts', () => {
    const collector = new WaitingInstancesCollector();
    for (const event of [
      recorded('a', 0, 'Started', null, 'waiting'),
      recorded('a', 1, 'Refunded', 'waiting', 'waiting'),
      recorded('a', 2, 'CommandCompleted', 'waiting', 'waiting', completed(false)),
      recorded('a', 3, 'Nudged', 'waiting', 'waiting'),
    ])
      collector.add(event);
    expect(collector.waitingGroups()[0]!.mayReceive.map((e) => e.type)).toEqual(['Nudged']);

    collector.add(recorded('b', 0, 'Started', null, 'waiting'));
    collector.add(recorded('b', 1, 'Refunded', 'waiting', 'waiting'));
    collector.add(recorded('b', 2, 'CommandCompleted', 'waiting', 'waiting', completed(true)));
    expect(collector.waitingGroups()[0]!.mayReceive).toEqual([
      { type: 'Nudged', instances: 2, reasons: ['acceptedBefore'] },
      { type: 'Refunded', instances: 2, reasons: ['acceptedBefore'] },
    ]);
  });

  it('refuses a stream whose events come out of revision order', () => {
    const collector = new WaitingInstancesCollector();
    collector.add(recorded('a', 1, 'Nudged', 'waiting', 'waiting'));
    expect(() => collector.add(recorded('a', 1, 'Nudged', 'waiting', 'waiting'))).toThrow(
      'the events of flow-a are not in revision order: revision 1 after 1',
    );
  });
});
