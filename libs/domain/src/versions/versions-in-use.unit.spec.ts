import { describe, expect, it } from 'vitest';
import { orderFulfillment, orderFulfillmentMachine } from '@esflow/example-order-fulfillment';
import { hasErrorCode, ErrorCode } from '../errors/esflow-error';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { defineWorkflow } from '../workflow/workflow-definition';
import {
  CountedEvent,
  describeRemovedVersionInUse,
  removedVersionsInUse,
  RunningVersionTally,
  versionRemovalError,
} from './versions-in-use';

const orderFulfillmentV2 = defineWorkflow({
  name: 'orderFulfillment',
  version: 2,
  machine: orderFulfillmentMachine,
  startEvent: 'OrderPlaced',
  commands: ['RefundPayment'],
});

/** An event of instance `id` of orderFulfillment `version`, as far as the tally reads it. */
const event = (id: string, revision: number, type: string, version = 1): CountedEvent => ({
  streamName: `orderFulfillment-${id}`,
  revision,
  type,
  metadata: { workflow: 'orderFulfillment', instanceId: id, definitionVersion: version },
});

describe('RunningVersionTally', () => {
  it('adds the starts and takes away the ends recorded after the base', () => {
    const tally = new RunningVersionTally([
      { workflow: 'orderFulfillment', version: 1, running: 2 },
      { workflow: 'kycOnboarding', version: 1, running: 1 },
    ]);
    const later = [
      event('a', 0, 'OrderPlaced'),
      event('a', 1, 'TimerScheduled'),
      event('old', 5, 'WorkflowCompleted'),
      event('b', 0, 'OrderPlaced', 2),
      event('c', 0, 'OrderPlaced'),
      event('c', 3, 'InstanceTerminated'),
    ];
    for (const e of later) expect(tally.add(e)).toBe(true);
    // Not an instance stream: the writer schemas esflow keeps, a message's stream.
    expect(
      tally.add({
        streamName: 'esflow.schemas',
        revision: 0,
        type: 'WriterSchemaKept',
        metadata: {},
      }),
    ).toBe(false);
    expect(
      tally.add({
        ...event('m', 0, 'MessageReceived'),
        streamName: 'esflow.message-m',
      }),
    ).toBe(false);
    expect(tally.added).toBe(6);
    expect(tally.counts()).toEqual([
      { workflow: 'kycOnboarding', version: 1, running: 1 },
      // 2 + a + c − old − c
      { workflow: 'orderFulfillment', version: 1, running: 2 },
      { workflow: 'orderFulfillment', version: 2, running: 1 },
    ]);
  });

  it('counts a log from its start the same without a base (a read model never built)', () => {
    const tally = new RunningVersionTally();
    for (const e of [event('a', 0, 'OrderPlaced'), event('b', 0, 'OrderPlaced')]) tally.add(e);
    tally.add(event('b', 4, 'WorkflowCompleted'));
    expect(tally.counts()).toEqual([{ workflow: 'orderFulfillment', version: 1, running: 1 }]);
  });

  it('moves a migrated instance to its target version: a removed source no longer counts it', () => {
    const tally = new RunningVersionTally([
      { workflow: 'orderFulfillment', version: 1, running: 2 },
    ]);
    tally.add({ ...event('a', 5, 'InstanceMigrated', 2), migratedFrom: 1 });
    expect(tally.counts()).toEqual([
      { workflow: 'orderFulfillment', version: 1, running: 1 },
      { workflow: 'orderFulfillment', version: 2, running: 1 },
    ]);
  });
});

describe('removedVersionsInUse', () => {
  const counts = [
    { workflow: 'orderFulfillment', version: 1, running: 3 },
    { workflow: 'orderFulfillment', version: 2, running: 4 },
    { workflow: 'kycOnboarding', version: 1, running: 1 },
    { workflow: 'leaveRequest', version: 1, running: 0 },
  ];

  it('finds nothing while every version in use is registered', () => {
    const catalog = new WorkflowCatalog([orderFulfillment, orderFulfillmentV2]);
    expect(removedVersionsInUse(catalog, counts.slice(0, 2))).toEqual([]);
  });

  it('names each removed version with its running instances, and a workflow removed whole', () => {
    const problems = removedVersionsInUse(new WorkflowCatalog([orderFulfillmentV2]), counts);
    expect(problems).toEqual([
      { workflow: 'kycOnboarding', version: 1, running: 1, registered: [] },
      { workflow: 'orderFulfillment', version: 1, running: 3, registered: [2] },
    ]);
    expect(problems.map(describeRemovedVersionInUse)).toEqual([
      'kycOnboarding v1 is no longer registered but 1 instance still runs on it: register it again (no version of kycOnboarding is registered now)',
      'orderFulfillment v1 is no longer registered but 3 instances still run on it: register it again beside v2, or migrate them',
    ]);
    const error = versionRemovalError(problems, { countedFrom: 'the store' });
    expect(hasErrorCode(error, ErrorCode.InvalidDefinition)).toBe(true);
    expect(error.message).toBe(problems.map(describeRemovedVersionInUse).join('; '));
    expect(error.details).toEqual({ countedFrom: 'the store', removedVersionsInUse: problems });
  });
});
