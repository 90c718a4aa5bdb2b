import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, startApp } from '../support/app-process';
import { COMPLETED_ORDER_EVENTS } from '../support/engine-fixture';

/**
 * The document as a client generator's user meets it: types generated with openapi-typescript
 * from the `/docs/openapi.json` the api serves, a client made with openapi-fetch, and the
 * README's walk-through ("Walk one order through its lifecycle") written against them without a
 * single cast, compiled with `tsc` in strict mode, then run against the api and its projector.
 */

const REPO = resolve(__dirname, '../..');

/** The README's walk-through, as a user of the generated client writes it. */
const WALKTHROUGH = `import createClient from 'openapi-fetch';
import type { paths } from './schema';

/** Why an answer was not the one expected. */
function unexpected(what: string, response: Response, error: unknown): Error {
  return new Error(\`\${what}: \${response.status} \${JSON.stringify(error)}\`);
}

export async function walkThrough(baseUrl: string, orderId: string) {
  const client = createClient<paths>({ baseUrl });
  const workflow = 'orderFulfillment';
  const instance = { path: { workflow, id: orderId } };

  // Start an order. Its orderId is the business key, so it becomes the instance id.
  const input = {
    orderId,
    customerId: 'c-7',
    amountCents: 4999,
    currency: 'EUR',
    items: [{ sku: 'SKU-1', quantity: 2 }],
  };
  const started = await client.POST('/workflows/{workflow}', {
    params: { path: { workflow } },
    body: { input },
  });
  if (!started.data) throw unexpected('start', started.response, started.error);
  const etag = started.response.headers.get('ETag');
  if (etag === null) throw new Error('the start has no ETag');
  const location = started.response.headers.get('Location');

  // Start the same order twice: 409 INSTANCE_ALREADY_EXISTS.
  const twice = await client.POST('/workflows/{workflow}', {
    params: { path: { workflow } },
    body: { input },
  });
  if (!twice.error) throw new Error('the second start was accepted');

  // Pay for it, stating the revision we last saw (If-Match), with an Idempotency-Key.
  const payment = {
    params: { ...instance, header: { 'If-Match': etag, 'Idempotency-Key': \`pay-\${orderId}\` } },
    body: { type: 'PaymentReceived', payload: { paymentId: 'pay-1', amountCents: 4999 } },
  };
  const paid = await client.POST('/workflows/{workflow}/{id}/events', payment);
  if (!paid.data) throw unexpected('pay', paid.response, paid.error);
  // Repeated with the same key: the first answer again, nothing appended.
  const repeated = await client.POST('/workflows/{workflow}/{id}/events', payment);
  if (!repeated.data) throw unexpected('pay again', repeated.response, repeated.error);

  // An event the current state does not accept is refused with the events it would accept.
  const refused = await client.POST('/workflows/{workflow}/{id}/events', {
    params: instance,
    body: { type: 'ShipmentDispatched', payload: { trackingId: 'trk-1' } },
  });
  if (refused.data || !refused.error) throw new Error('the early shipment was accepted');
  if (refused.error.code !== 'EVENT_NOT_ACCEPTED')
    throw unexpected('ship early', refused.response, refused.error);
  const rejection = {
    status: refused.response.status,
    contentType: refused.response.headers.get('Content-Type'),
    code: refused.error.code,
    state: refused.error.state,
    acceptedEvents: refused.error.acceptedEvents,
  };

  const fetched = await client.POST('/workflows/{workflow}/{id}/events', {
    params: instance,
    body: { type: 'GoodsFetched', payload: { warehouseId: 'wh-1' } },
  });
  if (!fetched.data) throw unexpected('fetch goods', fetched.response, fetched.error);
  const shipped = await client.POST('/workflows/{workflow}/{id}/events', {
    params: instance,
    body: { type: 'ShipmentDispatched', payload: { trackingId: 'trk-1' } },
  });
  if (!shipped.data) throw unexpected('ship', shipped.response, shipped.error);

  // Read it: state, context, the events it accepts now; the ETag is the revision.
  const read = await client.GET('/workflows/{workflow}/{id}', { params: instance });
  if (!read.data) throw unexpected('read', read.response, read.error);

  // Its history, decoded from Avro.
  const history = await client.GET('/workflows/{workflow}/{id}/history', { params: instance });
  if (!history.data) throw unexpected('history', history.response, history.error);

  // All instances, filtered and paged, reading our own write with waitFor.
  const list = await client.GET('/workflows', {
    params: {
      query: {
        workflow,
        status: 'completed',
        limit: 20,
        waitFor: \`\${orderId}@\${shipped.data.revision}\`,
      },
    },
  });
  if (!list.data) throw unexpected('list', list.response, list.error);

  // Instances per state (a read model too: asked again until it counts the order), and the
  // projections' status.
  const completedCount = async () => {
    const stats = await client.GET('/stats');
    if (!stats.data) throw unexpected('stats', stats.response, stats.error);
    return stats.data.workflows[workflow]?.byState['completed'] ?? 0;
  };
  let completed = await completedCount();
  for (let attempt = 0; completed === 0 && attempt < 100; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    completed = await completedCount();
  }
  const projections = await client.GET('/projections');
  if (!projections.data) throw unexpected('projections', projections.response, projections.error);

  return {
    started: { status: started.response.status, body: started.data, etag, location },
    twice: { status: twice.response.status, code: twice.error.code },
    paid: { state: paid.data.state, revision: paid.data.revision },
    repeated: {
      body: repeated.data,
      replayed: repeated.response.headers.get('Idempotent-Replayed'),
    },
    rejection,
    fetched: { state: fetched.data.state, revision: fetched.data.revision },
    shipped: {
      state: shipped.data.state,
      status: shipped.data.status,
      revision: shipped.data.revision,
    },
    read: {
      etag: read.response.headers.get('ETag'),
      status: read.data.status,
      acceptedEvents: read.data.acceptedEvents,
      context: read.data.context,
    },
    history: history.data.events.map((event) => event.type),
    list: {
      consistency: list.response.headers.get('Esflow-Consistency'),
      ids: list.data.items.map((item) => item.id),
    },
    stats: completed,
    projections: projections.data.projections.map((projection) => projection.name),
  };
}
`;

/**
 * Strict settings. The generated types are a `.ts` file, so they are checked too (libraries'
 * declaration files are not: that is a user's usual `skipLibCheck`).
 */
const TSCONFIG = {
  compilerOptions: {
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noImplicitReturns: true,
    noEmit: true,
    skipLibCheck: true,
    target: 'ES2022',
    lib: ['ES2022', 'DOM'],
    module: 'ESNext',
    moduleResolution: 'Bundler',
    types: [],
  },
  files: ['walkthrough.ts'],
};

/** The casts of a source: `as`, `<T>x` and `x!` (a non-null assertion is a cast too). */
function castsIn(source: string): string[] {
  const file = ts.createSourceFile('walkthrough.ts', source, ts.ScriptTarget.ES2022, true);
  const casts: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isAsExpression(node) ||
      ts.isTypeAssertionExpression(node) ||
      ts.isNonNullExpression(node)
    )
      casts.push(node.getText(file));
    if (node.kind === ts.SyntaxKind.AnyKeyword) casts.push(node.getText(file));
    ts.forEachChild(node, visit);
  };
  visit(file);
  return casts;
}

let api: AppProcess;
let projector: AppProcess;
let dir: string;

beforeAll(async () => {
  api = await startApp('api');
  projector = await startApp('projector', { dataDir: api.dataDir });
  dir = mkdtempSync(join(tmpdir(), 'esflow-openapi-client-'));
  // The script imports openapi-fetch as a user's project would: from its node_modules.
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
});
afterAll(async () => {
  await projector?.dispose();
  await api?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a client generated from the document (openapi-typescript + openapi-fetch)', () => {
  it('generates types from the served document', async () => {
    const types = astToString(await openapiTS(new URL(`${api.baseUrl}/docs/openapi.json`)));
    writeFileSync(join(dir, 'schema.ts'), types);
    // The bodies are free-form objects, the state a string or an object, the problems typed.
    expect(types).toMatch(/input: \{\s*\[key: string\]: unknown;\s*\};/);
    expect(types).toMatch(/state: string \| \{\s*\[key: string\]: unknown;\s*\};/);
    expect(types).toContain('code: "EVENT_NOT_ACCEPTED";');
    // (as `input` and `payload` were): no member typed as an object that admits nothing.
    expect(types).not.toMatch(/^\s+[\w"]+\??: Record<string, never>;/m);
  });

  it('compiles the README walk-through in strict mode, without a cast', () => {
    expect(castsIn(WALKTHROUGH)).toEqual([]);
    writeFileSync(join(dir, 'walkthrough.ts'), WALKTHROUGH);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    const tsc = spawnSync(
      process.execPath,
      [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('runs the walk-through against the api and its projector', async () => {
    const orderId = `order-${randomUUID().slice(0, 8)}`;
    const { walkThrough } = (await import(join(dir, 'walkthrough.ts'))) as {
      walkThrough: (baseUrl: string, orderId: string) => Promise<Record<string, unknown>>;
    };
    const walked = await walkThrough(api.baseUrl, orderId);
    expect(walked).toEqual({
      started: {
        status: 201,
        body: {
          workflow: 'orderFulfillment',
          id: orderId,
          version: 1,
          state: 'awaitingPayment',
          status: 'running',
          // OrderPlaced (0) and the payment window's TimerScheduled (1).
          revision: 1,
          pendingTimers: [
            {
              timerId: expect.any(String),
              eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
              dueAt: expect.any(String),
            },
          ],
        },
        etag: '"1"',
        location: `/workflows/orderFulfillment/${orderId}`,
      },
      twice: { status: 409, code: 'INSTANCE_ALREADY_EXISTS' },
      paid: { state: 'fetchingGoods', revision: 3 },
      repeated: {
        body: {
          workflow: 'orderFulfillment',
          id: orderId,
          version: 1,
          state: 'fetchingGoods',
          status: 'running',
          revision: 3,
          pendingTimers: [],
        },
        replayed: 'true',
      },
      rejection: {
        status: 422,
        contentType: expect.stringMatching(/^application\/problem\+json/),
        code: 'EVENT_NOT_ACCEPTED',
        state: 'fetchingGoods',
        acceptedEvents: ['GoodsFetched', 'GoodsUnavailable'],
      },
      fetched: { state: 'shipping', revision: 4 },
      shipped: { state: 'completed', status: 'completed', revision: 6 },
      read: {
        etag: '"6"',
        status: 'completed',
        acceptedEvents: [],
        context: expect.objectContaining({ paymentId: 'pay-1', trackingId: 'trk-1' }),
      },
      history: COMPLETED_ORDER_EVENTS,
      list: { consistency: 'fresh', ids: [orderId] },
      stats: 1,
      projections: expect.arrayContaining(['instances', 'workflow_stats', 'definition_versions']),
    });
  });
});
