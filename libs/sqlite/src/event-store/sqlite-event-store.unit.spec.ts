import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExpectedRevision } from '@esflow/core';
import { createSqliteEventStore } from './sqlite-event-store';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-sqlite-unit-'));
  dirs.push(dir);
  return join(dir, 'events.sqlite');
};
const event = () => ({ eventId: randomUUID(), type: 'T', data: new Uint8Array([1]), metadata: {} });

describe('SQLite event store', () => {
  it('commits appends issued together in one transaction (group commit)', async () => {
    const store = createSqliteEventStore({ filename: tempFile() });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.append(`s-${i}`, [event()], { expectedRevision: ExpectedRevision.NoStream }),
      ),
    );
    expect(store.stats()).toEqual({ commits: 1, appends: 40, events: 40 });
    await store.append('s-x', [event()], { expectedRevision: ExpectedRevision.NoStream });
    expect(store.stats().commits).toBe(2);
    await store.close();
  });

  it('keeps a conflicting append in a batch from undoing the others', async () => {
    const store = createSqliteEventStore({ filename: tempFile() });
    const results = await Promise.allSettled([
      store.append('a', [event()], { expectedRevision: ExpectedRevision.NoStream }),
      store.append('a', [event()], { expectedRevision: ExpectedRevision.NoStream }),
      store.append('b', [event(), event()], { expectedRevision: ExpectedRevision.NoStream }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await store.readStream('b')).toHaveLength(2);
    await store.close();
  });

  it('is durable across reopening and shared by two connections (processes)', async () => {
    const filename = tempFile();
    const writer = createSqliteEventStore({ filename });
    const reader = createSqliteEventStore({ filename, pollIntervalMs: 10 });
    const subscription = reader.subscribeToAll();
    const seen: string[] = [];
    const consuming = (async () => {
      for await (const recorded of subscription) {
        seen.push(recorded.eventId);
        if (seen.length === 3) await subscription.close();
      }
    })();
    const written = [event(), event(), event()];
    for (const e of written)
      await writer.append('shared', [e], { expectedRevision: ExpectedRevision.Any });
    await consuming;
    expect(seen).toEqual(written.map((e) => e.eventId));
    await writer.close();
    await reader.close();
    const reopened = createSqliteEventStore({ filename });
    expect((await reopened.readStream('shared')).map((e) => e.eventId)).toEqual(seen);
    await reopened.close();
  });
});
