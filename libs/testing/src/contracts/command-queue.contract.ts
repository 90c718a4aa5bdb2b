import {
  CommandChange,
  CommandQuery,
  CommandQueue,
  CommandStatus,
  ErrorCode,
  hasErrorCode,
  LeaseRequest,
  QueuedCommand,
} from '@esflow/core';
import { allPages, itOnAFresh, position } from './contract-support';
import { ContractTestApi } from './test-api';

/** A second queue on the storage of a {@link CommandQueueUnderTest}, closed by the suite. */
export interface ReopenedCommandQueue {
  readonly queue: CommandQueue;
  close(): Promise<void>;
}

/**
 * What a factory gives {@link describeCommandQueueContract}: an empty command queue, how to
 * dispose of it, and, for a durable adapter, how to open a second queue on the same storage (the
 * same file, the same schema), as another worker process or a restart would.
 */
export interface CommandQueueUnderTest {
  readonly queue: CommandQueue;
  dispose(): Promise<void>;
  reopen?(): Promise<ReopenedCommandQueue>;
}

/**
 * What a command queue adapter keeps beyond its own object. One it lacks is declared, and the
 * suite checks that it is really absent.
 */
export interface CommandQueueCapabilities {
  /** Commands outlive the queue object: the factory gives `reopen`. */
  readonly durable: boolean;
}

const NO_COUNTS = {
  pending: 0,
  leased: 0,
  completed: 0,
  incident: 0,
  resolved: 0,
  failed: 0,
  withdrawn: 0,
};
const NOW = new Date('2030-01-01T10:00:00.000Z');
const LEASE_MS = 30_000;
const later = (ms: number, from = NOW) => new Date(from.getTime() + ms);

/**
 * A command as the dispatcher queues it (pending, available since it was dispatched), with
 * `fields` in place of the defaults: an order's `chargePayment` at revision 2.
 */
export const queuedCommand = (
  commandId: string,
  fields: Partial<QueuedCommand> = {},
): QueuedCommand => ({
  commandId,
  commandType: 'chargePayment',
  workflow: 'orderFulfillment',
  instanceId: 'o-1',
  payloadJson: '{"orderId":"o-1","amount":42}',
  dispatchedAt: '2030-01-01T09:00:00.000Z',
  dispatchedRevision: 2,
  status: CommandStatus.Pending,
  attempts: 0,
  availableAt: '2030-01-01T09:00:00.000Z',
  leaseOwner: null,
  leaseUntil: null,
  lastError: null,
  incidentId: null,
  ...fields,
});
const dispatched = (command: QueuedCommand): CommandChange => ({ kind: 'dispatched', command });
const completed = (commandId: string): CommandChange => ({ kind: 'completed', commandId });
const resolved = (commandId: string): CommandChange => ({ kind: 'resolved', commandId });
const incident = (commandId: string, incidentId = `${commandId}-incident`, error = 'declined') =>
  ({ kind: 'incident', commandId, incidentId, error }) satisfies CommandChange;
const retried = (commandId: string, availableAt: string): CommandChange => ({
  kind: 'retried',
  commandId,
  availableAt,
});

const leaseRequest = (owner: string, fields: Partial<LeaseRequest> = {}): LeaseRequest => ({
  commandTypes: ['chargePayment'],
  owner,
  leaseMs: LEASE_MS,
  max: 10,
  now: NOW,
  ...fields,
});
/** The command a lease by `owner` at `now` makes of `command`. */
const leasedBy = (command: QueuedCommand, owner: string, now = NOW): QueuedCommand => ({
  ...command,
  status: CommandStatus.Leased,
  attempts: command.attempts + 1,
  leaseOwner: owner,
  leaseUntil: later(LEASE_MS, now).toISOString(),
});
const idsOf = (commands: readonly QueuedCommand[]) => commands.map((c) => c.commandId);

/** What a promise rejects with; undefined when it fulfils. */
const rejectionOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/**
 * The one behaviour every command queue adapter must have: `apply` is atomic with its checkpoint,
 * ignores repeated dispatches and changes for unknown commands, and moves a command through its
 * statuses as the port says (completed and resolved from any state, incident for an unsettled
 * one, retried for an incident); `lease` takes only the requested types, only what is available
 * (or whose lease expired) at `now`, oldest dispatch first, at most `max`, one attempt more each,
 * never a command another lease holds, never a settled or incident one, and never one command
 * twice for concurrent callers; `release` works for the lease owner only; `holds`, `get`, `list`
 * (filters, the incident id among them, paging in dispatch order) and `counts` read it all back exactly; `clear` empties the
 * queue; and, for a durable adapter, a second queue on the same storage sees and leases what the
 * first did. Each test runs on a fresh queue from `create`, as `lease` and `counts` see every
 * command. A capability the adapter lacks is declared in `capabilities`.
 */
export function describeCommandQueueContract(
  adapter: string,
  create: () => Promise<CommandQueueUnderTest>,
  api: ContractTestApi,
  capabilities: CommandQueueCapabilities = { durable: true },
): void {
  const { describe, expect, it } = api;

  const itOnAFreshQueue = itOnAFresh(it, create, (subject) => subject.queue);

  describe(`command queue contract: ${adapter}`, () => {
    describe('apply', () => {
      itOnAFreshQueue(
        'starts empty: no checkpoint, nothing listed or leased, every count zero',
        async (queue) => {
          expect(await queue.checkpoint()).toBeUndefined();
          expect(await queue.list({ limit: 10 })).toStrictEqual({ commands: [] });
          expect(await queue.lease(leaseRequest('w-1'))).toEqual([]);
          expect(await queue.counts()).toStrictEqual(NO_COUNTS);
          expect(await queue.get('c-1')).toBeUndefined();
        },
      );

      itOnAFreshQueue(
        'records the changes and the checkpoint together, a command read back as written',
        async (queue) => {
          const command = queuedCommand('c-1');
          await queue.apply([dispatched(command)], position(7n, 5n));
          expect(await queue.get('c-1')).toStrictEqual(command);
          expect(await queue.checkpoint()).toStrictEqual(position(7n, 5n));
          expect(await queue.get('c-2')).toBeUndefined();
        },
      );

      itOnAFreshQueue(
        'keeps none of the changes of a rejected apply, nor its checkpoint, and goes on working',
        async (queue) => {
          const a = queuedCommand('a');
          await queue.apply([dispatched(a)], position(1n));
          const rejections = [
            [
              dispatched(queuedCommand('b')),
              completed('a'),
              dispatched(queuedCommand('c', { dispatchedAt: 'x' })),
            ],
            // Without its zone, the instant would depend on the server's time zone.
            [
              completed('a'),
              dispatched(queuedCommand('d', { availableAt: '2030-01-01T09:00:00' })),
            ],
            [completed('a'), retried('unknown', 'soon')],
          ];
          for (const changes of rejections) {
            const error = await rejectionOf(queue.apply(changes, position(2n)));
            expect(hasErrorCode(error, ErrorCode.Internal), String(error)).toBe(true);
          }
          for (const id of ['b', 'c', 'd']) expect(await queue.get(id)).toBeUndefined();
          expect(await queue.get('a')).toStrictEqual(a);
          expect(await queue.checkpoint()).toStrictEqual(position(1n));
          await queue.apply([completed('a')], position(3n));
          expect((await queue.get('a'))?.status).toBe(CommandStatus.Completed);
          expect(await queue.checkpoint()).toStrictEqual(position(3n));
        },
      );

      itOnAFreshQueue(
        'records the checkpoint of the latest apply, one without changes and beyond 2^53 included',
        async (queue) => {
          await queue.apply([], position(5n, 3n));
          expect(await queue.checkpoint()).toStrictEqual(position(5n, 3n));
          const far = position(2n ** 62n + 1n, 2n ** 62n);
          await queue.apply([], far);
          expect(await queue.checkpoint()).toStrictEqual(far);
        },
      );

      itOnAFreshQueue(
        'ignores a dispatched change for a command already queued, whatever its status',
        async (queue) => {
          const [p, l, c] = [
            queuedCommand('p'),
            queuedCommand('l', { commandType: 'shipOrder' }),
            queuedCommand('c'),
          ];
          await queue.apply([dispatched(p), dispatched(l), dispatched(c)], position(1n));
          await queue.apply([completed('c')], position(2n));
          const [leased] = await queue.lease(leaseRequest('w-1', { commandTypes: ['shipOrder'] }));
          const again = {
            payloadJson: '{}',
            dispatchedRevision: 9,
            availableAt: NOW.toISOString(),
          };
          await queue.apply(
            [
              dispatched(queuedCommand('p', again)),
              dispatched(queuedCommand('l', { ...again, commandType: 'shipOrder' })),
              dispatched(queuedCommand('c', again)),
              dispatched(queuedCommand('n')),
              dispatched(queuedCommand('n', again)),
            ],
            position(3n),
          );
          expect(await queue.get('p')).toStrictEqual(p);
          expect(await queue.get('l')).toStrictEqual(leased);
          expect(await queue.get('l')).toStrictEqual(leasedBy(l, 'w-1'));
          expect(await queue.get('c')).toStrictEqual({ ...c, status: CommandStatus.Completed });
          expect(await queue.get('n')).toStrictEqual(queuedCommand('n'));
          expect(await queue.counts()).toStrictEqual({
            ...NO_COUNTS,
            pending: 2,
            leased: 1,
            completed: 1,
          });
          expect(await queue.checkpoint()).toStrictEqual(position(3n));
        },
      );

      itOnAFreshQueue(
        'completed and resolved settle a command whatever its state, ending its lease',
        async (queue) => {
          // Dispatched in this order (by revision), so that a lease of 2 takes the first two.
          const ids = ['pending', 'leased', 'incident', 'completed', 'resolved', 'fresh'];
          const command = (id: string, fields: Partial<QueuedCommand> = {}) =>
            queuedCommand(id, { dispatchedRevision: ids.indexOf(id), ...fields });
          await queue.apply(
            ids.slice(0, 5).map((id) => dispatched(command(id))),
            position(1n),
          );
          await queue.lease(leaseRequest('w-1', { max: 2 })); // 'pending' and 'leased'
          await queue.apply(
            [
              dispatched(command('fresh')),
              completed('pending'), // leased now: settled all the same
              incident('incident'),
              completed('completed'),
              resolved('resolved'),
            ],
            position(2n),
          );
          await queue.apply(
            [
              completed('fresh'),
              completed('leased'),
              resolved('incident'),
              resolved('completed'),
              completed('resolved'),
              completed('fresh'), // already completed: as it is
            ],
            position(3n),
          );
          const settled = (id: string, status: CommandStatus, fields: Partial<QueuedCommand>) =>
            expect(queue.get(id)).resolves.toStrictEqual(command(id, { status, ...fields }));
          await settled('fresh', CommandStatus.Completed, {});
          await settled('pending', CommandStatus.Completed, { attempts: 1 });
          await settled('leased', CommandStatus.Completed, { attempts: 1 });
          // Resolving an incident keeps what it was.
          await settled('incident', CommandStatus.Resolved, {
            incidentId: 'incident-incident',
            lastError: 'declined',
          });
          await settled('completed', CommandStatus.Resolved, {});
          await settled('resolved', CommandStatus.Completed, {});
          expect(await queue.holds('leased', 'w-1', NOW)).toBe(false);
          expect(await queue.counts()).toStrictEqual({ ...NO_COUNTS, completed: 4, resolved: 2 });
        },
      );

      itOnAFreshQueue(
        'incident marks a pending, leased or incident command, ending its lease, and leaves a settled one',
        async (queue) => {
          const ids = ['pending', 'leased', 'twice', 'completed', 'resolved'];
          await queue.apply(
            ids.map((id) => dispatched(queuedCommand(id, { dispatchedRevision: ids.indexOf(id) }))),
            position(1n),
          );
          await queue.lease(leaseRequest('w-1', { max: 1, now: later(1) })); // 'pending'
          await queue.lease(leaseRequest('w-2', { max: 1 })); // 'leased'
          await queue.apply(
            [incident('twice', 'inc-1', 'first'), completed('completed'), resolved('resolved')],
            position(2n),
          );
          await queue.apply([completed('pending')], position(3n));
          await queue.apply(
            [
              incident('leased', 'inc-2', 'card declined'),
              incident('twice', 'inc-3', 'second'),
              incident('completed'),
              incident('resolved'),
              incident('pending'), // completed by now
            ],
            position(4n),
          );
          expect(await queue.get('leased')).toStrictEqual(
            queuedCommand('leased', {
              dispatchedRevision: 1,
              status: CommandStatus.Incident,
              attempts: 1,
              incidentId: 'inc-2',
              lastError: 'card declined',
            }),
          );
          expect(await queue.holds('leased', 'w-2', NOW)).toBe(false);
          expect(await queue.get('twice')).toStrictEqual(
            queuedCommand('twice', {
              dispatchedRevision: 2,
              status: CommandStatus.Incident,
              incidentId: 'inc-3',
              lastError: 'second',
            }),
          );
          expect((await queue.get('completed'))?.status).toBe(CommandStatus.Completed);
          expect((await queue.get('completed'))?.incidentId).toBeNull();
          expect((await queue.get('resolved'))?.status).toBe(CommandStatus.Resolved);
          expect((await queue.get('pending'))?.status).toBe(CommandStatus.Completed);
          expect(await queue.counts()).toStrictEqual({
            ...NO_COUNTS,
            incident: 2,
            completed: 2,
            resolved: 1,
          });
        },
      );

      itOnAFreshQueue(
        'retried makes an incident pending at availableAt with attempts from 0 and its incident id kept, and leaves other commands',
        async (queue) => {
          await queue.apply(
            ['i', 'p', 'c'].map((id) => dispatched(queuedCommand(id))),
            position(1n),
          );
          await queue.lease(leaseRequest('w-1', { max: 1 })); // 'c'
          await queue.lease(leaseRequest('w-1', { max: 1, now: later(LEASE_MS) })); // 'c' again
          await queue.apply([incident('c'), completed('i')], position(2n));
          await queue.apply(
            [dispatched(queuedCommand('i2')), incident('i2', 'inc-9', 'timeout')],
            position(3n),
          );
          const availableAt = '2030-01-01T10:05:00Z'; // read back as written
          await queue.apply(
            [
              retried('c', availableAt),
              retried('i2', '2030-01-01T11:05:00.000+01:00'),
              retried('p', '2031-01-01T00:00:00.000Z'),
              retried('i', '2031-01-01T00:00:00.000Z'),
            ],
            position(4n),
          );
          const pendingAgain = queuedCommand('c', {
            availableAt,
            lastError: 'declined', // the last failed attempt's error is kept
            incidentId: 'c-incident', // and its incident's id
          });
          expect(await queue.get('c')).toStrictEqual(pendingAgain);
          expect(await queue.get('p')).toStrictEqual(queuedCommand('p'));
          expect((await queue.get('i'))?.status).toBe(CommandStatus.Completed);
          expect(await queue.lease(leaseRequest('w-2', { now: later(299_999) }))).toStrictEqual([
            leasedBy(queuedCommand('p'), 'w-2', later(299_999)),
          ]);
          // 'c' and 'i2' fall due at the same instant, and were dispatched at the same instant and
          // revision: by id.
          const due = later(300_000);
          expect(await queue.lease(leaseRequest('w-2', { now: due }))).toStrictEqual([
            leasedBy(pendingAgain, 'w-2', due),
            leasedBy(
              queuedCommand('i2', {
                availableAt: '2030-01-01T11:05:00.000+01:00',
                lastError: 'timeout',
                incidentId: 'inc-9',
              }),
              'w-2',
              due,
            ),
          ]);
          expect((await queue.get('c'))?.attempts).toBe(1);
        },
      );

      itOnAFreshQueue('ignores every change for an unknown command', async (queue) => {
        await queue.apply([dispatched(queuedCommand('known'))], position(1n));
        await queue.apply(
          [completed('x'), incident('y'), retried('z', '2030-01-01T10:00:00.000Z'), resolved('w')],
          position(2n),
        );
        for (const id of ['x', 'y', 'z', 'w']) expect(await queue.get(id)).toBeUndefined();
        expect(await queue.get('known')).toStrictEqual(queuedCommand('known'));
        expect(await queue.counts()).toStrictEqual({ ...NO_COUNTS, pending: 1 });
        expect(await queue.checkpoint()).toStrictEqual(position(2n));
      });

      itOnAFreshQueue('applies the changes of one batch in their order', async (queue) => {
        await queue.apply([dispatched(queuedCommand('w'))], position(1n));
        const availableAt = '2030-01-01T10:01:00.000Z';
        await queue.apply(
          [
            completed('u'), // not known yet: ignored
            dispatched(queuedCommand('u')),
            incident('u', 'inc-u', 'boom'),
            retried('u', availableAt),
            dispatched(queuedCommand('u', { payloadJson: '{}' })), // already queued
            dispatched(queuedCommand('v')),
            resolved('v'),
            incident('v'), // settled by now
            incident('w', 'inc-w', 'down'),
            retried('w', availableAt),
            incident('w', 'inc-w2', 'down again'),
          ],
          position(2n),
        );
        expect(await queue.get('u')).toStrictEqual(
          queuedCommand('u', { availableAt, lastError: 'boom', incidentId: 'inc-u' }),
        );
        expect(await queue.get('v')).toStrictEqual(
          queuedCommand('v', { status: CommandStatus.Resolved }),
        );
        expect(await queue.get('w')).toStrictEqual(
          queuedCommand('w', {
            status: CommandStatus.Incident,
            availableAt,
            incidentId: 'inc-w2',
            lastError: 'down again',
          }),
        );
      });

      itOnAFreshQueue(
        'reads every field back exactly: nulls, zeros, zones, any text',
        async (queue) => {
          const commands = [
            queuedCommand('r-plain', { dispatchedRevision: 0 }),
            queuedCommand('r/with/slashes \u{1F600}', {
              commandType: 'reserve\u00A0stock',
              workflow: 'kycOnboarding',
              instanceId: 'k-\uFFFD',
              payloadJson: '{"note":"caf\u00E9 \\"quoted\\"","n":1e3}',
              dispatchedAt: '2030-01-01T10:00:00.250+01:00',
              dispatchedRevision: 17,
              availableAt: '2030-01-01T09:00:05Z',
              attempts: 3,
              lastError: '',
            }),
            queuedCommand('r-leased', {
              dispatchedAt: '2030-01-01T09:00:01.000Z',
              status: CommandStatus.Leased,
              attempts: 1,
              leaseOwner: 'w-9',
              leaseUntil: '2030-01-01T10:00:00.000+00:00',
            }),
            queuedCommand('r-incident', {
              dispatchedAt: '2030-01-01T09:00:02.000Z',
              status: CommandStatus.Incident,
              attempts: 5,
              lastError: 'line 1\nline 2',
              incidentId: 'inc-\u{1F600}',
            }),
          ];
          await queue.apply([...commands].reverse().map(dispatched), position(1n));
          for (const command of commands)
            expect(await queue.get(command.commandId)).toStrictEqual(command);
          // In dispatch order: 09:00:00Z, 09:00:00.250Z (10:00:00.250+01:00), 09:00:01Z, 09:00:02Z.
          expect(await queue.list({ limit: 10 })).toStrictEqual({ commands });
        },
      );
    });

    describe('lease', () => {
      itOnAFreshQueue(
        'takes only commands of the requested types, none for no types or a max of 0',
        async (queue) => {
          await queue.apply(
            [
              dispatched(queuedCommand('charge')),
              dispatched(queuedCommand('ship', { commandType: 'shipOrder' })),
              dispatched(queuedCommand('mail', { commandType: 'sendEmail' })),
            ],
            position(1n),
          );
          expect(await queue.lease(leaseRequest('w-1', { commandTypes: [] }))).toEqual([]);
          expect(await queue.lease(leaseRequest('w-1', { max: 0 }))).toEqual([]);
          expect(await queue.lease(leaseRequest('w-1', { commandTypes: ['other'] }))).toEqual([]);
          expect(await queue.counts()).toStrictEqual({ ...NO_COUNTS, pending: 3 });
          const taken = await queue.lease(
            leaseRequest('w-1', { commandTypes: ['shipOrder', 'chargePayment'] }),
          );
          expect(idsOf(taken).sort()).toEqual(['charge', 'ship']);
          expect((await queue.get('mail'))?.status).toBe(CommandStatus.Pending);
        },
      );

      itOnAFreshQueue(
        'takes only commands available at now: availableAt at or before it',
        async (queue) => {
          await queue.apply(
            [
              dispatched(queuedCommand('past', { availableAt: '2030-01-01T09:59:59.999Z' })),
              dispatched(queuedCommand('now', { availableAt: '2030-01-01T11:00:00+01:00' })), // = NOW
              dispatched(queuedCommand('soon', { availableAt: '2030-01-01T10:00:00.001Z' })),
            ],
            position(1n),
          );
          expect(idsOf(await queue.lease(leaseRequest('w-1'))).sort()).toEqual(['now', 'past']);
          expect((await queue.get('soon'))?.status).toBe(CommandStatus.Pending);
          expect(idsOf(await queue.lease(leaseRequest('w-1', { now: later(1) })))).toEqual([
            'soon',
          ]);
        },
      );

      itOnAFreshQueue(
        'takes the oldest dispatch first (by instant, then revision, then id), at most max',
        async (queue) => {
          // Each available `secondsBefore` NOW: in the reverse order of dispatch.
          const at = (dispatchedAt: string, dispatchedRevision: number, secondsBefore: number) => ({
            dispatchedAt,
            dispatchedRevision,
            instanceId: `o-${dispatchedAt}`,
            availableAt: later(-1000 * secondsBefore).toISOString(),
          });
          const tie = '2030-01-01T09:00:01.000Z';
          const inOrder = [
            queuedCommand('z-first', at('2030-01-01T09:00:00Z', 2, 1)),
            queuedCommand('y-offset', at('2030-01-01T10:00:00.250+01:00', 2, 2)), // 09:00:00.250Z
            // After 'y-offset' as an instant, though before it as text; leased first, alone, in a
            // lease that has expired by NOW.
            queuedCommand('x-late', at('2030-01-01T09:00:00.500Z', 2, LEASE_MS / 1000)),
            queuedCommand('tie-rev-1', at(tie, 1, 4)),
            queuedCommand('tie-B', at(tie, 4, 5)),
            queuedCommand('tie-a', at(tie, 4, 6)),
            queuedCommand('tie-\u{1F600}', at(tie, 4, 7)),
            queuedCommand('last', at('2030-01-01T09:00:02.000Z', 0, 8)),
          ];
          const early = later(-LEASE_MS);
          const scrambled = [5, 2, 7, 0, 6, 3, 1, 4].map((i) => inOrder[i]!);
          await queue.apply(scrambled.map(dispatched), position(1n));
          expect(idsOf(await queue.lease(leaseRequest('w-0', { now: early })))).toEqual(['x-late']);
          const first = await queue.lease(leaseRequest('w-1', { max: 3 }));
          expect(first).toStrictEqual([
            leasedBy(inOrder[0]!, 'w-1'),
            leasedBy(inOrder[1]!, 'w-1'),
            leasedBy({ ...inOrder[2]!, attempts: 1 }, 'w-1'),
          ]);
          const rest = await queue.lease(leaseRequest('w-2', { max: 100 }));
          expect(idsOf(rest)).toEqual(idsOf(inOrder.slice(3)));
          expect(await queue.counts()).toStrictEqual({ ...NO_COUNTS, leased: 8 });
        },
      );

      itOnAFreshQueue(
        'leases each command to its owner until now + leaseMs, one attempt more, returned as stored',
        async (queue) => {
          const command = queuedCommand('c-1', { attempts: 2, lastError: 'timeout' });
          await queue.apply([dispatched(command)], position(1n));
          const [leased, ...more] = await queue.lease(leaseRequest('w-1', { leaseMs: 1500 }));
          expect(more).toEqual([]);
          expect(leased).toStrictEqual({
            ...command,
            status: CommandStatus.Leased,
            attempts: 3,
            leaseOwner: 'w-1',
            leaseUntil: '2030-01-01T10:00:01.500Z',
          });
          expect(await queue.get('c-1')).toStrictEqual(leased);
          expect(await queue.counts()).toStrictEqual({ ...NO_COUNTS, leased: 1 });
          expect(await queue.checkpoint()).toStrictEqual(position(1n));
        },
      );

      itOnAFreshQueue(
        'never takes an unexpired lease again, not even for its owner; takes an expired one, one attempt more',
        async (queue) => {
          await queue.apply([dispatched(queuedCommand('c-1'))], position(1n));
          expect(idsOf(await queue.lease(leaseRequest('w-1')))).toEqual(['c-1']);
          const justBefore = later(LEASE_MS - 1);
          expect(await queue.lease(leaseRequest('w-2', { now: justBefore }))).toEqual([]);
          expect(await queue.lease(leaseRequest('w-1', { now: justBefore }))).toEqual([]);
          expect(await queue.get('c-1')).toStrictEqual(leasedBy(queuedCommand('c-1'), 'w-1'));
          // At leaseUntil the lease has expired.
          const expiry = later(LEASE_MS);
          const [again] = await queue.lease(leaseRequest('w-2', { now: expiry }));
          expect(again).toStrictEqual({
            ...leasedBy(queuedCommand('c-1'), 'w-2', expiry),
            attempts: 2,
          });
          expect(await queue.holds('c-1', 'w-1', expiry)).toBe(false);
          expect(await queue.holds('c-1', 'w-2', expiry)).toBe(true);
          const third = later(2 * LEASE_MS + 5);
          expect((await queue.lease(leaseRequest('w-1', { now: third })))[0]?.attempts).toBe(3);
        },
      );

      itOnAFreshQueue('never takes a completed, resolved or incident command', async (queue) => {
        await queue.apply(
          ['done', 'fixed', 'broken', 'lost', 'open'].map((id) => dispatched(queuedCommand(id))),
          position(1n),
        );
        await queue.lease(leaseRequest('w-1', { max: 1 })); // 'broken' by id
        await queue.apply(
          [completed('done'), incident('fixed'), resolved('fixed'), incident('broken')],
          position(2n),
        );
        await queue.apply([incident('lost')], position(3n));
        const far = new Date('2100-01-01T00:00:00.000Z');
        expect(idsOf(await queue.lease(leaseRequest('w-2', { now: far })))).toEqual(['open']);
        expect(await queue.lease(leaseRequest('w-2', { now: later(1, far) }))).toEqual([]);
        expect(await queue.counts()).toStrictEqual({
          ...NO_COUNTS,
          leased: 1,
          completed: 1,
          resolved: 1,
          incident: 2,
        });
      });

      itOnAFreshQueue('never gives one command to two concurrent leases', async (queue) => {
        const ids = Array.from({ length: 12 }, (_, i) => `c-${String(i).padStart(2, '0')}`);
        await queue.apply(
          ids.map((id) => dispatched(queuedCommand(id))),
          position(1n),
        );
        const owners = ['w-1', 'w-2', 'w-3'];
        const leases = await Promise.all(
          owners.map((owner) => queue.lease(leaseRequest(owner, { max: 4 }))),
        );
        const taken = leases.flatMap(idsOf);
        expect(new Set(taken).size).toBe(taken.length);
        expect(taken.sort()).toEqual(ids);
        for (const [i, owner] of owners.entries())
          for (const command of leases[i]!) {
            expect(command.leaseOwner).toBe(owner);
            expect(await queue.holds(command.commandId, owner, NOW)).toBe(true);
          }
      });
    });

    describe('release and holds', () => {
      itOnAFreshQueue(
        'release by the owner: pending at availableAt with the error, lease ended, attempts kept',
        async (queue) => {
          await queue.apply([dispatched(queuedCommand('c-1'))], position(1n));
          await queue.lease(leaseRequest('w-1'));
          const availableAt = later(10_000);
          expect(await queue.release('c-1', 'w-1', availableAt, 'gateway timeout')).toBe(true);
          const released = queuedCommand('c-1', {
            attempts: 1,
            availableAt: '2030-01-01T10:00:10.000Z',
            lastError: 'gateway timeout',
          });
          expect(await queue.get('c-1')).toStrictEqual(released);
          expect(await queue.holds('c-1', 'w-1', NOW)).toBe(false);
          expect(await queue.release('c-1', 'w-1', availableAt, 'again')).toBe(false);
          expect(await queue.lease(leaseRequest('w-2', { now: later(9_999) }))).toEqual([]);
          expect(await queue.lease(leaseRequest('w-2', { now: availableAt }))).toStrictEqual([
            leasedBy(released, 'w-2', availableAt),
          ]);
        },
      );

      itOnAFreshQueue(
        'release by anyone but the owner, or of a command not leased, is false and changes nothing',
        async (queue) => {
          await queue.apply(
            ['a', 'b', 'pending', 'done'].map((id) => dispatched(queuedCommand(id))),
            position(1n),
          );
          await queue.lease(leaseRequest('w-1', { max: 2 })); // 'a' and 'b'
          await queue.apply([completed('done')], position(2n));
          const before = await Promise.all(
            ['a', 'b', 'pending', 'done'].map((id) => queue.get(id)),
          );
          const soon = later(1000);
          expect(await queue.release('a', 'w-2', soon, 'not mine')).toBe(false);
          expect(await queue.release('pending', 'w-1', soon, 'not leased')).toBe(false);
          expect(await queue.release('done', 'w-1', soon, 'settled')).toBe(false);
          expect(await queue.release('unknown', 'w-1', soon, 'unknown')).toBe(false);
          expect(
            await Promise.all(['a', 'b', 'pending', 'done'].map((id) => queue.get(id))),
          ).toStrictEqual(before);
          // Once another worker has taken the expired lease, the first cannot give it back.
          const expiry = later(LEASE_MS);
          await queue.lease(leaseRequest('w-2', { now: expiry, max: 1 })); // 'a'
          expect(await queue.release('a', 'w-1', soon, 'too late')).toBe(false);
          expect((await queue.get('a'))?.leaseOwner).toBe('w-2');
          expect(await queue.release('a', 'w-2', soon, 'mine')).toBe(true);
          // An expired lease no one has taken yet is still its owner's to give back.
          expect(await queue.release('b', 'w-1', soon, 'late but mine')).toBe(true);
          expect((await queue.get('b'))?.lastError).toBe('late but mine');
        },
      );

      itOnAFreshQueue(
        'holds: only for the owner, only before leaseUntil, only while leased',
        async (queue) => {
          await queue.apply(
            ['a', 'b'].map((id) => dispatched(queuedCommand(id))),
            position(1n),
          );
          expect(await queue.holds('a', 'w-1', NOW)).toBe(false);
          await queue.lease(leaseRequest('w-1'));
          expect(await queue.holds('a', 'w-1', NOW)).toBe(true);
          expect(await queue.holds('a', 'w-1', later(LEASE_MS - 1))).toBe(true);
          expect(await queue.holds('a', 'w-1', later(LEASE_MS))).toBe(false);
          expect(await queue.holds('a', 'w-2', NOW)).toBe(false);
          expect(await queue.holds('unknown', 'w-1', NOW)).toBe(false);
          await queue.apply([completed('a')], position(2n));
          expect(await queue.holds('a', 'w-1', NOW)).toBe(false);
          await queue.release('b', 'w-1', NOW, 'failed');
          expect(await queue.holds('b', 'w-1', NOW)).toBe(false);
        },
      );
    });

    describe('list and counts', () => {
      itOnAFreshQueue('list: each filter narrows the result, and they combine', async (queue) => {
        const at = (second: number) => `2030-01-01T09:00:0${second}.000Z`;
        await queue.apply(
          [
            dispatched(queuedCommand('l-1', { dispatchedAt: at(1) })),
            dispatched(queuedCommand('l-2', { dispatchedAt: at(2), instanceId: 'o-2' })),
            dispatched(
              queuedCommand('l-3', {
                dispatchedAt: at(3),
                workflow: 'kycOnboarding',
                instanceId: 'k-1',
              }),
            ),
            dispatched(queuedCommand('l-4', { dispatchedAt: at(0), commandType: 'shipOrder' })),
            dispatched(
              queuedCommand('l-5', {
                dispatchedAt: at(4),
                workflow: 'kycOnboarding',
                instanceId: 'k-1',
                commandType: 'verifyDocuments',
              }),
            ),
            completed('l-1'),
            incident('l-5'),
          ],
          position(1n),
        );
        await queue.lease(leaseRequest('w-1', { commandTypes: ['shipOrder'] }));
        const listed = async (query: Omit<CommandQuery, 'limit'>) =>
          idsOf((await queue.list({ ...query, limit: 10 })).commands);
        expect(await listed({})).toEqual(['l-4', 'l-1', 'l-2', 'l-3', 'l-5']);
        expect(await listed({ status: CommandStatus.Pending })).toEqual(['l-2', 'l-3']);
        expect(await listed({ status: CommandStatus.Leased })).toEqual(['l-4']);
        expect(await listed({ status: CommandStatus.Incident })).toEqual(['l-5']);
        expect(await listed({ status: CommandStatus.Resolved })).toEqual([]);
        expect(await listed({ commandType: 'chargePayment' })).toEqual(['l-1', 'l-2', 'l-3']);
        expect(await listed({ workflow: 'kycOnboarding' })).toEqual(['l-3', 'l-5']);
        expect(await listed({ instanceId: 'o-1' })).toEqual(['l-4', 'l-1']);
        expect(
          await listed({
            workflow: 'kycOnboarding',
            instanceId: 'k-1',
            commandType: 'chargePayment',
            status: CommandStatus.Pending,
          }),
        ).toEqual(['l-3']);
      });

      itOnAFreshQueue(
        'list: incidentId finds the command of an incident, open or closed, unless a later incident replaced it',
        async (queue) => {
          const ids = ['open', 'resolved', 'retried', 'completed', 'replaced', 'plain'];
          await queue.apply(
            ids.map((id) => dispatched(queuedCommand(id, { dispatchedRevision: ids.indexOf(id) }))),
            position(1n),
          );
          await queue.apply(
            [
              incident('open', 'inc-open'),
              incident('resolved', 'inc-resolved'),
              incident('retried', 'inc-retried'),
              incident('completed', 'inc-completed'),
              incident('replaced', 'inc-first'),
              incident('replaced', 'inc-second'),
            ],
            position(2n),
          );
          await queue.apply(
            [resolved('resolved'), retried('retried', NOW.toISOString()), completed('completed')],
            position(3n),
          );
          const listed = async (query: Omit<CommandQuery, 'limit'>) =>
            idsOf((await queue.list({ ...query, limit: 10 })).commands);
          expect(await listed({ incidentId: 'inc-open' })).toEqual(['open']);
          expect(await listed({ incidentId: 'inc-resolved' })).toEqual(['resolved']);
          expect(await listed({ incidentId: 'inc-completed' })).toEqual(['completed']);
          expect(await listed({ incidentId: 'inc-retried' })).toEqual(['retried']);
          expect(await listed({ incidentId: 'inc-first' })).toEqual([]);
          expect(await listed({ incidentId: 'inc-second' })).toEqual(['replaced']);
          expect(await listed({ incidentId: 'unknown' })).toEqual([]);
          // It combines with the other filters.
          expect(await listed({ incidentId: 'inc-open', status: CommandStatus.Incident })).toEqual([
            'open',
          ]);
          expect(
            await listed({ incidentId: 'inc-resolved', status: CommandStatus.Incident }),
          ).toEqual([]);
          expect(
            await listed({ incidentId: 'inc-retried', status: CommandStatus.Pending }),
          ).toEqual(['retried']);
          expect(await listed({ incidentId: 'inc-open', workflow: 'kycOnboarding' })).toEqual([]);
          expect(
            await listed({
              incidentId: 'inc-open',
              workflow: 'orderFulfillment',
              instanceId: 'o-1',
            }),
          ).toEqual(['open']);
          // And it reads the command back exactly.
          expect((await queue.list({ incidentId: 'inc-open', limit: 1 })).commands).toStrictEqual([
            queuedCommand('open', {
              dispatchedRevision: 0,
              status: CommandStatus.Incident,
              incidentId: 'inc-open',
              lastError: 'declined',
            }),
          ]);
        },
      );

      itOnAFreshQueue(
        'list: pages in dispatch order, ids in UTF-8 byte order, with no next on the last page',
        async (queue) => {
          const tie = { dispatchedAt: '2030-01-01T09:00:01.000Z', dispatchedRevision: 3 };
          // Byte order: 'B' < 'a' < 'b' < U+FFFD < U+1F600 (UTF-16 puts U+1F600 before U+FFFD).
          const inOrder = [
            queuedCommand('p-early', { dispatchedAt: '2030-01-01T09:00:00.000Z' }),
            // At the same instant, an earlier revision comes first, though its id sorts last.
            queuedCommand('tie-z', { ...tie, dispatchedRevision: 2 }),
            queuedCommand('tie-B', tie),
            queuedCommand('tie-a', tie),
            queuedCommand('tie-b', tie),
            queuedCommand('tie-\uFFFD', tie),
            queuedCommand('tie-\u{1F600}', tie),
            queuedCommand('p-late', { dispatchedAt: '2030-01-01T09:00:02.000Z' }),
          ];
          const scrambled = [3, 7, 0, 5, 1, 6, 4, 2].map((i) => inOrder[i]!);
          await queue.apply(scrambled.map(dispatched), position(1n));

          expect(await queue.list({ limit: 100 })).toStrictEqual({ commands: inOrder });
          const pagesOfThree = await allPages(queue, { limit: 3 });
          expect(pagesOfThree.map((page) => page.commands.length)).toEqual([3, 3, 2]);
          expect(pagesOfThree.flatMap((page) => page.commands)).toStrictEqual(inOrder);
          expect(pagesOfThree.map((page) => 'next' in page)).toEqual([true, true, false]);
          // Pages that end between revisions, and a last page that is exactly full, with no next.
          const pagesOfTwo = await allPages(queue, { limit: 2 });
          expect(pagesOfTwo.flatMap((page) => page.commands)).toStrictEqual(inOrder);
          expect(pagesOfTwo.map((page) => 'next' in page)).toEqual([true, true, true, false]);
          expect(await allPages(queue, { limit: 8 })).toStrictEqual([{ commands: inOrder }]);

          await queue.apply([completed('tie-a'), completed('p-late')], position(2n));
          const pendingPages = await allPages(queue, { status: CommandStatus.Pending, limit: 2 });
          expect(idsOf(pendingPages.flatMap((page) => page.commands))).toEqual(
            idsOf(inOrder).filter((id) => id !== 'tie-a' && id !== 'p-late'),
          );
          expect(pendingPages.map((page) => page.commands.length)).toEqual([2, 2, 2]);
        },
      );

      itOnAFreshQueue(
        'list: rejects an `after` that is not a `next` it gave, as MALFORMED_REQUEST',
        async (queue) => {
          for (const after of ['not a cursor', '12/abc', ''])
            expect(
              hasErrorCode(
                await rejectionOf(queue.list({ after, limit: 10 })),
                ErrorCode.MalformedRequest,
              ),
              after,
            ).toBe(true);
        },
      );

      itOnAFreshQueue('counts the commands in each status, zeros included', async (queue) => {
        await queue.apply(
          ['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6', 'c-7'].map((id) =>
            dispatched(queuedCommand(id)),
          ),
          position(1n),
        );
        await queue.lease(leaseRequest('w-1', { max: 2 })); // c-1, c-2
        await queue.apply(
          [completed('c-3'), incident('c-4'), incident('c-5'), resolved('c-5')],
          position(2n),
        );
        expect(await queue.counts()).toStrictEqual({
          ...NO_COUNTS,
          pending: 2,
          leased: 2,
          completed: 1,
          incident: 1,
          resolved: 1,
        });
        await queue.release('c-1', 'w-1', NOW, 'failed');
        await queue.apply([retried('c-4', NOW.toISOString())], position(3n));
        expect(await queue.counts()).toStrictEqual({
          ...NO_COUNTS,
          pending: 4,
          leased: 1,
          completed: 1,
          incident: 0,
          resolved: 1,
        });
      });
    });

    describe('clear and storage', () => {
      itOnAFreshQueue(
        'clear removes every command and the checkpoint, and the queue fills again after it',
        async (queue) => {
          await queue.apply(
            [dispatched(queuedCommand('a')), dispatched(queuedCommand('b')), completed('b')],
            position(4n),
          );
          await queue.lease(leaseRequest('w-1'));
          await queue.clear();
          expect(await queue.checkpoint()).toBeUndefined();
          expect(await queue.get('a')).toBeUndefined();
          expect(await queue.get('b')).toBeUndefined();
          expect(await queue.holds('a', 'w-1', NOW)).toBe(false);
          expect(await queue.list({ limit: 10 })).toStrictEqual({ commands: [] });
          expect(await queue.counts()).toStrictEqual(NO_COUNTS);

          const again = queuedCommand('a', { dispatchedRevision: 8 });
          await queue.apply([dispatched(again)], position(1n));
          expect(await queue.get('a')).toStrictEqual(again);
          expect(await queue.checkpoint()).toStrictEqual(position(1n));
          expect(await queue.lease(leaseRequest('w-1'))).toStrictEqual([leasedBy(again, 'w-1')]);
        },
      );

      if (capabilities.durable)
        itOnAFreshQueue(
          'a second queue on the same storage sees what the first applied and leased, and leases with it',
          async (first, subject) => {
            if (!subject.reopen)
              throw new Error(`${adapter} is declared durable: its factory must give reopen()`);
            const ids = Array.from({ length: 8 }, (_, i) => `c-${i}`);
            await first.apply(
              ids.map((id) => dispatched(queuedCommand(id))),
              position(4n),
            );
            const [leased] = await first.lease(leaseRequest('w-1', { max: 1 }));
            const reopened = await subject.reopen();
            try {
              const second = reopened.queue;
              expect(await second.get('c-0')).toStrictEqual(leased);
              expect(await second.holds('c-0', 'w-1', NOW)).toBe(true);
              expect(await second.checkpoint()).toStrictEqual(position(4n));
              // Two workers on two queues, at once: never one command twice.
              const [a, b] = await Promise.all([
                first.lease(leaseRequest('w-2', { max: 4 })),
                second.lease(leaseRequest('w-3', { max: 4 })),
              ]);
              const taken = [...idsOf(a), ...idsOf(b)];
              expect(new Set(taken).size).toBe(taken.length);
              expect(taken.sort()).toEqual(ids.slice(1));
              await second.apply([completed('c-0')], position(5n));
              expect((await first.get('c-0'))?.status).toBe(CommandStatus.Completed);
              expect(await first.checkpoint()).toStrictEqual(position(5n));
              await second.clear();
              expect(await first.counts()).toStrictEqual(NO_COUNTS);
              expect(await first.checkpoint()).toBeUndefined();
            } finally {
              await reopened.close();
            }
          },
        );
      else
        itOnAFreshQueue(
          'keeps its commands to itself (declared not durable): another queue starts empty',
          async (queue) => {
            await queue.apply([dispatched(queuedCommand('a'))], position(1n));
            const other = await create();
            try {
              expect(await other.queue.get('a')).toBeUndefined();
              expect(await other.queue.checkpoint()).toBeUndefined();
              expect(await other.queue.lease(leaseRequest('w-1'))).toEqual([]);
              expect(other.reopen).toBeUndefined();
            } finally {
              await other.dispose();
            }
          },
        );
    });
  });
}
