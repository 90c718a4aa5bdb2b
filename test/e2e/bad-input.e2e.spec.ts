import { join } from 'node:path';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MESSAGE_RECORD_OVERHEAD_BYTES,
  ErrorCode,
  EventStore,
  GlobalPosition,
  MAX_MESSAGE_TTL_SECONDS,
  MessageDefinition,
} from '@esflow/core';
import { orderFulfillmentFeature } from '@esflow/example-order-fulfillment';
import { kycOnboardingFeature } from '@esflow/example-kyc-onboarding';
import { createSqliteEventStore } from '@esflow/sqlite';
import { AppProcess, startApp } from '../support/app-process';
import { anOrder } from '../support/engine-fixture';
import { httpClient, rawExchange } from '../support/http-client';
import {
  badId,
  badIdempotencyKey,
  badIfMatch,
  badListQuery,
  badMigrateBody,
  badMigrationBatchBody,
  badTerminateBody,
  brokenPayload,
  notAnObject,
  notJsonContentType,
  notJsonText,
  sampleOf,
  schemasOf,
  WorkflowSchemas,
} from '../support/bad-input';

/**
 * The bad-input suite: property-based, over every endpoint and every field of every event schema
 * of the shipped workflows. For each generated request: a 4xx problem+json with a stable code
 * (never a 5xx), nothing appended (the store's head is where it was), and, at the end, the
 * process alive with its memory bounded. The seed is printed; rerun a failure with
 * `ESFLOW_BAD_INPUT_SEED=<seed> npx vitest run test/e2e/bad-input.e2e.spec.ts`; search deeper
 * with `ESFLOW_BAD_INPUT_CASES=5000`.
 */
const CASES = Number(process.env['ESFLOW_BAD_INPUT_CASES'] ?? 250);
const RAW_CASES = 40;
const SEED = Number(process.env['ESFLOW_BAD_INPUT_SEED'] ?? Date.now() % 2 ** 31);
const CODES = new Set<string>(Object.values(ErrorCode));

let api: AppProcess;
let http: ReturnType<typeof httpClient>;
let store: EventStore;
const FEATURES = [orderFulfillmentFeature, kycOnboardingFeature];
const schemas = schemasOf(FEATURES);
/** A message the shipped workflows declare, with its workflow's schemas. */
interface DeclaredMessage {
  readonly message: MessageDefinition;
  readonly schemas: WorkflowSchemas;
}
const messages: DeclaredMessage[] = FEATURES.flatMap((feature) =>
  feature.workflows.flatMap((definition) => Object.values(definition.messages)),
)
  .map((message) => ({
    message,
    schemas: schemas.find((w) => w.workflow === message.workflow)!,
  }))
  .filter(({ message, schemas: w }) => w.events.has(message.event));
/** A buffered message (no instance has its key), which the operators' bad requests name. */
const PARKED = `parked-${SEED}`;
/** The message ids the bad `POST /messages` requests carried: none may be known afterwards. */
const messageIdsSent = new Set<string>();
/** A running instance of each workflow, which the send cases target. */
const targets = new Map<string, string>();
/** Their ETags before the run. */
const revisions = new Map<string, string>();
/** The projections the api serves (a rebuild of one is not a refusal). */
const projections = new Set<string>();

beforeAll(async () => {
  console.log(`[bad-input] seed ${SEED}: ${CASES} HTTP cases, ${RAW_CASES} raw-socket cases`);
  api = await startApp('api', { env: { ESFLOW_MAX_EVENT_SIZE: '64kb' } });
  http = httpClient(api.baseUrl);
  store = createSqliteEventStore({ filename: join(api.dataDir, 'esflow.sqlite') });
  const order = anOrder();
  expect((await http.post('/workflows/orderFulfillment', { input: order })).status).toBe(201);
  targets.set('orderFulfillment', order.orderId);
  const user = { userId: `u-${SEED}`, email: 'a@example.org', fullName: 'A B', country: 'DE' };
  expect((await http.post('/workflows/kycOnboarding', { input: user })).status).toBe(201);
  targets.set('kycOnboarding', user.userId);
  for (const [workflow, id] of targets)
    revisions.set(id, (await http.get(`/workflows/${workflow}/${id}`)).headers.get('etag')!);
  const listed = await http.get<{ projections: { name: string }[] }>('/projections');
  for (const { name } of listed.body.projections) projections.add(name);
  const parked = await http.post<{ outcome: string }>('/messages', {
    name: 'PaymentReceived',
    correlationKey: `nobody-${SEED}`,
    messageId: PARKED,
    payload: { paymentId: 'p', amountCents: 1 },
  });
  expect([parked.status, parked.body.outcome]).toEqual([202, 'buffered']);
});
afterAll(async () => {
  await store?.close();
  await api?.dispose();
});

/** One request the api must refuse. */
interface BadRequest {
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** A `POST /messages`: the message id it names (or would have named, had it been valid). */
  readonly messageId?: string;
}

const json = (value: unknown) => JSON.stringify(value);
/**
 * An id as a path segment. `.` and `..` (even as `%2E%2E`) are dot segments to the URL parser
 * of fetch, which removes them before sending: those go in bodies here, and byte for byte in the
 * REST e2e suite.
 */
const segment = (id: string) => encodeURIComponent(id === '.' || id === '..' ? `${id}x!` : id);
const validStart = (workflow: string) =>
  workflow === 'orderFulfillment'
    ? anOrder('fuzz-never-created')
    : { userId: 'fuzz-never-created', email: 'e', fullName: 'f', country: 'DE' };
const withSchemas = (events: (w: WorkflowSchemas) => readonly string[]) =>
  schemas.filter((w) => events(w).some((type) => w.events.has(type)));

function badRequest(): fc.Arbitrary<BadRequest> {
  const workflow = fc.constantFrom(...schemas);
  const brokenStart = workflow.chain((w) =>
    brokenPayload(w, w.startEvent).map((broken) => ({
      kind: `start: ${w.startEvent} field`,
      method: 'POST',
      path: `/workflows/${w.workflow}`,
      body: json({ input: broken.payload }),
    })),
  );
  const brokenSend = fc.constantFrom(...withSchemas((w) => w.inputEvents)).chain((w) =>
    fc.constantFrom(...w.inputEvents.filter((type) => w.events.has(type))).chain((type) =>
      brokenPayload(w, type).map((broken) => ({
        kind: `send: ${type} field`,
        method: 'POST',
        path: `/workflows/${w.workflow}/${targets.get(w.workflow)}/events`,
        body: json({ type, payload: broken.payload }),
      })),
    ),
  );
  const badEnvelope = workflow.chain((w) =>
    fc
      .oneof(
        notAnObject.map((body) => ({ body: json(body), to: 'start' as const })),
        notAnObject
          .filter((input) => input !== undefined)
          .map((input) => ({ body: json({ input }), to: 'start' as const })),
        fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 })).map((id) => ({
          body: json({ id, input: validStart(w.workflow) }),
          to: 'start' as const,
        })),
        fc
          .stringMatching(/^[a-z]{1,8}$/)
          .filter((key) => key !== 'id' && key !== 'input')
          .map((key) => ({
            body: json({ input: validStart(w.workflow), [key]: 1 }),
            to: 'start' as const,
          })),
        fc
          .oneof(
            fc.integer(),
            fc.constant(''),
            fc.constant(null),
            fc.string({ maxLength: 6 }).map((s) => `Nope${s}`),
          )
          .map((type) => ({ body: json({ type, payload: {} }), to: 'send' as const })),
        notAnObject.map((payload) => ({
          body: json({ type: w.inputEvents[0], payload }),
          to: 'send' as const,
        })),
      )
      .map(({ body, to }) => ({
        kind: `envelope (${to})`,
        method: 'POST',
        path:
          to === 'start'
            ? `/workflows/${w.workflow}`
            : `/workflows/${w.workflow}/${targets.get(w.workflow)}/events`,
        body,
      })),
  );
  const notJson = fc.tuple(workflow, notJsonText).map(([w, body]) => ({
    kind: 'body not JSON',
    method: 'POST',
    path: `/workflows/${w.workflow}`,
    body,
  }));
  const wrongContentType = fc.tuple(workflow, notJsonContentType).map(([w, type]) => ({
    kind: 'content type not JSON',
    method: 'POST',
    path: `/workflows/${w.workflow}`,
    body: json({ input: validStart(w.workflow) }),
    headers: { 'content-type': type },
  }));
  const badIds = fc.tuple(workflow, badId, fc.integer({ min: 0, max: 3 })).map(
    ([w, id, where]) =>
      [
        {
          kind: 'bad id: start body',
          method: 'POST',
          path: `/workflows/${w.workflow}`,
          body: json({ id, input: validStart(w.workflow) }),
        },
        {
          kind: 'bad id: workflow segment',
          method: 'POST',
          path: `/workflows/${segment(id)}`,
          body: json({ input: validStart(w.workflow) }),
        },
        {
          kind: 'bad id: instance segment',
          method: 'POST',
          path: `/workflows/${w.workflow}/${segment(id)}/events`,
          body: json({ type: w.inputEvents[0], payload: {} }),
        },
        { kind: 'bad id: read', method: 'GET', path: `/workflows/${w.workflow}/${segment(id)}` },
      ][where]!,
  );
  // A payment the order would accept, so only the header can be the reason for the refusal.
  const payment = json({ type: 'PaymentReceived', payload: { paymentId: 'p', amountCents: 1 } });
  const orderEvents = () => `/workflows/orderFulfillment/${targets.get('orderFulfillment')}/events`;
  const badHeaders = fc
    .oneof(
      badIfMatch.map((value) => ({ 'if-match': value })),
      // A stale or future revision: not the order's own (1), which would take the payment.
      fc
        .integer({ min: 1, max: 10 ** 9 })
        .map((revision) => `"${revision}"`)
        .filter((etag) => etag !== revisions.get(targets.get('orderFulfillment')!))
        .map((etag) => ({ 'if-match': etag })),
      badIdempotencyKey.map((value) => ({ 'idempotency-key': value })),
    )
    .map((headers) => ({
      kind: `header ${Object.keys(headers)[0]}`,
      method: 'POST',
      path: orderEvents(),
      body: payment,
      headers,
    }));
  // An operator's termination: a body without a usable reason, sent as JSON or not; a good one
  // with a bad or stale If-Match, to an instance or workflow that does not exist, or a bad id
  // (a good one without If-Match to a running instance would terminate it: never generated).
  const goodTermination = json({ reason: 'an operator decision' });
  const badTerminate = fc
    .oneof(
      fc.tuple(workflow, badTerminateBody).map(([w, body]) => ({
        kind: 'terminate body',
        path: `/workflows/${w.workflow}/${targets.get(w.workflow)}/terminate`,
        body: json(body),
      })),
      fc.tuple(workflow, notJsonText).map(([w, body]) => ({
        kind: 'terminate body not JSON',
        path: `/workflows/${w.workflow}/${targets.get(w.workflow)}/terminate`,
        body,
      })),
      fc.tuple(workflow, notJsonContentType).map(([w, type]) => ({
        kind: 'terminate: content type not JSON',
        path: `/workflows/${w.workflow}/${targets.get(w.workflow)}/terminate`,
        body: goodTermination,
        headers: { 'content-type': type },
      })),
      fc
        .tuple(
          workflow,
          fc.oneof(
            badIfMatch,
            fc
              .integer({ min: 0, max: 10 ** 9 })
              .map((revision) => `"${revision}"`)
              .filter((etag) => ![...revisions.values()].includes(etag)),
          ),
        )
        .map(([w, ifMatch]) => ({
          kind: 'terminate: header if-match',
          path: `/workflows/${w.workflow}/${targets.get(w.workflow)}/terminate`,
          body: goodTermination,
          headers: { 'if-match': ifMatch },
        })),
      fc.tuple(workflow, fc.oneof(fc.uuid(), badId)).map(([w, id]) => ({
        kind: 'terminate: unknown or bad id',
        path: `/workflows/${w.workflow}/${segment(id)}/terminate`,
        body: goodTermination,
      })),
      fc
        .oneof(
          fc.stringMatching(/^[a-z][A-Za-z0-9]{0,12}$/).filter((name) => !targets.has(name)),
          badId,
        )
        .map((name) => ({
          kind: 'terminate: unknown or bad workflow',
          path: `/workflows/${segment(name)}/${targets.get('orderFulfillment')}/terminate`,
          body: goodTermination,
        })),
    )
    .map((request) => ({ method: 'POST', ...request }));
  // An operator's migration: this api registers v1 of each workflow only, so no migration can
  // be recorded: a body broken in one place, or a well-formed one (to a version that is not
  // registered, or the instance's own), sent as JSON or not; a stale If-Match; an instance or
  // workflow that does not exist, or a bad id.
  const instancePath = (w: WorkflowSchemas, action: string) =>
    `/workflows/${w.workflow}/${targets.get(w.workflow)}/${action}`;
  const badMigrate = fc
    .oneof(
      fc.tuple(workflow, badMigrateBody).map(([w, body]) => ({
        kind: 'migrate body',
        path: instancePath(w, 'migrate'),
        body: json(body),
      })),
      fc.tuple(workflow, notJsonText).map(([w, body]) => ({
        kind: 'migrate body not JSON',
        path: instancePath(w, 'migrate'),
        body,
      })),
      fc.tuple(workflow, notJsonContentType).map(([w, type]) => ({
        kind: 'migrate: content type not JSON',
        path: instancePath(w, 'migrate'),
        body: json({ toVersion: 2, dryRun: true }),
        headers: { 'content-type': type },
      })),
      fc
        .tuple(
          workflow,
          fc.oneof(
            badIfMatch,
            fc
              .integer({ min: 0, max: 10 ** 9 })
              .map((revision) => `"${revision}"`)
              .filter((etag) => ![...revisions.values()].includes(etag)),
          ),
        )
        .map(([w, ifMatch]) => ({
          kind: 'migrate: header if-match',
          path: instancePath(w, 'migrate'),
          body: json({ toVersion: 1 }),
          headers: { 'if-match': ifMatch },
        })),
      fc.tuple(workflow, fc.oneof(fc.uuid(), badId)).map(([w, id]) => ({
        kind: 'migrate: unknown or bad id',
        path: `/workflows/${w.workflow}/${segment(id)}/migrate`,
        body: json({ toVersion: 2 }),
      })),
      fc
        .oneof(
          fc.stringMatching(/^[a-z][A-Za-z0-9]{0,12}$/).filter((name) => !targets.has(name)),
          badId,
        )
        .map((name) => ({
          kind: 'migrate: unknown or bad workflow',
          path: `/workflows/${segment(name)}/${targets.get('orderFulfillment')}/migrate`,
          body: json({ toVersion: 2 }),
        })),
    )
    .map((request) => ({ method: 'POST', ...request }));
  // A batch migration: a body that is broken, or names a target that is not registered or is
  // the version it migrates from (a good one would start: never generated), sent as JSON or not,
  // for a workflow that does not exist or a bad name; a batch's progress under an unknown or
  // bad id.
  const badBatch = fc.oneof(
    fc.tuple(workflow, badMigrationBatchBody).map(([w, body]) => ({
      kind: 'migration batch body',
      method: 'POST',
      path: `/workflows/${w.workflow}/migrations`,
      body: json(body),
    })),
    fc
      .tuple(
        workflow,
        fc.oneof(
          notJsonText.map((body) => ({ body })),
          notJsonContentType.map((type) => ({ type })),
        ),
      )
      .map(([w, wrong]) => ({
        kind:
          'body' in wrong
            ? 'migration batch: body not JSON'
            : 'migration batch: content type not JSON',
        method: 'POST',
        path: `/workflows/${w.workflow}/migrations`,
        body: 'body' in wrong ? wrong.body : json({ filter: { fromVersion: 1 }, toVersion: 2 }),
        ...('type' in wrong ? { headers: { 'content-type': wrong.type } } : {}),
      })),
    fc
      .oneof(
        fc.stringMatching(/^[a-z][A-Za-z0-9]{0,12}$/).filter((name) => !targets.has(name)),
        badId,
      )
      .map((name) => ({
        kind: 'migration batch: unknown or bad workflow',
        method: 'POST',
        path: `/workflows/${segment(name)}/migrations`,
        body: json({ filter: { fromVersion: 2 }, toVersion: 1 }),
      })),
    fc.oneof(fc.uuid(), badId).map((id) => ({
      kind: 'migration batch progress: unknown or bad id',
      method: 'GET',
      path: `/migrations/${segment(id)}`,
    })),
  );
  const badQuery = badListQuery.map((query) => ({
    kind: 'list query',
    method: 'GET',
    path: `/workflows?${query}`,
  }));
  const badProjection = fc
    .tuple(
      fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9]{1,12}$/).filter((name) => !projections.has(name)),
        fc.constantFrom(...projections),
      ),
      fc.constantFrom('rebuild', 'retry', 'skip'),
    )
    // A projection that exists and has not stopped: only retry and skip are refusals there.
    .filter(([name, action]) => !projections.has(name) || action !== 'rebuild')
    .map(([name, action]) => ({
      kind: `projection ${action}`,
      method: 'POST',
      path: `/projections/${name}/${action}`,
    }));
  // The external-worker and incident calls: a lease body that breaks a rule; a report or a
  // decision on a command or incident that does not exist (this api runs no dispatcher: its
  // queue is empty), or with a bad id; a bad query of their lists.
  const leaseOf = (fields: Record<string, unknown>) => ({
    workerId: 'fuzz-worker',
    commandTypes: ['RunKycCheck'],
    ...fields,
  });
  const badLease = fc
    .oneof(
      notAnObject,
      fc
        .oneof(
          fc.constant(''),
          fc.integer(),
          fc.constant('has space'),
          fc.constant('w'.repeat(201)),
        )
        .map((workerId) => leaseOf({ workerId })),
      fc
        .oneof(
          fc.constant([]),
          fc.constant('RunKycCheck'),
          fc.array(
            fc.string({ maxLength: 6 }).filter((type) => !/^[A-Z][A-Za-z0-9]*$/.test(type)),
            { minLength: 1, maxLength: 3 },
          ),
          fc.constant(Array.from({ length: 51 }, (_, i) => `Type${i}`)),
        )
        .map((commandTypes) => leaseOf({ commandTypes })),
      fc
        .oneof(
          fc.integer({ max: 999 }),
          fc.integer({ min: 600_001 }),
          fc.integer({ min: 1_000, max: 599_999 }).map((ms) => ms + 0.5),
          fc.string({ maxLength: 6 }),
          fc.constant(null),
        )
        .map((leaseMs) => leaseOf({ leaseMs })),
      fc
        .oneof(fc.integer({ max: 0 }), fc.integer({ min: 101 }), fc.constant(2.5))
        .map((max) => leaseOf({ max })),
      fc
        .stringMatching(/^[a-z]{1,8}$/)
        .filter((key) => key !== 'max')
        .map((key) => leaseOf({ [key]: 1 })),
    )
    .map((body) => ({
      kind: 'lease body',
      method: 'POST',
      path: '/commands/lease',
      body: json(body),
    }));
  const badReport = fc
    .tuple(
      fc.constantFrom(
        { route: 'commands', action: 'complete', body: { workerId: 'w' } },
        { route: 'commands', action: 'fail', body: { workerId: 'w', error: 'down' } },
        { route: 'incidents', action: 'retry', body: {} },
        { route: 'incidents', action: 'resolve', body: { note: 'by hand' } },
      ),
      fc.oneof(fc.uuid(), badId),
    )
    .map(([{ route, action, body }, id]) => ({
      kind: `${route} ${action}`,
      method: 'POST',
      path: `/${route}/${segment(id)}/${action}`,
      body: json(body),
    }));
  const badWorkerQuery = fc
    .tuple(
      fc.constantFrom('/commands', '/incidents'),
      fc.oneof(
        fc.constantFrom('limit=0', 'limit=1e1', 'limit=1001', 'limit=%205', 'after=x', 'after=1/2'),
        fc
          .stringMatching(/^[a-z]{1,8}$/)
          .filter((key) => !['status', 'workflow', 'limit', 'after'].includes(key))
          .map((key) => `${key}=1`),
      ),
    )
    .map(([path, query]) => ({ kind: `${path} query`, method: 'GET', path: `${path}?${query}` }));
  const wrongMethod = fc
    .tuple(
      fc.constantFrom('PUT', 'PATCH', 'DELETE'),
      fc.constantFrom(
        '/workflows/orderFulfillment',
        '/workflows/orderFulfillment/order-1/terminate',
        '/workflows/orderFulfillment/order-1/migrate',
        '/workflows/orderFulfillment/migrations',
        '/migrations/batch-1',
        '/workflows',
        '/health',
        '/projections',
        '/projections/instances/rebuild',
        '/commands/lease',
        '/incidents',
        '/messages',
        `/messages/${PARKED}`,
        `/messages/${PARKED}/retry`,
        `/messages/${PARKED}/discard`,
      ),
    )
    .map(([method, path]) => ({ kind: 'wrong method', method, path, body: '{}' }));
  // The messages: a `POST /messages` body broken in one place (its envelope, its ids, its name,
  // or its payload against the schema of the event it becomes), to the running instance of its
  // workflow, under a message id of its own that must stay unknown; a valid one that is not
  // sent as JSON. An operator's retry or discard of a buffered message with a bad body (a good
  // one would record an attempt), or sent as something else than JSON; a good body naming a
  // message never received, or a bad id; a read of a bad id; a bad query of the list.
  const fuzzMessageId = fc.nat({ max: 10 ** 6 }).map((n) => `fuzz-msg-${SEED}-${n}`);
  const validMessage = ({ message, schemas: w }: DeclaredMessage, messageId: string) => ({
    name: message.name,
    correlationKey: targets.get(message.workflow)!,
    messageId,
    payload: sampleOf(w.events.get(message.event)!, w.named),
  });
  const brokenMessage = fc
    .tuple(fc.constantFrom(...messages), fuzzMessageId)
    .chain(([declared, messageId]) => {
      const valid = validMessage(declared, messageId);
      const { event } = declared.message;
      return fc
        .oneof(
          brokenPayload(declared.schemas, event)
            // Over the event size limit: the api records it today; see the test of its own below.
            .filter((broken) => !broken.mutation.endsWith(' is 80 KB'))
            .map((broken) => ({
              kind: `message: ${event} field`,
              body: { ...valid, payload: broken.payload },
            })),
          notAnObject.map((payload) => ({
            kind: 'message: payload not an object',
            body: { ...valid, payload },
          })),
          fc
            .tuple(
              fc.constantFrom('name', 'correlationKey', 'messageId'),
              fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer(), fc.boolean()),
            )
            .map(([field, value]) => ({
              kind: 'message: field missing or not a string',
              body: { ...valid, [field]: value },
            })),
          fc
            .stringMatching(/^[a-z]{1,8}$/)
            .filter((key) => key !== 'name' && key !== 'payload')
            .map((key) => ({ kind: 'message: unknown member', body: { ...valid, [key]: 1 } })),
          fc
            .oneof(
              fc.integer({ max: 0 }),
              fc.integer({ min: MAX_MESSAGE_TTL_SECONDS + 1 }),
              fc.constantFrom(1.5, '60', null),
            )
            .map((ttlSeconds) => ({ kind: 'message: ttlSeconds', body: { ...valid, ttlSeconds } })),
          fc
            .oneof(
              fc.constant(''),
              fc.constant(declared.message.name.toLowerCase()),
              fc.string({ maxLength: 6 }).map((s) => `Nope${s}`),
            )
            .map((name) => ({ kind: 'message: unknown name', body: { ...valid, name } })),
          fc.constantFrom('', 'k'.repeat(201)).map((correlationKey) => ({
            kind: 'message: correlationKey',
            body: { ...valid, correlationKey },
          })),
          badId.map((id) => ({
            kind: 'message: bad messageId',
            body: { ...valid, messageId: id },
          })),
        )
        .map(({ kind, body }) => ({
          kind,
          method: 'POST',
          path: '/messages',
          body: json(body),
          messageId,
        }));
    });
  const messageNotJson = fc
    .tuple(
      fc.constantFrom(...messages),
      fuzzMessageId,
      fc.oneof(
        notJsonText.map((body) => ({ body })),
        notJsonContentType.map((type) => ({ type })),
      ),
    )
    .map(([declared, messageId, wrong]) => ({
      kind: 'body' in wrong ? 'message: body not JSON' : 'message: content type not JSON',
      method: 'POST',
      path: '/messages',
      body: 'body' in wrong ? wrong.body : json(validMessage(declared, messageId)),
      ...('type' in wrong ? { headers: { 'content-type': wrong.type } } : {}),
      messageId,
    }));
  const badBy = fc.oneof(
    fc.constantFrom('', 'b'.repeat(201), null),
    fc.integer(),
    fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
  );
  const badOperatorBody = fc.oneof(
    fc
      .oneof(
        // A `null` body is read as no body (as for an incident retry): a retry, not a refusal.
        notAnObject.filter((body) => body !== null),
        badBy.map((by) => ({ by })),
        fc
          .stringMatching(/^[a-z]{1,8}$/)
          .filter((key) => key !== 'by')
          .map((key) => ({ [key]: 1 })),
      )
      .map((body) => ({ action: 'retry', body })),
    fc
      .oneof(
        notAnObject,
        fc.constantFrom({}, { by: 'ops' }),
        fc
          .oneof(fc.constantFrom('', 'r'.repeat(2001), null), fc.integer())
          .map((reason) => ({ reason })),
        badBy.map((by) => ({ reason: 'a sandbox payment', by })),
        fc
          .stringMatching(/^[a-z]{1,8}$/)
          .filter((key) => key !== 'by' && key !== 'reason')
          .map((key) => ({ reason: 'a sandbox payment', [key]: 1 })),
      )
      .map((body) => ({ action: 'discard', body })),
  );
  const goodOperatorBody = fc.constantFrom(
    { action: 'retry', body: { by: 'ops' } },
    { action: 'discard', body: { reason: 'a sandbox payment' } },
  );
  const badMessageOperator = fc.oneof(
    badOperatorBody.map(({ action, body }) => ({
      kind: `message ${action} body`,
      method: 'POST',
      path: `/messages/${PARKED}/${action}`,
      body: json(body),
    })),
    fc.tuple(goodOperatorBody, notJsonContentType).map(([{ action, body }, type]) => ({
      kind: `message ${action}: content type not JSON`,
      method: 'POST',
      path: `/messages/${PARKED}/${action}`,
      body: json(body),
      headers: { 'content-type': type },
    })),
    fc.tuple(goodOperatorBody, fc.oneof(fc.uuid(), badId)).map(([{ action, body }, id]) => ({
      kind: `message ${action}: unknown or bad id`,
      method: 'POST',
      path: `/messages/${segment(id)}/${action}`,
      body: json(body),
    })),
    fc.oneof(fc.uuid(), badId).map((id) => ({
      kind: 'message read: unknown or bad id',
      method: 'GET',
      path: `/messages/${segment(id)}`,
    })),
  );
  const badMessageQuery = fc
    .oneof(
      fc.constantFrom(
        'limit=0',
        'limit=1e1',
        'limit=1001',
        'limit=%205',
        'limit=1&limit=2',
        'after=x',
        'after=1/2',
        'status=bogus',
        'status=BUFFERED',
      ),
      fc
        .stringMatching(/^[a-z]{1,8}$/)
        .filter((key) => !['status', 'name', 'workflow', 'limit', 'after'].includes(key))
        .map((key) => `${key}=1`),
    )
    .map((query) => ({ kind: '/messages query', method: 'GET', path: `/messages?${query}` }));
  return fc.oneof(
    { arbitrary: brokenStart, weight: 5 },
    { arbitrary: brokenSend, weight: 5 },
    { arbitrary: badEnvelope, weight: 3 },
    { arbitrary: notJson, weight: 1 },
    { arbitrary: wrongContentType, weight: 1 },
    { arbitrary: badIds, weight: 2 },
    { arbitrary: badHeaders, weight: 2 },
    { arbitrary: badTerminate, weight: 3 },
    { arbitrary: badMigrate, weight: 3 },
    { arbitrary: badBatch, weight: 2 },
    { arbitrary: badQuery, weight: 2 },
    { arbitrary: badProjection, weight: 1 },
    { arbitrary: wrongMethod, weight: 1 },
    { arbitrary: badLease, weight: 1 },
    { arbitrary: badReport, weight: 1 },
    { arbitrary: badWorkerQuery, weight: 1 },
    { arbitrary: brokenMessage, weight: 4 },
    { arbitrary: messageNotJson, weight: 1 },
    { arbitrary: badMessageOperator, weight: 2 },
    { arbitrary: badMessageQuery, weight: 1 },
  );
}

async function headOfStore(): Promise<GlobalPosition | undefined> {
  return (await store.readAll({ direction: 'backwards', maxCount: 1 }))[0]?.position;
}

async function metric(name: string): Promise<number> {
  const text = (await http.get<string>('/metrics')).body;
  return Number(new RegExp(`^${name} ([0-9.e+]+)`, 'm').exec(text)?.[1]);
}

describe('bad input, generated', () => {
  it(
    `refuses ${CASES} generated bad requests with a 4xx problem and writes nothing`,
    async () => {
      const head = await headOfStore();
      expect(head).toBeDefined();
      const rssBefore = await metric('process_resident_memory_bytes');
      const kinds = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(badRequest(), async (request) => {
          kinds.set(request.kind, (kinds.get(request.kind) ?? 0) + 1);
          if (request.messageId) messageIdsSent.add(request.messageId);
          const response = await http.request(request.method, request.path, request.body, {
            ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...request.headers,
          });
          const context = `${request.kind}: ${request.method} ${request.path.slice(0, 120)} ${String(request.body).slice(0, 200)} → ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`;
          expect(response.status, context).toBeGreaterThanOrEqual(400);
          expect(response.status, context).toBeLessThan(500);
          expect(response.headers.get('content-type'), context).toMatch(
            /^application\/problem\+json/,
          );
          const problem = response.body as { code?: string; status?: number; type?: string };
          expect(CODES.has(problem.code ?? ''), `stable code: ${context}`).toBe(true);
          expect(problem.status, context).toBe(response.status);
          expect(
            (await store.readAll({ after: head, maxCount: 1 })).length,
            `written: ${context}`,
          ).toBe(0);
        }),
        { seed: SEED, numRuns: CASES },
      );
      console.log(
        `[bad-input] cases by kind: ${[...kinds]
          .sort()
          .map(([kind, n]) => `${kind} ${n}`)
          .join('; ')}`,
      );
      expect([...kinds.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(CASES);
      // No message was recorded, under the id any of the bad ones named; the buffered one the
      // operators' bad requests named is as it was.
      expect(messageIdsSent.size).toBeGreaterThan(0);
      for (const messageId of messageIdsSent) {
        const read = await http.get<{ code: string }>(`/messages/${messageId}`);
        expect([read.status, read.body.code], messageId).toEqual([404, 'MESSAGE_NOT_FOUND']);
      }
      const parked = await http.get<{ message: { status: string; attempts: number } }>(
        `/messages/${PARKED}`,
      );
      expect(parked.body.message).toMatchObject({ status: 'buffered', attempts: 1 });
      // Alive, the instances as they were, memory bounded.
      expect((await http.get('/health')).status).toBe(200);
      for (const [workflow, id] of targets)
        expect((await http.get(`/workflows/${workflow}/${id}`)).headers.get('etag')).toBe(
          revisions.get(id),
        );
      const rssAfter = await metric('process_resident_memory_bytes');
      console.log(
        `[bad-input] api resident memory ${Math.round(rssBefore / 2 ** 20)} MB → ${Math.round(rssAfter / 2 ** 20)} MB`,
      );
      expect(rssAfter - rssBefore).toBeLessThan(150 * 2 ** 20);
    },
    120_000 + CASES * 100,
  );

  it(`answers ${RAW_CASES} generated malformed HTTP requests with problem details`, async () => {
    const host = new URL(api.baseUrl).host;
    const token = fc.stringMatching(/^[\x21-\x7e]{1,12}$/);
    const malformed = fc.oneof(
      // Methods Node's parser does not know.
      fc
        .stringMatching(/^[A-Z]{3,9}$/)
        .filter(
          (method) =>
            ![
              'GET',
              'HEAD',
              'POST',
              'PUT',
              'PATCH',
              'DELETE',
              'OPTIONS',
              'TRACE',
              'CONNECT',
            ].includes(method) &&
            !/^(ACL|BIND|CHECKOUT|COPY|LINK|LOCK|MERGE|MKACTIVITY|MKCALENDAR|MKCOL|MOVE|NOTIFY|PROPFIND|PROPPATCH|PURGE|QUERY|REBIND|REPORT|SEARCH|SOURCE|SUBSCRIBE|UNBIND|UNLINK|UNLOCK|UNSUBSCRIBE)$/.test(
              method,
            ),
        )
        .map((method) => `${method} /health HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
      // A broken request line or version.
      fc
        .tuple(token, fc.constantFrom('HTTP/9.9', 'HTTP/1', 'HTP/1.1', '', 'HTTP/1.1 extra'))
        .map(([path, version]) => `GET /${path} ${version}\r\nHost: ${host}\r\n\r\n`),
      // Header lines that are not headers.
      fc
        .stringMatching(/^[ -~]{1,20}$/)
        .filter((line) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(line))
        .map((line) => `GET /health HTTP/1.1\r\nHost: ${host}\r\n${line}\r\n\r\n`),
      // Framing that cannot be trusted.
      fc
        .constantFrom(
          'Content-Length: 4\r\nTransfer-Encoding: chunked',
          'Content-Length: abc',
          'Content-Length: 1\r\nContent-Length: 2',
          'Transfer-Encoding: gzip, chunked, x',
        )
        .map(
          (framing) =>
            `POST /workflows/orderFulfillment HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`,
        ),
      // Headers over the size limit.
      fc
        .integer({ min: 17, max: 40 })
        .map(
          (kb) =>
            `GET /health HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'b'.repeat(kb * 1024)}\r\n\r\n`,
        ),
    );
    const head = await headOfStore();
    await fc.assert(
      fc.asyncProperty(malformed, async (bytes) => {
        const answer = await rawExchange(api.baseUrl, bytes, 5_000);
        const context = `${JSON.stringify(bytes.slice(0, 120))} → ${answer.status} ${answer.body.slice(0, 200)}`;
        expect(answer.status, context).toBeGreaterThanOrEqual(400);
        expect(answer.status, context).toBeLessThan(500);
        expect(answer.headers['content-type'], context).toMatch(/^application\/problem\+json/);
        expect(CODES.has((JSON.parse(answer.body) as { code: string }).code), context).toBe(true);
      }),
      { seed: SEED, numRuns: RAW_CASES },
    );
    expect((await store.readAll({ after: head, maxCount: 1 })).length).toBe(0);
    expect((await http.get('/health')).status).toBe(200);
  }, 60_000);
});

describe('a message over the event size limit', () => {
  it('is refused with 413 PAYLOAD_TOO_LARGE and writes nothing, as any event over it is', async () => {
    // ESFLOW_MAX_EVENT_SIZE is 64 KB here: a payment with an 80 KB field (under the body limit),
    // once for an order that does not exist (it would be buffered) and once for the waiting
    // order (it would be delivered).
    const head = await headOfStore();
    const keys = [`nobody-big-${SEED}`, targets.get('orderFulfillment')!];
    for (const [i, correlationKey] of keys.entries()) {
      const messageId = `big-${SEED}-${i}`;
      const sent = await http.post<{ code?: string; limitBytes?: number }>('/messages', {
        name: 'PaymentReceived',
        correlationKey,
        messageId,
        payload: { paymentId: 'p'.repeat(80 * 1024), amountCents: 1 },
      });
      const context = `${correlationKey}: ${sent.status} ${JSON.stringify(sent.body).slice(0, 300)}`;
      expect([sent.status, sent.body.code], context).toEqual([413, ErrorCode.PayloadTooLarge]);
      // The event limit less the room the message's own record keeps beside its payload.
      expect(sent.body.limitBytes, context).toBe(64 * 1024 - MESSAGE_RECORD_OVERHEAD_BYTES);
      expect((await http.get(`/messages/${messageId}`)).status, context).toBe(404);
    }
    expect((await store.readAll({ after: head, maxCount: 1 })).length).toBe(0);
  });
});
