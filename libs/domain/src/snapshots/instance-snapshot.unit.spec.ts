import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../event-store/memory-event-store';
import { Result } from '../errors/rejection';
import { EventStore } from '../event-store/event-store.port';
import { createMemorySnapshotStore, SnapshotStore } from './snapshot-store.port';
import { createTestEngine, LOOPING_SCHEMAS } from '../../../../test/support/engine-fixture';
import { loopingWorkflow } from '../../../../test/support/looping-workflow';

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

async function engineOn(
  store: EventStore,
  snapshots?: SnapshotStore,
  options: { every?: number; rememberRequests?: number; extraState?: boolean } = {},
) {
  const { engine } = await createTestEngine({
    store,
    definitions: [loopingWorkflow({ extraState: options.extraState })],
    schemas: LOOPING_SCHEMAS,
    ...(snapshots
      ? {
          snapshots: {
            store: snapshots,
            policy: {
              every: options.every ?? 50,
              rememberRequests: options.rememberRequests ?? 100,
            },
          },
        }
      : {}),
  });
  return engine;
}

const retry = (key: string) => ({
  workflow: 'looping',
  id: 'l-1',
  type: 'Retry',
  payload: {},
  idempotencyKey: key,
});

async function longInstance(
  requests: number,
  options: { every?: number; rememberRequests?: number } = {},
) {
  const store = createMemoryEventStore();
  const snapshots = createMemorySnapshotStore();
  const writer = await engineOn(store, snapshots, options);
  valueOf(await writer.startWorkflow.handle({ workflow: 'looping', id: 'l-1', input: {} }));
  for (let i = 0; i < requests; i++) valueOf(await writer.sendEvent.handle(retry(`r-${i}`)));
  // Snapshot writes are not awaited by the engine; let them land.
  await new Promise((resolve) => setImmediate(resolve));
  return { store, snapshots, writer };
}

describe('instance snapshots', () => {
  it('loads a long instance from its latest snapshot to the same state a full replay reaches', async () => {
    const { store, snapshots, writer } = await longInstance(120);
    expect(writer.snapshotStats().written).toBeGreaterThan(0);
    const stored = await snapshots.read('looping-l-1');
    expect(stored!.revision).toBeGreaterThan(300);

    const fromSnapshot = await engineOn(store, snapshots);
    const replayed = await engineOn(store);
    const viaSnapshot = valueOf(await fromSnapshot.queries.get('looping', 'l-1'));
    const viaReplay = valueOf(await replayed.queries.get('looping', 'l-1'));
    expect(fromSnapshot.snapshotStats().restored).toBe(1);
    expect(viaSnapshot).toEqual(viaReplay);
    expect(viaSnapshot).toMatchObject({ state: 'waiting', context: { visits: 121 } });

    // It goes on from there exactly as the replayed one would.
    const next = valueOf(await fromSnapshot.sendEvent.handle(retry('after')));
    expect(next.instance.revision).toBe(viaReplay.revision + 3);
    expect(next.instance.context).toEqual({ visits: 122 });
    expect(next.instance.pendingTimers).toHaveLength(1);
  });

  it('answers a repeat inside or before its window as the first answer did, recording nothing', async () => {
    const { store, snapshots } = await longInstance(120, { rememberRequests: 60 });
    const fresh = await engineOn(store, snapshots, { rememberRequests: 60 });
    const before = (await store.readStream('looping-l-1')).length;
    // r-i was answered at revision 1 + 3 (i + 1): the start's two events, three per Retry.
    const recent = valueOf(await fresh.sendEvent.handle(retry('r-115')));
    expect(recent).toMatchObject({ replayed: true, instance: { revision: 1 + 3 * 116 } });
    const old = valueOf(await fresh.sendEvent.handle(retry('r-3')));
    expect(old).toMatchObject({
      replayed: true,
      instance: { revision: 1 + 3 * 4, context: { visits: 5 } },
    });
    expect((await store.readStream('looping-l-1')).length).toBe(before);
    // The same key for another request is still refused, however old the key.
    const reused = await fresh.sendEvent.handle({ ...retry('r-3'), type: 'Ping' });
    expect(!reused.ok && reused.rejection.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('ignores a snapshot of a machine whose structure changed, and replays instead', async () => {
    const { store, snapshots } = await longInstance(60);
    const changed = await engineOn(store, snapshots, { extraState: true });
    const view = valueOf(await changed.queries.get('looping', 'l-1'));
    expect(changed.snapshotStats()).toMatchObject({ restored: 0, ignored: 1 });
    expect(view.context).toEqual({ visits: 61 });
  });

  it('ignores a snapshot that is not of the stream it is stored for (a store started afresh)', async () => {
    const { snapshots } = await longInstance(60);
    const store = createMemoryEventStore();
    const again = await engineOn(store, snapshots);
    valueOf(await again.startWorkflow.handle({ workflow: 'looping', id: 'l-1', input: {} }));
    const reader = await engineOn(store, snapshots);
    const view = valueOf(await reader.queries.get('looping', 'l-1'));
    expect(reader.snapshotStats()).toMatchObject({ restored: 0, ignored: 1 });
    expect(view).toMatchObject({ revision: 1, context: { visits: 1 } });
  });
});
