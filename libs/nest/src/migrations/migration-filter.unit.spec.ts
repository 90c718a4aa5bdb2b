import { describe, expect, it } from 'vitest';
import { ErrorCode, MigrateOutcome, reject } from '@esflow/core';
import { migrationVerdict } from './instance-migration';
import { migrationFilterMatches, migrationStateProblem } from './migration-filter';

describe('migrationFilterMatches', () => {
  const order = (id: string, version: number, state: unknown) => ({ id, version, state });

  it('takes the instances on fromVersion, with the id prefix', () => {
    const filter = { fromVersion: 1, idPrefix: 'order-' };
    expect(migrationFilterMatches(filter, order('order-1', 1, 'awaitingPayment'))).toBe(true);
    expect(migrationFilterMatches(filter, order('order-1', 2, 'awaitingPayment'))).toBe(false);
    expect(migrationFilterMatches(filter, order('u-1', 1, 'awaitingPayment'))).toBe(false);
  });

  it('takes a state, or any state below it, by dotted path or as JSON', () => {
    const nested = order('o', 1, { shipping: 'awaitingCarrier' });
    const parallel = order('p', 1, { payment: 'authorised', delivery: { packing: 'boxed' } });
    const by = (state: string, candidate: typeof nested) =>
      migrationFilterMatches({ fromVersion: 1, state }, candidate);
    expect(by('shipping', nested)).toBe(true);
    expect(by('shipping.awaitingCarrier', nested)).toBe(true);
    expect(by('{"shipping":"awaitingCarrier"}', nested)).toBe(true);
    expect(by('shipping.pickedUp', nested)).toBe(false);
    expect(by('ship', nested)).toBe(false);
    expect(by('delivery.packing', parallel)).toBe(true);
    expect(by('{"payment":"authorised","delivery":"packing"}', parallel)).toBe(true);
    expect(by('{"payment":"declined","delivery":"packing"}', parallel)).toBe(false);
  });
});

describe('migrationStateProblem', () => {
  it('accepts a dotted path or a state value as JSON, and names what else is wrong', () => {
    expect(migrationStateProblem('awaitingPayment')).toBeUndefined();
    expect(migrationStateProblem('shipping.awaitingCarrier')).toBeUndefined();
    expect(migrationStateProblem('{"shipping":"awaitingCarrier"}')).toBeUndefined();
    expect(migrationStateProblem('{"shipping":')).toMatch(/not valid JSON/);
    for (const text of ['', '  ', 'a..b', '.a', 'a.'])
      expect(migrationStateProblem(text), JSON.stringify(text)).toMatch(/must/);
  });
});

describe('migrationVerdict', () => {
  const refused = (fromVersion: number) =>
    reject<MigrateOutcome>({
      code: ErrorCode.MigrationRefused,
      message: 'no',
      fromVersion,
      toVersion: 2,
      errors: [{ path: 'toVersion', message: 'the instance runs on v2 already' }],
    });

  it('skips an instance on the target version already, and one that is not running', () => {
    expect(migrationVerdict(refused(2), 2).kind).toBe('skipped');
    const finished = reject<MigrateOutcome>({
      code: ErrorCode.InstanceNotRunning,
      message: 'done',
      workflow: 'w',
      id: 'i',
      instanceStatus: 'completed',
      state: 'done',
    });
    expect(migrationVerdict(finished, 2)).toEqual({
      kind: 'skipped',
      code: ErrorCode.InstanceNotRunning,
      message: 'done',
    });
  });

  it('tells a refusal from any other rejection and from a fault', () => {
    expect(migrationVerdict(refused(1), 2).kind).toBe('refused');
    const conflict = reject<MigrateOutcome>({
      code: ErrorCode.RevisionConflict,
      message: 'moved on',
      expectedRevision: 1,
      actualRevision: 2,
    });
    expect(migrationVerdict(conflict, 2)).toMatchObject({
      kind: 'failed',
      code: ErrorCode.RevisionConflict,
    });
    expect(migrationVerdict({ thrown: new Error('disk') }, 2)).toEqual({
      kind: 'failed',
      code: ErrorCode.Internal,
      message: 'disk',
    });
  });
});
