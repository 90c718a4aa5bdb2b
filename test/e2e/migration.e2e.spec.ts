import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, runToExit, startApp } from '../support/app-process';
import { anOrder } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';
import { Exchange, OpenApiConformance } from '../support/openapi-conformance';
import { readmeBashBlock } from '../support/readme';
import { waitFor } from '../support/wait-for';

/**
 * Migration of running instances to another definition version, against the built api,
 * projector and CLI on one SQLite data directory: orders placed while the apps registered
 * orderFulfillment v1 only, migrated once they register v1 and v2 (ORDER_FULFILLMENT_VERSIONS),
 * one over REST, a batch over a filter and one by `esflow migrate`, as the README's Migration
 * section writes the commands; then read after an api restart and a projection rebuild.
 */

const root = resolve(__dirname, '../..');
const cli = join(root, 'apps/cli/dist/main.js');
const work = mkdtempSync(join(tmpdir(), 'esflow-migration-'));
const dataDir = join(work, 'data');
const V1_ONLY = { ESFLOW_PROJECTION_LEASE_MS: '1500' };
const V1_AND_V2 = { ...V1_ONLY, ORDER_FULFILLMENT_VERSIONS: '1,2' };
const WORKFLOW = '/workflows/orderFulfillment';

/** The README's order, waiting for its payment on v1. */
const README_ORDER = 'order-2002';
/** Waiting for their payment on v1: the README's batch. */
const BATCH_ORDERS = ['order-2005', 'order-2006', 'order-2007'];
/** Paid on v1, waiting for its goods: the README's `esflow migrate`. */
const CLI_ORDER = 'order-2008';
/** Shipping on v1, never migrated: the refusals, and the one left on v1. */
const SHIPPING_ORDER = 'order-2009';

type Written = {
  version: number;
  state: unknown;
  status: string;
  revision: number;
  pendingTimers: { timerId: string }[];
};
type HistoryEvent = {
  revision: number;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
};
type Progress = {
  migrationId: string;
  status: string;
  dryRun: boolean;
  matched: number;
  migrated: number;
  skipped: number;
  refused: number;
  failed: number;
  errors: unknown[];
};
type Problem = { code: string; errors?: { path: string; message: string }[] };

let api: AppProcess;
let projector: AppProcess;
let http: ReturnType<typeof httpClient>;
let conformance: OpenApiConformance;
/** The README batch's id, once it ran. */
let batchId: string | undefined;

const history = async (id: string) =>
  (await http.get<{ events: HistoryEvent[] }>(`${WORKFLOW}/${id}/history`)).body.events;
const instance = async (id: string) => (await http.get<Written>(`${WORKFLOW}/${id}`)).body;

/** A request over fetch, checked against the document the api serves. */
async function checked<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const answer = await http.request<T>(method, path, body, headers);
  const exchange: Exchange = {
    method,
    path,
    status: answer.status,
    headers: Object.fromEntries(answer.headers),
    body: JSON.stringify(answer.body),
  };
  expect(conformance.check(exchange), `${method} ${path}`).toEqual([]);
  return answer;
}

/** Runs a README bash block as written, against this suite's api, and parses its JSON lines. */
function runReadmeBlock(heading: string): Record<string, unknown>[] {
  const script = readmeBashBlock(heading).replaceAll('localhost:3000', new URL(api.baseUrl).host);
  const output = execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const startBoth = async (env: Record<string, string>) => {
  [api, projector] = await Promise.all([
    startApp('api', { dataDir, env }),
    startApp('projector', { dataDir, env }),
  ]);
  http = httpClient(api.baseUrl);
};

beforeAll(async () => {
  // The first release: v1 only. Orders placed now run on v1.
  await startBoth(V1_ONLY);
  const send = async (id: string, type: string, payload: unknown) => {
    const sent = await http.post<Written>(`${WORKFLOW}/${id}/events`, { type, payload });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    return sent.body;
  };
  for (const id of [README_ORDER, ...BATCH_ORDERS, CLI_ORDER, SHIPPING_ORDER]) {
    const started = await http.post<Written>(WORKFLOW, { input: anOrder(id) });
    expect([started.status, started.body.version]).toEqual([201, 1]);
  }
  const payment = { paymentId: 'pay-1', amountCents: 4999 };
  await send(CLI_ORDER, 'PaymentReceived', payment);
  await send(SHIPPING_ORDER, 'PaymentReceived', payment);
  const last = await send(SHIPPING_ORDER, 'GoodsFetched', { warehouseId: 'wh-1' });
  // The projector has applied everything (it applies the log in order).
  const listed = await http.get(
    `/workflows?workflow=orderFulfillment&waitFor=${SHIPPING_ORDER}@${last.revision}`,
  );
  expect(listed.headers.get('esflow-consistency')).toBe('fresh');
  await Promise.all([projector.kill('SIGTERM'), api.kill('SIGTERM')]);

  // The second release: v2 beside v1, on the same data.
  await startBoth(V1_AND_V2);
  const document = await http.get('/docs/openapi.json');
  conformance = new OpenApiConformance(document.body as never);
}, 90_000);

afterAll(async () => {
  await Promise.all([projector?.dispose(), api?.dispose()]);
  rmSync(work, { recursive: true, force: true });
});

describe('migrating running instances to another definition version', () => {
  it('one instance, as the README shows it: a dry run and a refused mapping write nothing, the migration is recorded, and the order goes on on v2', async () => {
    const [dryRun, refused, migrated, paid, ...rest] = runReadmeBlock('## Migration\n');
    expect(rest).toEqual([]);
    expect(dryRun).toMatchObject({
      dryRun: true,
      plan: {
        fromVersion: 1,
        toVersion: 2,
        fromState: 'awaitingPayment',
        toState: 'awaitingPayment',
        stateMapping: { awaitingPayment: 'awaitingPayment' },
        context: { orderId: README_ORDER, paymentId: null },
        timers: { kept: [expect.any(String)], moved: [], cancelled: [] },
        commands: { kept: [], withdrawn: [] },
        messages: { follow: [], undeliverable: [] },
      },
      instance: { id: README_ORDER, version: 1, state: 'awaitingPayment', revision: 1 },
    });
    expect(refused).toMatchObject({
      status: 422,
      code: 'MIGRATION_REFUSED',
      fromVersion: 1,
      toVersion: 2,
      errors: [{ path: 'stateMapping.awaitingPayment', message: 'v2 has no state awaitingFunds' }],
    });
    // Migrated with If-Match "1": neither the dry run nor the refusal had written anything.
    expect(migrated).toMatchObject({
      dryRun: false,
      instance: { id: README_ORDER, version: 2, state: 'awaitingPayment', revision: 2 },
    });
    // v1 would have gone on to fetchingGoods; v2 checks the payment for fraud first.
    expect(paid).toMatchObject({ version: 2, state: 'checkingFraud', revision: 5 });

    const events = await history(README_ORDER);
    expect(events.slice(0, 6).map((event) => event.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'InstanceMigrated',
      'PaymentReceived',
      'TimerCancelled',
      'CommandDispatched',
    ]);
    expect(events[0]!.metadata['definitionVersion']).toBe(1);
    expect(events[2]).toMatchObject({
      revision: 2,
      data: {
        fromVersion: 1,
        toVersion: 2,
        fromStateJson: '"awaitingPayment"',
        toStateJson: '"awaitingPayment"',
        stateMapping: { awaitingPayment: 'awaitingPayment' },
        operator: 'anonymous',
        reason: 'v2 checks paid orders for fraud',
      },
      metadata: { definitionVersion: 2, actor: 'anonymous', category: 'framework' },
    });
    // The projector carries CheckFraud out: the order advances on v2.
    const fetching = await waitFor(
      async () => {
        const read = await instance(README_ORDER);
        return read.state === 'fetchingGoods' && read;
      },
      { timeoutMs: 20_000, what: 'the fraud check to pass order-2002' },
    );
    expect(fetching.version).toBe(2);
    expect((await history(README_ORDER)).map((event) => event.type)).toContain('FraudCheckPassed');
  });

  it('answers as the OpenAPI document says, and a refusal writes nothing', async () => {
    const path = `${WORKFLOW}/${SHIPPING_ORDER}/migrate`;
    const before = await history(SHIPPING_ORDER);
    const planned = await checked<{ dryRun: boolean; plan: { toState: unknown } }>('POST', path, {
      toVersion: 2,
      dryRun: true,
    });
    expect(planned.status).toBe(200);
    expect(planned.headers.get('etag')).toBe(`"${before.at(-1)!.revision}"`);
    expect(planned.body).toMatchObject({ dryRun: true, plan: { toState: 'shipping' } });

    const unknown = await checked<Problem>('POST', path, {
      toVersion: 2,
      stateMapping: { shipping: 'shipped' },
    });
    expect([unknown.status, unknown.body.code]).toEqual([422, 'MIGRATION_REFUSED']);
    expect(unknown.body.errors).toEqual([
      { path: 'stateMapping.shipping', message: 'v2 has no state shipped' },
    ]);
    const final = await checked<Problem>('POST', path, {
      toVersion: 2,
      stateMapping: { shipping: 'completed' },
    });
    expect([final.status, final.body.errors?.[0]?.path]).toEqual([422, 'stateMapping.shipping']);
    const unregistered = await checked<Problem>('POST', path, { toVersion: 3 });
    expect([unregistered.status, unregistered.body.errors?.[0]?.path]).toEqual([422, 'toVersion']);
    const malformed = await checked<Problem>('POST', path, {
      toVersion: 'two',
      unmappable: 'ignore',
      colour: 'red',
    });
    expect([malformed.status, malformed.body.code]).toEqual([400, 'MALFORMED_REQUEST']);
    expect(malformed.body.errors?.map((error) => error.path).sort()).toEqual([
      '',
      'toVersion',
      'unmappable',
    ]);
    const stale = await checked<Problem>('POST', path, { toVersion: 2 }, { 'if-match': '"1"' });
    expect([stale.status, stale.body.code]).toEqual([409, 'REVISION_CONFLICT']);

    expect(await history(SHIPPING_ORDER)).toEqual(before);
    expect((await instance(SHIPPING_ORDER)).version).toBe(1);
  });

  it("refuses a context v2's migrations.validateContext does not take, naming the field, and writes nothing (over REST and with esflow migrate)", async () => {
    const before = await history(SHIPPING_ORDER);
    // v2 turns a v1 context into its own (fraudCheckId: null); the patch breaks a field v2 checks.
    const planned = await checked<{ plan: { context: Record<string, unknown> } }>(
      'POST',
      `${WORKFLOW}/${SHIPPING_ORDER}/migrate`,
      { toVersion: 2, dryRun: true },
    );
    expect(planned.body.plan.context).toMatchObject({
      orderId: SHIPPING_ORDER,
      fraudCheckId: null,
    });
    const refused = await checked<Problem>('POST', `${WORKFLOW}/${SHIPPING_ORDER}/migrate`, {
      toVersion: 2,
      contextPatch: { amountCents: 'lots', fraudCheckId: 7 },
    });
    expect([refused.status, refused.body.code]).toEqual([422, 'MIGRATION_REFUSED']);
    expect(refused.body.errors?.map((error) => error.path).sort()).toEqual([
      'context.amountCents',
      'context.fraudCheckId',
    ]);

    const migrate = (...args: string[]) =>
      runToExit(
        cli,
        { ESFLOW_DATA_DIR: dataDir },
        [
          'migrate',
          '--workflow',
          'orderFulfillment',
          '--to-version',
          '2',
          '--id',
          SHIPPING_ORDER,
          ...args,
        ],
        30_000,
      );
    const cliRefused = migrate('--context-patch', '{"fraudCheckId":7}');
    expect(cliRefused.stderr).toBe('');
    expect(cliRefused.status).toBe(1);
    expect(cliRefused.lines[0]).toMatch(
      new RegExp(
        `^✗ ${SHIPPING_ORDER}: refused: .*: context\\.fraudCheckId .*\\[MIGRATION_REFUSED\\]$`,
      ),
    );
    expect(cliRefused.lines[1]).toMatch(/0 migrated, 0 skipped, 1 refused, 0 failed$/);
    const patched = migrate('--context-patch', '{"fraudCheckId":"checked-by-hand"}', '--dry-run');
    expect(patched.status, patched.stdout + patched.stderr).toBe(0);
    expect(patched.lines[0]).toMatch(
      new RegExp(`^~ ${SHIPPING_ORDER}: would migrate v1 → v2: shipping → shipping;`),
    );
    expect(await history(SHIPPING_ORDER)).toEqual(before);
  });

  it('esflow migrate, as the README shows it: a dry run, then for real over a filter; run again, it skips', async () => {
    const block = readmeBashBlock('### From the command line: esflow migrate');
    const shown = block.split('\n').filter((line) => line.startsWith('npx esflow '));
    expect(shown).toHaveLength(2);
    const printed = block
      .split('\n')
      .filter((line) => line.startsWith('# ') && /^# [~✓✗-] |^# migrate/.test(line))
      .map((line) => line.slice(2));
    const operator = `cli:${userInfo().username}`;
    const before = await history(CLI_ORDER);
    const run = (line: string) => {
      const args = (line.slice('npx esflow '.length).match(/'[^']*'|\S+/g) ?? []).map((arg) =>
        arg.replace(/^'(.*)'$/, '$1'),
      );
      return runToExit(cli, { ESFLOW_DATA_DIR: dataDir }, args, 30_000);
    };
    const dryRun = run(shown[0]!);
    expect(dryRun.stderr).toBe('');
    expect(dryRun.status).toBe(0);
    expect(dryRun.lines[0]).toBe(printed[0]);
    expect(dryRun.lines[1]).toMatch(/^migrate \(dry run\): .* 1 would migrate, 0 skipped/);
    expect(await history(CLI_ORDER)).toEqual(before);

    const migrated = run(shown[1]!);
    expect(migrated.stderr).toBe('');
    expect(migrated.status).toBe(0);
    expect(migrated.lines).toEqual([printed[1], printed[2]!.replace('cli:<you>', operator)]);
    const read = await instance(CLI_ORDER);
    expect(read).toMatchObject({ version: 2, state: 'fetchingGoods', revision: 4 });
    const events = await history(CLI_ORDER);
    expect(events).toHaveLength(before.length + 1);
    expect(events.at(-1)).toMatchObject({
      type: 'InstanceMigrated',
      data: { operator, reason: 'v2 checks paid orders for fraud', fromVersion: 1, toVersion: 2 },
      metadata: { actor: operator, definitionVersion: 2 },
    });

    const again = runToExit(
      cli,
      { ESFLOW_DATA_DIR: dataDir },
      ['migrate', '--workflow', 'orderFulfillment', '--to-version', '2', '--id', CLI_ORDER],
      30_000,
    );
    expect(again.status, again.stderr).toBe(0);
    expect(again.lines[0]).toMatch(new RegExp(`^- ${CLI_ORDER}: skipped: .*runs on v2 already`));
    expect(await history(CLI_ORDER)).toHaveLength(events.length);
  });

  it('a batch, as the README shows it: the dry run reports what it would do, the batch migrates every match and reports to done', async () => {
    // The read model has every migration so far: the batch sees the README's order on v2.
    const readmeOrder = await instance(README_ORDER);
    await http.get(
      `/workflows?workflow=orderFulfillment&waitFor=${README_ORDER}@${readmeOrder.revision}`,
    );
    const before = await Promise.all(BATCH_ORDERS.map(history));
    const reports = runReadmeBlock('### A batch over a filter');
    expect(reports).toHaveLength(2);
    const done = (report: Record<string, unknown>) =>
      waitFor(
        async () => {
          const read = await checked<Progress>(
            'GET',
            `/migrations/${String(report['migrationId'])}`,
          );
          return read.body.status === 'done' && read.body;
        },
        { timeoutMs: 15_000, what: 'the batch to finish' },
      );
    const [dryRun, batch] = [await done(reports[0]!), await done(reports[1]!)];
    const counts = (progress: Progress) => [
      progress.matched,
      progress.migrated,
      progress.skipped,
      progress.refused,
      progress.failed,
    ];
    expect(dryRun.dryRun).toBe(true);
    expect(counts(dryRun)).toEqual([3, 3, 0, 0, 0]);
    expect(batch).toMatchObject({ dryRun: false, errors: [], finishedAt: expect.any(String) });
    expect(counts(batch)).toEqual([3, 3, 0, 0, 0]);
    batchId = batch.migrationId;
    for (const [i, id] of BATCH_ORDERS.entries()) {
      const events = await history(id);
      expect(events).toHaveLength(before[i]!.length + 1);
      expect(events.filter((event) => event.type === 'InstanceMigrated')).toMatchObject([
        { data: { operator: 'anonymous', reason: 'v2 checks paid orders for fraud' } },
      ]);
      expect(await instance(id)).toMatchObject({ version: 2, state: 'awaitingPayment' });
    }

    // The answers of the batch calls, as the document declares them.
    const started = await checked<Progress>(`POST`, `${WORKFLOW}/migrations`, {
      filter: { fromVersion: 1, idPrefix: 'nobody-' },
      toVersion: 2,
      dryRun: true,
    });
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/migrations/${started.body.migrationId}`);
    expect(started.body).toMatchObject({ status: 'running', matched: 0 });
    const sameVersion = await checked<Problem>('POST', `${WORKFLOW}/migrations`, {
      filter: { fromVersion: 2 },
      toVersion: 2,
    });
    expect([sameVersion.status, sameVersion.body.code]).toEqual([422, 'MIGRATION_REFUSED']);
    const badFilter = await checked<Problem>('POST', `${WORKFLOW}/migrations`, {
      filter: { fromVersion: 0, state: '{"shipping":' },
      toVersion: 2,
    });
    expect(badFilter.body.errors?.map((error) => error.path).sort()).toEqual([
      'filter.fromVersion',
      'filter.state',
    ]);
    const unknown = await checked<Problem>('GET', '/migrations/no-such-batch');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('after an api restart, the migrated orders read version 2 in the same state, replayed from their streams', async () => {
    const ids = [README_ORDER, BATCH_ORDERS[0]!, CLI_ORDER, SHIPPING_ORDER];
    const before = await Promise.all(ids.map(instance));
    await api.kill('SIGTERM');
    await api.restart();
    const after = await Promise.all(ids.map(instance));
    expect(after).toEqual(before);
    expect(after.map((read) => read.version)).toEqual([2, 2, 2, 1]);
    expect(after.map((read) => read.state)).toEqual([
      'fetchingGoods',
      'awaitingPayment',
      'fetchingGoods',
      'shipping',
    ]);
    // The batch's report was that process's memory; its migrations are in the streams.
    expect(batchId).toBeDefined();
    const report = await http.get<Problem>(`/migrations/${batchId}`);
    expect([report.status, report.body.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('after a rebuild of the instances projection, the instance list shows them on version 2', async () => {
    type Projection = { name: string; status: string; generation: number; rebuild?: unknown };
    const instancesProjection = async () =>
      (await http.get<{ projections: Projection[] }>('/projections')).body.projections.find(
        (projection) => projection.name === 'instances',
      )!;
    const generation = (await instancesProjection()).generation;
    expect((await http.post('/projections/instances/rebuild', {})).status).toBe(202);
    await waitFor(
      async () => {
        const now = await instancesProjection();
        return now.generation > generation && now.status === 'live' && !now.rebuild;
      },
      { timeoutMs: 30_000, what: 'the rebuilt instances projection live' },
    );
    const listed = await http.get<{ items: { id: string; version: number; state: unknown }[] }>(
      '/workflows?workflow=orderFulfillment&status=running&limit=1000',
    );
    const versions = Object.fromEntries(listed.body.items.map((item) => [item.id, item.version]));
    expect(versions).toEqual({
      [README_ORDER]: 2,
      ...Object.fromEntries(BATCH_ORDERS.map((id) => [id, 2])),
      [CLI_ORDER]: 2,
      [SHIPPING_ORDER]: 1,
    });
  });
});
