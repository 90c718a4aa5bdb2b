import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort, runToExit, startApp } from '../support/app-process';
import { COMPLETED_ORDER_EVENTS } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';
import { readmeBashBlock } from '../support/readme';
import { waitFor } from '../support/wait-for';

/**
 * orderFulfillment v1 and v2 side by side in the built api and projector, as the README's
 * "orderFulfillment v2" section runs them: a first release with v1 only
 * (ORDER_FULFILLMENT_VERSIONS=1), a second with both on the same data directory, a third
 * without v1, refused while a v1 order still runs. The README's bash blocks are run as written.
 */
const root = resolve(__dirname, '../..');
const apiEntry = join(root, 'apps/api/dist/main.js');
const dataDir = mkdtempSync(join(tmpdir(), 'esflow-versions-side-by-side-'));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const FIRST_RELEASE = 'The first release: with `npm start` running (v1 only)';
const SECOND_RELEASE = '`ORDER_FULFILLMENT_VERSIONS=1,2 npm start`. In the second terminal again:';

let running: AppProcess[] = [];

/**
 * The built api and projector on the suite's data directory, registering `versions` (what the
 * apps register by default when not given).
 */
async function release(versions?: string): Promise<ReturnType<typeof httpClient>> {
  const env = {
    ESFLOW_PROJECTION_LEASE_MS: '1500',
    ...(versions === undefined ? {} : { ORDER_FULFILLMENT_VERSIONS: versions }),
  };
  running = await Promise.all([
    startApp('api', { dataDir, env }),
    startApp('projector', { dataDir, env }),
  ]);
  return httpClient(running[0]!.baseUrl);
}

async function stop(): Promise<void> {
  await Promise.all(running.map((app) => app.kill('SIGTERM')));
  running = [];
}

/** Runs the README's bash block after `anchor` against the api, and parses the JSON it prints. */
function runReadmeBlock(anchor: string): Record<string, unknown>[] {
  const script = readmeBashBlock(anchor).replaceAll(
    'localhost:3000',
    new URL(running[0]!.baseUrl).host,
  );
  return execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
    encoding: 'utf8',
    timeout: 30_000,
  })
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

type History = { events: { type: string; metadata: { definitionVersion: number } }[] };

afterAll(async () => {
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('orderFulfillment v1 and v2 side by side (the built apps, the README as written)', () => {
  it('the first release (no ORDER_FULFILLMENT_VERSIONS) registers v1 only: its orders start on v1', async () => {
    const http = await release();
    const started = runReadmeBlock(FIRST_RELEASE);
    expect(started).toEqual([
      expect.objectContaining({ id: 'order-2001', version: 1, state: 'awaitingPayment' }),
      expect.objectContaining({ id: 'order-2002', version: 1, state: 'awaitingPayment' }),
    ]);
    // v1 knows no fraud check: its verdict is no event of the workflow.
    const verdict = await http.post('/workflows/orderFulfillment/order-2001/events', {
      type: 'FraudCheckPassed',
      payload: { checkId: 'fc-1' },
    });
    expect(verdict.body).toMatchObject({ code: 'UNKNOWN_EVENT_TYPE' });
    await stop();
  });

  it('the second release starts new orders on v2 while the v1 orders go on, and complete, on v1', async () => {
    const http = await release('1,2');
    const json = runReadmeBlock(SECOND_RELEASE);
    const at = (index: number) => json[index]!;
    expect(at(0)).toMatchObject({ id: 'order-2003', version: 2, state: 'awaitingPayment' });
    expect(at(1)).toMatchObject({ id: 'order-2004', version: 2, state: 'awaitingPayment' });
    // order-2001's payment: no fraud check on v1.
    expect(at(2)).toMatchObject({
      id: 'order-2001',
      version: 1,
      state: 'fetchingGoods',
      revision: 3,
    });
    // On v2 it dispatches CheckFraud; the projector's stand-in fraud check replies.
    expect(at(3)).toMatchObject({
      id: 'order-2003',
      version: 2,
      state: 'checkingFraud',
      revision: 4,
    });
    expect(at(4)).toMatchObject({
      id: 'order-2004',
      version: 2,
      state: 'checkingFraud',
      revision: 4,
    });
    const item = (list: Record<string, unknown>, id: string) =>
      (list['items'] as { id: string }[]).find((entry) => entry.id === id);
    expect(item(at(5), 'order-2003')).toMatchObject({
      version: 2,
      state: 'fetchingGoods',
      revision: 6,
    });
    expect(item(at(6), 'order-2004')).toMatchObject({
      version: 2,
      state: 'cancelled',
      status: 'cancelled',
      revision: 10,
    });
    expect(at(7)).toMatchObject({
      id: 'order-2004',
      version: 2,
      state: 'cancelled',
      context: {
        cancellationReason: 'fraud check failed: amount 150000 is at or above the limit of 100000',
        fraudCheckId: expect.stringMatching(/^fraud-/),
      },
    });
    expect(json.slice(8, 12).map((r) => [r['id'], r['version'], r['state']])).toEqual([
      ['order-2001', 1, 'shipping'],
      ['order-2001', 1, 'completed'],
      ['order-2003', 2, 'shipping'],
      ['order-2003', 2, 'completed'],
    ]);
    expect(at(12)).toHaveProperty('definitionVersions');
    expect(json).toHaveLength(13);

    // Each order's history was recorded on its own version, and v1's has no fraud check.
    const history = async (id: string) =>
      (await http.get<History>(`/workflows/orderFulfillment/${id}/history`)).body.events;
    const v1Events = await history('order-2001');
    expect(v1Events.map((event) => event.type)).toEqual(COMPLETED_ORDER_EVENTS);
    expect(new Set(v1Events.map((event) => event.metadata.definitionVersion))).toEqual(
      new Set([1]),
    );
    const v2Events = await history('order-2003');
    expect(v2Events.map((event) => event.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'PaymentReceived',
      'TimerCancelled',
      'CommandDispatched',
      'FraudCheckPassed',
      'CommandCompleted',
      'GoodsFetched',
      'ShipmentDispatched',
      'WorkflowCompleted',
    ]);
    expect(new Set(v2Events.map((event) => event.metadata.definitionVersion))).toEqual(
      new Set([2]),
    );
    // order-2002 still waits for its payment on v1, beside the v2 orders.
    expect((await http.get('/workflows/orderFulfillment/order-2002')).body).toMatchObject({
      version: 1,
      state: 'awaitingPayment',
      status: 'running',
    });

    // The read model lists both versions in use.
    const versions = await waitFor(
      async () => {
        const stats = await http.get<{ definitionVersions: unknown[] }>('/stats');
        const v1 = { workflow: 'orderFulfillment', version: 1, instances: 2, running: 1 };
        const v2 = { workflow: 'orderFulfillment', version: 2, instances: 2, running: 0 };
        const found = stats.body.definitionVersions;
        return JSON.stringify(found) === JSON.stringify([v1, v2]) && found;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'definition_versions to show v1 and v2' },
    );
    expect(versions).toHaveLength(2);
    await stop();
  });

  it('a release without v1 is refused at start-up while a v1 order still runs, as the README says', async () => {
    const run = runToExit(apiEntry, {
      ESFLOW_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      ORDER_FULFILLMENT_VERSIONS: '2',
    });
    expect(run.status).toBe(1);
    const refusal = run.lines.find((line) => line.startsWith('esflow api: cannot start:'));
    expect(refusal).toBe(
      'esflow api: cannot start: orderFulfillment v1 is no longer registered but 1 instance still runs on it: register it again beside v2, or migrate them',
    );
    // The README shows the command and what it prints.
    expect(readme).toContain('`ORDER_FULFILLMENT_VERSIONS=2 npm start`');
    expect(readme).toContain(`\n${refusal}\n`);
  });

  it('a bad ORDER_FULFILLMENT_VERSIONS stops start-up, naming the variable and its values', async () => {
    const run = runToExit(apiEntry, {
      ESFLOW_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      ORDER_FULFILLMENT_VERSIONS: '1,3',
    });
    expect(run.status).toBe(1);
    // One line, as every failed start is reported: no stack trace.
    expect(run.stderr.trim()).toBe(
      'esflow api: cannot start: ORDER_FULFILLMENT_VERSIONS must be 1, 2 or 1,2 (the orderFulfillment versions to register, comma-separated), got "1,3"',
    );
  });
});
