import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToExit, startApp } from '../support/app-process';
import { httpClient } from '../support/http-client';
import { writeChangedOrderConfig } from '../support/order-config';
import { readmeBashBlock } from '../support/readme';

/**
 * `esflow versions check`, the deploy gate, the built CLI run as CI runs it, over the streams a
 * real api recorded: two orders waiting for payment, one for its goods, two done.
 */
const root = resolve(__dirname, '../..');
const cli = join(root, 'apps/cli/dist/main.js');
const work = mkdtempSync(join(tmpdir(), 'esflow-versions-gate-'));
const dataDir = join(work, 'data');
const env = { ESFLOW_DATA_DIR: dataDir };

const order = (orderId: string) => ({
  orderId,
  customerId: `customer-${orderId}`,
  amountCents: 4999,
  currency: 'EUR',
  items: [{ sku: 'SKU-1', quantity: 2 }],
});

/** {@link writeChangedOrderConfig} into this suite's directory. */
function writeConfig(file: string, version: number, change: string, initial = 'awaitingPayment') {
  writeChangedOrderConfig(join(work, file), { version, change, initial });
}

/** The README's "Deploy gate" block: the commands this suite runs are the ones written there. */
const readmeBlock = readmeBashBlock('### Deploy gate: esflow versions check');
const ran: string[] = [];

/** Runs `npx esflow <args>` as the README writes it, its file names in this suite's directory. */
const esflow = (...args: string[]) => {
  ran.push(`npx esflow ${args.join(' ')}`);
  const inWork = args.map((arg) =>
    /\.(ndjson|config\.js|json)$/.test(arg) ? join(work, arg) : arg,
  );
  return runToExit(cli, env, inWork, 30_000);
};

/** The table's row for a state: its cells. */
const row = (stdout: string, state: string) =>
  stdout
    .split('\n')
    .map((line) => line.split('│').map((cell) => cell.trim()))
    .find((cells) => cells[3] === state)
    ?.slice(1, -1);

beforeAll(async () => {
  const api = await startApp('api', { dataDir });
  try {
    const http = httpClient(api.baseUrl);
    const send = async (id: string, type: string, payload: unknown) => {
      const sent = await http.post(`/workflows/orderFulfillment/${id}/events`, { type, payload });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    };
    for (const id of ['waiting-1', 'waiting-2', 'paid', 'failed', 'shipped']) {
      const started = await http.post('/workflows/orderFulfillment', { input: order(id) });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
    }
    await send('paid', 'PaymentReceived', { paymentId: 'pay-1', amountCents: 4999 });
    await send('failed', 'PaymentFailed', { reason: 'declined' });
    await send('shipped', 'PaymentReceived', { paymentId: 'pay-2', amountCents: 4999 });
    await send('shipped', 'GoodsFetched', { warehouseId: 'wh-1' });
    await send('shipped', 'ShipmentDispatched', { trackingId: 'trk-1' });
  } finally {
    await api.kill('SIGTERM');
  }
  // v2, in which awaitingPayment is called awaitingFunds (v1 is no longer registered).
  writeConfig(
    'next.config.js',
    2,
    'states.awaitingFunds = states.awaitingPayment; delete states.awaitingPayment;',
    'awaitingFunds',
  );
  // v1 replaced under the same number: awaitingPayment no longer takes PaymentFailed.
  writeConfig(
    'no-payment-failed.config.js',
    1,
    `const { PaymentFailed, ...on } = states.awaitingPayment.on;
states.awaitingPayment = { ...states.awaitingPayment, on };`,
  );
  writeFileSync(
    join(work, 'migrations.json'),
    JSON.stringify([
      {
        workflow: 'orderFulfillment',
        fromVersion: 1,
        toVersion: 2,
        stateMapping: { awaitingPayment: 'awaitingFunds', fetchingGoods: 'fetchingGoods' },
      },
    ]),
  );
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('esflow versions check (the built CLI)', () => {
  it('passes the definitions the instances run on, from an export and from the store', () => {
    const exported = esflow('export', '--out', 'streams.ndjson');
    expect(exported.status, exported.stderr).toBe(0);

    const run = esflow('versions', 'check', '--from-export', 'streams.ndjson');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(row(run.stdout, 'awaitingPayment')).toEqual([
      'orderFulfillment',
      'v1',
      'awaitingPayment',
      '2',
      'v1',
      'ok',
    ]);
    expect(row(run.stdout, 'fetchingGoods')).toEqual([
      'orderFulfillment',
      'v1',
      'fetchingGoods',
      '1',
      'v1',
      'ok',
    ]);
    expect(run.stdout).toMatch(
      /versions check passed: 3 running instances of 5 recorded, from .*streams\.ndjson, against the definitions of esflow\.config\.js\n$/,
    );

    const fromStore = runToExit(cli, env, ['versions', 'check']);
    expect(fromStore.status, fromStore.stderr).toBe(0);
    expect(fromStore.stdout).toContain(
      'versions check passed: 3 running instances of 5 recorded, from the configured store',
    );
  });

  it('fails a new version without the state instances wait in, and passes once a migration maps them', () => {
    const run = esflow(
      'versions',
      'check',
      '--config',
      'next.config.js',
      '--from-export',
      'streams.ndjson',
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('versions check failed: 3 problems (3 running instances from');
    const failures = run.stderr.split('\n').filter((line) => line.startsWith('  ✗ '));
    expect(failures).toEqual([
      '  ✗ orderFulfillment v1 awaitingPayment: orderFulfillment v1 is no longer registered, and 2 instances wait in it: register v1 again, or declare a migration (--migrations) [VERSION_REMOVED]',
      '  ✗ orderFulfillment v1 awaitingPayment: v2 (what a migration would target) has no state awaitingPayment, and 2 instances wait in it [STATE_REMOVED]',
      '  ✗ orderFulfillment v1 fetchingGoods: orderFulfillment v1 is no longer registered, and 1 instance waits in it: register v1 again, or declare a migration (--migrations) [VERSION_REMOVED]',
    ]);
    expect(row(run.stdout, 'awaitingPayment')).toEqual([
      'orderFulfillment',
      'v1',
      'awaitingPayment',
      '2',
      'v2 (latest: needs a migration)',
      'FAILS (2)',
    ]);
    // The README shows the first two lines as the command prints them.
    for (const line of failures.slice(0, 2)) expect(readmeBlock).toContain(`# ✗ ${line.slice(4)}`);

    const migrated = esflow(
      'versions',
      'check',
      '--config',
      'next.config.js',
      '--from-export',
      'streams.ndjson',
      '--migrations',
      'migrations.json',
    );
    expect(migrated.stderr).toBe('');
    expect(migrated.status).toBe(0);
    expect(row(migrated.stdout, 'awaitingPayment')).toEqual([
      'orderFulfillment',
      'v1',
      'awaitingPayment',
      '2',
      'v2 awaitingFunds (migration)',
      'ok: migration declared',
    ]);
    expect(migrated.stdout).toContain(
      'against the definitions of next.config.js with 1 declared migration',
    );

    // The store itself, read without the export: the same verdict.
    const fromStore = esflow('versions', 'check', '--config', 'next.config.js');
    expect(fromStore.status).toBe(1);
    expect(fromStore.stderr).toContain('from the configured store');
    expect(fromStore.stderr).toContain(
      'has no state awaitingPayment, and 2 instances wait in it [STATE_REMOVED]',
    );
  });

  it('fails a state that stops accepting an event its waiting instances may still receive', () => {
    const run = esflow('versions', 'check', '--config', 'no-payment-failed.config.js');
    expect(run.status).toBe(1);
    expect(run.stderr.split('\n').filter((line) => line.startsWith('  ✗ '))).toEqual([
      '  ✗ orderFulfillment v1 awaitingPayment: 2 instances may still receive PaymentFailed (taken in this state before), which awaitingPayment in the orderFulfillment v1 registered now does not accept [EVENT_NO_LONGER_ACCEPTED]',
    ]);
  });

  it('ran every command the README block shows, as written', () => {
    const shown = readmeBlock
      .split('\n')
      .filter((line) => line.startsWith('npx esflow'))
      .map((line) => line.replace(/\s+#.*$/, '').trim());
    expect(shown.length).toBe(5);
    for (const command of shown) expect(ran, command).toContain(command);
  });
});
