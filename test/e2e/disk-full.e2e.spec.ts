import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, startApp } from '../support/app-process';
import { anOrder } from '../support/engine-fixture';
import { httpClient, HttpResponse } from '../support/http-client';
import { mountSmallFilesystem, SmallFilesystem } from '../support/small-filesystem';
import { uniqueCategory } from '../support/unique';

// The built api with its data directory on a real, size-limited file system (a 32 MiB tmpfs)
// that the test fills up: the kernel answers ENOSPC to SQLite, as on a production disk.

const mounted = mountSmallFilesystem(32);
const filesystem: SmallFilesystem | undefined =
  'filesystem' in mounted ? mounted.filesystem : undefined;
if (!filesystem)
  process.stdout.write(
    `disk-full e2e: SKIPPED, no size-limited file system can be mounted here (${'unavailable' in mounted ? mounted.unavailable : ''})\n`,
  );

type History = { events: { revision: number; type: string }[] };

function expectUnavailable(response: HttpResponse, what: string) {
  expect(response.status, `${what}: ${JSON.stringify(response.body)}`).toBe(503);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({
    status: 503,
    code: 'STORE_UNAVAILABLE',
    type: 'urn:esflow:problem:store-unavailable',
    detail: expect.stringMatching(/full/),
  });
}

describe.skipIf(!filesystem)('a full disk under the built api (a real tmpfs)', () => {
  const fs = filesystem!;
  let api: AppProcess;
  let http: ReturnType<typeof httpClient>;

  beforeAll(async () => {
    api = await startApp('api', { dataDir: fs.dir });
    http = httpClient(api.baseUrl);
  });
  afterAll(async () => {
    await api?.dispose();
    fs.unmount();
  });

  const start = (id: string) =>
    http.post('/workflows/orderFulfillment', { input: anOrder(id) }, { 'Idempotency-Key': id });
  const pay = (id: string) =>
    http.post(
      `/workflows/orderFulfillment/${id}/events`,
      { type: 'PaymentReceived', payload: { paymentId: `pay-${id}`, amountCents: 4999 } },
      { 'If-Match': '"1"', 'Idempotency-Key': `pay-${id}` },
    );
  const history = async (id: string) => {
    const read = await http.get<History>(`/workflows/orderFulfillment/${id}/history`);
    return read.status === 200 ? read.body.events.map((e) => `${e.revision}:${e.type}`) : [];
  };

  it('answers 503 STORE_UNAVAILABLE while the disk is full, writes nothing, and serves again once space returns', async () => {
    const prefix = uniqueCategory('full');
    const placed = `${prefix}-placed`;
    expect((await start(placed)).status).toBe(201);

    expect(fs.fill()).toBeGreaterThan(0);
    const late = `${prefix}-late`;
    const refused = await start(late);
    expectUnavailable(refused, 'a start');
    expectUnavailable(await pay(placed), 'an event');
    // Requests arriving together share a commit: every one of them fails, none is written.
    const burst = Array.from({ length: 6 }, (_, i) => `${prefix}-burst-${i}`);
    for (const [i, answer] of (await Promise.all(burst.map(start))).entries())
      expectUnavailable(answer, burst[i]!);

    // Nothing half-written, and reads keep answering.
    const instance = await http.get(`/workflows/orderFulfillment/${placed}`);
    expect(instance.status).toBe(200);
    expect(instance.body).toMatchObject({ state: 'awaitingPayment', revision: 1 });
    expect(await history(placed)).toEqual(['0:OrderPlaced', '1:TimerScheduled']);
    expect((await http.get(`/workflows/orderFulfillment/${late}`)).status).toBe(404);
    for (const id of burst) expect(await history(id), id).toEqual([]);

    // Space returns: the same requests (same keys, same If-Match) now succeed, without a restart.
    fs.free();
    const started = await start(late);
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.headers.get('idempotent-replayed')).toBeNull();
    const paid = await pay(placed);
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ state: 'fetchingGoods', revision: 3 });
    for (const answer of await Promise.all(burst.map(start))) expect(answer.status).toBe(201);

    // What is on disk is what the clients were told, also for a process that reads it afresh.
    await api.kill('SIGKILL');
    await api.restart();
    expect(await history(placed)).toEqual([
      '0:OrderPlaced',
      '1:TimerScheduled',
      '2:PaymentReceived',
      '3:TimerCancelled',
    ]);
    expect(await history(late)).toEqual(['0:OrderPlaced', '1:TimerScheduled']);
    for (const id of burst)
      expect(await history(id), id).toEqual(['0:OrderPlaced', '1:TimerScheduled']);
    const fetched = await http.post(`/workflows/orderFulfillment/${placed}/events`, {
      type: 'GoodsFetched',
      payload: { warehouseId: 'wh-1' },
    });
    expect(fetched.body).toMatchObject({ state: 'shipping', revision: 4 });
    process.stdout.write(
      `disk-full e2e: on a real 32 MiB tmpfs filled to ENOSPC, ${burst.length + 2} requests answered 503 STORE_UNAVAILABLE ("${String(refused.body['detail'])}"), none written; all succeeded once space returned\n`,
    );
  });
});
