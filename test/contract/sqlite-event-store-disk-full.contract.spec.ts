import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  EsflowErrorLike,
  EventToAppend,
  ExpectedRevision,
  hasErrorCode,
} from '@esflow/core';
import { createSqliteEventStore, SqliteEventStore } from '@esflow/sqlite';
import { mountSmallFilesystem, SmallFilesystem } from '../support/small-filesystem';

// The SQLite event store on a real, size-limited file system (an 8 MiB tmpfs) that the test
// fills up: the disk is full because the kernel says ENOSPC, as in production.

const mounted = mountSmallFilesystem(8);
const filesystem: SmallFilesystem | undefined =
  'filesystem' in mounted ? mounted.filesystem : undefined;
if (!filesystem)
  process.stdout.write(
    `sqlite disk-full contract: SKIPPED, no size-limited file system can be mounted here (${'unavailable' in mounted ? mounted.unavailable : ''})\n`,
  );

const KiB = 1024;
const event = (bytes = 64): EventToAppend => ({
  eventId: randomUUID(),
  type: 'Happened',
  data: new Uint8Array(bytes).fill(7),
  metadata: { note: 'disk-full contract' },
});
/** More than the whole file system: its commit cannot fit, however much is free. */
const tooLargeForTheDisk = () => Array.from({ length: 400 }, () => event(64 * KiB));
const failureOf = (append: Promise<unknown>) =>
  append.then(
    (result) => ({ unexpectedSuccess: result }),
    (error: unknown) => error,
  );
const expectNotWritten = (error: unknown) => {
  expect(hasErrorCode(error, ErrorCode.StoreUnavailable), String(error)).toBe(true);
  const { retriable, message } = error as EsflowErrorLike;
  expect(retriable).toBe(true);
  expect(message).toMatch(/full/);
};

describe.skipIf(!filesystem)('SQLite event store on a full disk (a real tmpfs)', () => {
  const fs = filesystem!;
  // A database of its own per test: a WAL that earlier tests grew would give later ones room
  // to write in without a new block (correctly: that is space the store already has).
  let filename: string;
  let store: SqliteEventStore;
  const stream = () => `diskFull-${randomUUID()}`;

  beforeEach(() => {
    filename = join(fs.dir, `${randomUUID()}.sqlite`);
    store = createSqliteEventStore({ filename });
  });
  afterEach(async () => {
    fs.free();
    await store.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${filename}${suffix}`, { force: true });
  });
  afterAll(() => fs.unmount());

  it('fails an append with a retriable STORE_UNAVAILABLE and writes nothing of it', async () => {
    const name = stream();
    await store.append(name, [event()], { expectedRevision: ExpectedRevision.NoStream });
    const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
    expect(fs.fill()).toBeGreaterThan(0);

    const batch = [event(32 * KiB), event(32 * KiB), event(32 * KiB)];
    expectNotWritten(await failureOf(store.append(name, batch, { expectedRevision: 0 })));

    // Reads go on, and show nothing of the batch: not in the stream, not in the log.
    expect((await store.readStream(name)).map((e) => e.revision)).toEqual([0]);
    expect(await store.readAll({ after: head!.position })).toEqual([]);
    await store.ping();

    // Space returns: the same batch (same event ids, same expected revision) is appended as new.
    fs.free();
    const retried = await store.append(name, batch, { expectedRevision: 0 });
    expect(retried).toMatchObject({ nextExpectedRevision: 3, deduplicated: false });
    const events = await store.readStream(name);
    expect(events.map((e) => e.revision)).toEqual([0, 1, 2, 3]);
    expect(events.slice(1).map((e) => e.eventId)).toEqual(batch.map((e) => e.eventId));
    const next = await store.append(name, [event()], { expectedRevision: 3 });
    expect(next.nextExpectedRevision).toBe(4);
  });

  it('fails every append of a group commit, and commits none of them on its own', async () => {
    await store.append(stream(), [event()], { expectedRevision: ExpectedRevision.NoStream });
    const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
    // Room left for the small appends, not for the large one between them: SQLite rolls the
    // whole transaction back when a write mid-way fails, and the appends after it must not then
    // be committed one by one outside the batch.
    fs.fill(512 * KiB);
    const small = [stream(), stream()];
    const outcomes = await Promise.all([
      failureOf(
        store.append(small[0]!, [event()], { expectedRevision: ExpectedRevision.NoStream }),
      ),
      failureOf(
        store.append(stream(), tooLargeForTheDisk(), {
          expectedRevision: ExpectedRevision.NoStream,
        }),
      ),
      failureOf(
        store.append(small[1]!, [event()], { expectedRevision: ExpectedRevision.NoStream }),
      ),
    ]);
    expect(
      (await store.readAll({ after: head!.position })).map((e) => e.streamName),
      'written although rejected',
    ).toEqual([]);
    outcomes.forEach(expectNotWritten);

    // Each retriable append succeeds once retried with room on the disk.
    fs.free();
    for (const name of small) {
      const retried = await store.append(name, [event()], {
        expectedRevision: ExpectedRevision.NoStream,
      });
      expect(retried.nextExpectedRevision).toBe(0);
    }
    expect(await store.readAll({ after: head!.position })).toHaveLength(2);
  });

  it('fails a commit the disk cannot take even when it has room for part of it', async () => {
    // The disk has room, but not for the large append. The small one shares its commit, is
    // rejected with it, and is not written either: a commit is written whole or not at all.
    const name = stream();
    const outcomes = await Promise.all([
      failureOf(store.append(name, [event()], { expectedRevision: ExpectedRevision.NoStream })),
      failureOf(
        store.append(stream(), tooLargeForTheDisk(), {
          expectedRevision: ExpectedRevision.NoStream,
        }),
      ),
    ]);
    expect(await store.readStream(name), 'written although rejected').toEqual([]);
    outcomes.forEach(expectNotWritten);
    expect(
      (await store.append(name, [event()], { expectedRevision: ExpectedRevision.NoStream }))
        .nextExpectedRevision,
    ).toBe(0);
  });

  it('leaves a database that reopens intact, with contiguous revisions in every stream', async () => {
    const name = stream();
    await store.append(name, [event()], { expectedRevision: ExpectedRevision.NoStream });
    fs.fill();
    for (let attempt = 0; attempt < 3; attempt++)
      expectNotWritten(
        await failureOf(store.append(name, [event(16 * KiB)], { expectedRevision: 0 })),
      );
    await store.close();

    // Reopened while the disk is still full, as a restarted process would.
    store = createSqliteEventStore({ filename });
    expect((await store.readStream(name)).map((e) => e.revision)).toEqual([0]);
    fs.free();
    const check = new Database(filename, { readonly: true });
    try {
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      check.close();
    }
    const byStream = new Map<string, number[]>();
    for (const e of await store.readAll())
      byStream.set(e.streamName, [...(byStream.get(e.streamName) ?? []), e.revision]);
    for (const [streamName, revisions] of byStream)
      expect(revisions, streamName).toEqual(revisions.map((_, i) => i));
    expect(
      (await store.append(name, [event()], { expectedRevision: 0 })).nextExpectedRevision,
    ).toBe(1);
  });
});
