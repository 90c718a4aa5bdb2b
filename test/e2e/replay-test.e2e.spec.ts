import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToExit, startApp } from '../support/app-process';
import { httpClient } from '../support/http-client';
import { writeChangedOrderConfig } from '../support/order-config';
import { readmeBashBlock } from '../support/readme';

/**
 * `esflow export` and `esflow replay-test`, the built CLI run as CI runs it, over the streams a
 * real api recorded (snapshots every 2 events, so contexts are recorded too).
 */
const root = resolve(__dirname, '../..');
const cli = join(root, 'apps/cli/dist/main.js');
const work = mkdtempSync(join(tmpdir(), 'esflow-replay-test-'));
const dataDir = join(work, 'data');
const exportFile = join(work, 'streams.ndjson');
const env = { ESFLOW_DATA_DIR: dataDir, ESFLOW_SNAPSHOT_EVERY: '2' };

const order = (orderId: string) => ({
  orderId,
  customerId: `customer-${orderId}`,
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'SKU-1', quantity: 2 }],
});

/**
 * A config registering orderFulfillment v1 with its awaitingPayment's PaymentReceived
 * transition replaced by `transition` (JavaScript source), as a developer's changed machine.
 */
function changedConfig(name: string, transition: string): string {
  const file = `${name}.config.js`;
  writeChangedOrderConfig(join(work, file), {
    version: 1,
    change: `states.awaitingPayment = {
  ...states.awaitingPayment,
  on: { ...states.awaitingPayment.on, PaymentReceived: ${transition} },
};`,
  });
  return file;
}

/** The README's "Replay test" block: the commands this suite runs are the ones written there. */
const readmeBlock = readmeBashBlock('## Replay test');
const ran: string[] = [];

/**
 * Runs `npx esflow <args>` as the README writes it, with its file names (`streams.ndjson`,
 * `changed-guard.config.js`) in this suite's directory.
 */
const esflow = (...args: string[]) => {
  ran.push(`npx esflow ${args.join(' ')}`);
  const inWork = args.map((arg) => (/\.(ndjson|config\.js)$/.test(arg) ? join(work, arg) : arg));
  return runToExit(cli, env, inWork, 60_000);
};

beforeAll(async () => {
  const api = await startApp('api', { dataDir, env: { ESFLOW_SNAPSHOT_EVERY: '2' } });
  try {
    const http = httpClient(api.baseUrl);
    const send = async (id: string, type: string, payload: unknown) => {
      const sent = await http.post(`/workflows/orderFulfillment/${id}/events`, { type, payload });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    };
    for (const id of ['shipped', 'paid', 'failed', 'waiting']) {
      const started = await http.post('/workflows/orderFulfillment', { input: order(id) });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
    }
    await send('shipped', 'PaymentReceived', { paymentId: 'pay-1', amountCents: 4999 });
    await send('shipped', 'GoodsFetched', { warehouseId: 'wh-1' });
    await send('shipped', 'ShipmentDispatched', { trackingId: 'trk-1' });
    await send('paid', 'PaymentReceived', { paymentId: 'pay-2', amountCents: 4999 });
    await send('failed', 'PaymentFailed', { reason: 'declined' });
  } finally {
    await api.kill('SIGTERM');
  }
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('esflow export and esflow replay-test (the built CLI)', () => {
  it('exports every event as a readable NDJSON line, with the snapshots kept', () => {
    const run = esflow('export', '--workflow', 'orderFulfillment', '--out', 'streams.ndjson');
    expect(run.stderr).toMatch(
      /^exported 18 events of 4 instances \(orderFulfillment\) and \d+ snapshots to /,
    );
    expect(run.status).toBe(0);
    const lines = readFileSync(exportFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ kind: 'export', format: 1, workflows: ['orderFulfillment'] });
    const events = lines.filter((line) => line.kind === 'event');
    expect(events).toHaveLength(18);
    expect(
      events.find((e) => e.stream === 'orderFulfillment-paid' && e.revision === 2),
    ).toMatchObject({
      type: 'PaymentReceived',
      readAs: 'esflow.orderFulfillment.PaymentReceived',
      schema: { subject: 'esflow.orderFulfillment.PaymentReceived', version: 1 },
      metadata: {
        stateBefore: 'awaitingPayment',
        stateAfter: 'fetchingGoods',
        definitionVersion: 1,
      },
      payload: { paymentId: 'pay-2', amountCents: 4999 },
    });
    const snapshots = lines.filter((line) => line.kind === 'snapshot');
    expect(snapshots.length).toBeGreaterThan(0);
    expect(snapshots.every((s) => typeof s.context === 'object' && s.context !== null)).toBe(true);
  });

  it('finds every instance the same through the definitions it ran on, from the export and from the store', () => {
    const fromExport = esflow('replay-test', '--from-export', 'streams.ndjson');
    expect(fromExport.stderr).toBe('');
    expect(fromExport.stdout).toMatch(
      /^replay-test: 4 instances from .*streams\.ndjson \(kycOnboarding, orderFulfillment\), each through the version it is pinned to, definitions of esflow\.config\.js: 4 same, 0 diverged, 0 failed, 0 nondeterministic \(states compared after every event, \d+ recorded contexts compared\)\n$/,
    );
    expect(fromExport.status).toBe(0);
    // Correlation keys at each start, and the kept snapshots.
    const contexts = Number(/(\d+) recorded contexts/.exec(fromExport.stdout)![1]);
    expect(contexts).toBeGreaterThan(4);

    const fromStore = esflow('replay-test', '--workflow', 'orderFulfillment');
    expect(fromStore.stdout).toMatch(
      /^replay-test: 4 instances from the configured store .*: 4 same, 0 diverged/,
    );
    expect(fromStore.status).toBe(0);
  });

  it('reports where a changed guard diverges, and exits 1', () => {
    const config = changedConfig(
      'changed-guard',
      `{
        target: 'fetchingGoods',
        guard: ({ context, event }) => event.amountCents >= context.amountCents * 2,
        actions: assign({ paymentId: ({ event }) => event.paymentId }),
      }`,
    );
    const run = esflow('replay-test', '--config', config, '--from-export', 'streams.ndjson');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines.slice(0, -1).sort()).toEqual([
      '✗ orderFulfillment-paid (orderFulfillment v1): diverged at PaymentReceived (revision 2, event 3 of 4): expected state "fetchingGoods", found "awaitingPayment"',
      '✗ orderFulfillment-shipped (orderFulfillment v1): diverged at PaymentReceived (revision 2, event 3 of 7): expected state "fetchingGoods", found "awaitingPayment"',
    ]);
    expect(lines.at(-1)).toMatch(
      /definitions of changed-guard\.config\.js: 2 same, 2 diverged, 0 failed, 0 nondeterministic/,
    );
  });

  it('reports a changed assign where a snapshot recorded the context', () => {
    const config = changedConfig(
      'changed-assign',
      `{
        target: 'fetchingGoods',
        actions: assign({ paymentId: ({ event }) => event.paymentId.toUpperCase() }),
      }`,
    );
    const run = esflow('replay-test', '--config', config, '--from-export', 'streams.ndjson');
    expect(run.status).toBe(1);
    // `paid`'s latest snapshot was taken after its PaymentReceived append (revision 3).
    expect(run.stdout).toContain(
      `✗ orderFulfillment-paid (orderFulfillment v1): diverged at TimerCancelled (revision 3, event 4 of 4): in state "fetchingGoods" as recorded, the context differs from the snapshot's: context.paymentId expected "pay-2", found "PAY-2"`,
    );
  });

  it('reports where v1 streams diverge through v2, which checks for fraud after the payment', () => {
    const run = esflow(
      'replay-test',
      '--from-export',
      'streams.ndjson',
      '--definition-version',
      '2',
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines.slice(0, -1).sort()).toEqual([
      '✗ orderFulfillment-paid (orderFulfillment pinned to v1, through v2): diverged at PaymentReceived (revision 2, event 3 of 4): expected state "fetchingGoods", found "checkingFraud"',
      '✗ orderFulfillment-shipped (orderFulfillment pinned to v1, through v2): diverged at PaymentReceived (revision 2, event 3 of 7): expected state "fetchingGoods", found "checkingFraud"',
    ]);
    // The orders that were never paid take the same path through v2.
    expect(lines.at(-1)).toMatch(/2 same, 2 diverged, 0 failed, 0 nondeterministic/);
    // The README shows the first line as the command prints it.
    expect(readmeBlock).toContain(`# ${lines.slice(0, -1).sort()[0]}`);
  });

  it('fails every instance through a version the config does not define', () => {
    const run = esflow(
      'replay-test',
      '--from-export',
      'streams.ndjson',
      '--definition-version',
      '3',
    );
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      '✗ orderFulfillment-waiting (orderFulfillment pinned to v1, through v3): failed at OrderPlaced (revision 0): the config defines no orderFulfillment v3 (it defines v1, v2)',
    );
    expect(run.stdout).toMatch(/0 same, 0 diverged, 4 failed/);
  });

  it('ran every command the README block shows, as written', () => {
    // Every command the README's block shows was run here, as written (the assign check is extra).
    const shown = readmeBlock
      .split('\n')
      .filter((line) => line.startsWith('npx esflow'))
      .map((line) => line.replace(/\s+#.*$/, '').trim());
    expect(shown.length).toBeGreaterThan(0);
    for (const command of shown) expect(ran, command).toContain(command);
  });
});
