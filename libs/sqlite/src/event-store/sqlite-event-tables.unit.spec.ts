import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExpectedRevision, RecordedEvent } from '@esflow/core';
import type { VersionOneRow } from './event-tables-migration';
import { createSqliteEventStore } from './sqlite-event-store';

// The store's compact tables (schema 2) seen from outside: what goes in comes out exactly, from
// every read, across connections, and a schema-1 file is brought over without losing anything.

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-sqlite-tables-'));
  dirs.push(dir);
  return join(dir, 'events.sqlite');
};

const richMetadata = (eventId: string, state: unknown) => ({
  eventId,
  category: 'workflow',
  instanceId: 'order-7',
  correlationId: randomUUID(),
  causationId: eventId,
  stateAfter: state,
  occurredAt: new Date(Date.now() - 1234).toISOString(),
  requestFingerprint: 'a3'.repeat(32),
  ratio: 0.25,
  big: 2 ** 53 + 2,
  tags: ['x', { y: null }],
  nested: { when: '2026-01-01T00:00:00.000Z', upper: randomUUID().toUpperCase(), ok: true },
  empty: {},
});

/** What a reader sees of an event, as plain data. */
const seen = (event: RecordedEvent) => ({
  streamName: event.streamName,
  revision: event.revision,
  position: event.position.commit,
  eventId: event.eventId,
  type: event.type,
  data: [...event.data],
  metadata: JSON.stringify(event.metadata),
  recordedAt: event.recordedAt.getTime(),
});

describe('SQLite event store tables', () => {
  it('gives back every event id, type, payload and metadata exactly, from every read', async () => {
    const store = createSqliteEventStore({ filename: tempFile() });
    const ids = [randomUUID(), randomUUID().toUpperCase(), 'order-7:start', 'é'];
    const events = ids.map((eventId, i) => ({
      eventId,
      type: i % 2 ? 'Paid' : 'Placed',
      data: new Uint8Array([i, 0, 255, i]),
      metadata: richMetadata(eventId, i === 3 ? { parallel: { a: 'x', b: 'y' } } : `s${i}`),
    }));
    await store.append('order-7', events.slice(0, 2), {
      expectedRevision: ExpectedRevision.NoStream,
    });
    await store.append('order-7', events.slice(2), { expectedRevision: 1 });
    const forwards = await store.readStream('order-7');
    expect(forwards.map((e) => e.eventId)).toEqual(ids);
    forwards.forEach((recorded, i) => {
      expect(recorded.type).toBe(events[i]!.type);
      expect([...recorded.data]).toEqual([...events[i]!.data]);
      expect(JSON.stringify(recorded.metadata)).toBe(JSON.stringify(events[i]!.metadata));
    });
    expect((await store.readStream('order-7', { direction: 'backwards' })).map(seen)).toEqual(
      forwards.map(seen).reverse(),
    );
    expect((await store.readAll()).map(seen)).toEqual(forwards.map(seen));
    for (const recorded of forwards)
      expect(await store.findEvent!(recorded.eventId)).toEqual({
        streamName: 'order-7',
        revision: recorded.revision,
        position: recorded.position,
      });
    expect(await store.findEvent!(ids[0]!.toUpperCase())).toBeUndefined();
    // A retried append is recognised by its ids, whatever form they are kept in.
    const retried = await store.append('order-7', events.slice(2), { expectedRevision: 1 });
    expect(retried.deduplicated).toBe(true);
    await store.close();
  });

  it('filters the log by stream prefix and event type, an unknown type matching nothing', async () => {
    const store = createSqliteEventStore({ filename: tempFile() });
    const append = (stream: string, type: string) =>
      store.append(
        stream,
        [{ eventId: randomUUID(), type, data: new Uint8Array([1]), metadata: { type } }],
        { expectedRevision: ExpectedRevision.Any },
      );
    await append('order-1', 'Placed');
    await append('invoice-1', 'Placed');
    await append('order-1', 'Paid');
    const types = async (filter: object) =>
      (await store.readAll({ filter })).map((e) => `${e.streamName}/${e.type}`);
    expect(await types({ streamNamePrefixes: ['order-'] })).toEqual([
      'order-1/Placed',
      'order-1/Paid',
    ]);
    expect(await types({ eventTypes: ['Placed', 'Never'] })).toEqual([
      'order-1/Placed',
      'invoice-1/Placed',
    ]);
    expect(await types({ eventTypes: ['Never'] })).toEqual([]);
    expect(await store.countEvents!({ filter: { eventTypes: ['Never'] } })).toBe(0);
    expect(await store.countEvents!({ filter: { streamNamePrefixes: ['invoice-'] } })).toBe(1);
    // A type first recorded after a filtered read is found by the next one.
    await append('order-2', 'Never');
    expect(await types({ eventTypes: ['Never'] })).toEqual(['order-2/Never']);
    await store.close();
  });

  it('reads what another connection wrote, dictionary entries it has not seen included', async () => {
    const filename = tempFile();
    const first = createSqliteEventStore({ filename });
    const second = createSqliteEventStore({ filename });
    for (let i = 0; i < 6; i++) {
      const writer = i % 2 ? second : first;
      const eventId = randomUUID();
      await writer.append(
        `s-${i % 3}`,
        [
          {
            eventId,
            type: `T${i}`,
            data: new Uint8Array([i]),
            metadata: richMetadata(eventId, `state-${i}`),
          },
        ],
        { expectedRevision: ExpectedRevision.Any },
      );
    }
    const [one, two] = [await first.readAll(), await second.readAll()];
    expect(one.map(seen)).toEqual(two.map(seen));
    expect(one.map((e) => (e.metadata as { stateAfter: string }).stateAfter)).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => `state-${i}`),
    );
    await first.close();
    await second.close();
  });

  it('brings a schema-1 store over with every position, id, payload and metadata value', async () => {
    const filename = tempFile();
    const old = writeVersionOneStore(filename, [
      ['order-1', randomUUID(), 'Placed', { eventId: 'x', stateAfter: 'a', n: 1 }],
      ['order-2', 'not-a-uuid', 'Placed', { eventId: 'y', stateAfter: 'a' }],
      ['order-1', randomUUID(), 'Paid', { eventId: 'z', stateAfter: 'b', list: [1, 2.5] }],
    ]);
    const store = createSqliteEventStore({ filename });
    const migrated = await store.readAll();
    expect(
      migrated.map((e) => [
        Number(e.position.commit),
        e.streamName,
        e.revision,
        e.eventId,
        e.type,
        Buffer.from(e.data).toString('hex'),
        JSON.stringify(e.metadata),
        e.recordedAt.getTime(),
      ]),
    ).toEqual(
      old.map((row) => [
        row.global_position,
        row.stream_name,
        row.stream_revision,
        row.event_id,
        row.event_type,
        row.data.toString('hex'),
        row.metadata,
        row.recorded_at,
      ]),
    );
    // The log goes on after the highest position, and the streams at their revisions.
    const next = await store.append(
      'order-1',
      [{ eventId: randomUUID(), type: 'Shipped', data: new Uint8Array([9]), metadata: {} }],
      { expectedRevision: 1 },
    );
    expect(next.position.commit).toBe(BigInt(old[old.length - 1]!.global_position + 1));
    await store.close();
    const db = new Database(filename, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'events_v1'").get()).toBe(
      undefined,
    );
    db.close();
  });

  it('leaves a schema-1 store as it was when bringing it over fails', () => {
    const filename = tempFile();
    writeVersionOneStore(filename, [['order-1', randomUUID(), 'Placed', { ok: true }]]);
    const db = new Database(filename);
    db.prepare("UPDATE events SET metadata = '{not json'").run();
    db.close();
    expect(() => createSqliteEventStore({ filename })).toThrow(SyntaxError);
    const after = new Database(filename, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(1);
    expect(after.prepare('SELECT metadata FROM events').all()).toEqual([{ metadata: '{not json' }]);
    after.close();
  });
});

/** A store as schema 1 kept it (metadata as JSON text), with positions that have gaps. */
function writeVersionOneStore(
  filename: string,
  events: [stream: string, eventId: string, type: string, metadata: object][],
): VersionOneRow[] {
  const db = new Database(filename);
  db.exec(`
    CREATE TABLE events (
      global_position INTEGER PRIMARY KEY AUTOINCREMENT,
      stream_name     TEXT    NOT NULL,
      stream_revision INTEGER NOT NULL,
      event_id        TEXT    NOT NULL UNIQUE,
      event_type      TEXT    NOT NULL,
      data            BLOB    NOT NULL,
      metadata        TEXT    NOT NULL,
      recorded_at     INTEGER NOT NULL,
      UNIQUE (stream_name, stream_revision)
    );
    PRAGMA user_version = 1;
  `);
  const revisions = new Map<string, number>();
  const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  events.forEach(([stream, eventId, type, metadata], i) => {
    const revision = (revisions.get(stream) ?? -1) + 1;
    revisions.set(stream, revision);
    insert.run(
      (i + 1) * 3,
      stream,
      revision,
      eventId,
      type,
      Buffer.from([i, 7]),
      JSON.stringify(metadata),
      1_700_000_000_000 + i,
    );
  });
  const rows = db.prepare<[], VersionOneRow>('SELECT * FROM events ORDER BY global_position').all();
  db.close();
  return rows;
}
