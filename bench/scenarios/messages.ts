import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CorrelationTrigger,
  EventStore,
  MessageCorrelationService,
  MessageCorrelator,
  MessageIndex,
  messageEventFilter,
  MessageStreams,
  realSleep,
  WorkflowCatalog,
} from '@esflow/core';
import { systemClock } from '@esflow/core/node';
import { orderFulfillmentFeature } from '@esflow/example-order-fulfillment';
import { createEsflowRuntime, EsflowRuntime } from '@esflow/nest';
import {
  createEmbeddedSchemaRegistry,
  createSqliteEventStore,
  createSqliteMessageIndex,
  createSqliteReadModelStore,
  SqliteEventStore,
} from '@esflow/sqlite';
import {
  EngineOpsResult,
  engineOver,
  measureSendBaseline,
  placeOrders,
  timedOps,
} from './engine-ops';

/** The targets (measured and reported, never asserted). */
export const MESSAGE_TARGETS = { deliveredVsSends: 0.8, bufferedVsDelivered: 1.0 } as const;

/** The message the scenario sends: orderFulfillment's payment, correlated by `orderId`. */
const MESSAGE = 'PaymentReceived';

/** How many outcomes of each kind a run's answers came to (`rejected:<code>`, `threw` too). */
export type OutcomeCounts = Readonly<Record<string, number>>;

export interface DeliveredMessagesResult {
  /** Placing the orders the messages go to (not timed; for scale). */
  readonly setup: EngineOpsResult;
  /**
   * From a {@link MessageCorrelationService}'s start until its index checkpoint had reached the
   * last event it follows (every order's correlation keys indexed); it was stopped then.
   */
  readonly indexCatchUpSeconds: number;
  /** One `receive` per order, 32 in flight, each expected `delivered` (one append). */
  readonly run: EngineOpsResult;
  readonly outcomes: OutcomeCounts;
  /** Against the baselines' mean sends/s. */
  readonly deliveredVsSends: number;
  /** Orders found in `fetchingGoods` (the state PaymentReceived leads to) afterwards. */
  readonly instancesInFetchingGoods: number;
}

export interface BufferedMessagesResult {
  /** One `receive` per order not placed yet, 32 in flight, each expected `buffered`. */
  readonly run: EngineOpsResult;
  readonly outcomes: OutcomeCounts;
  /** Buffered/s against delivered/s of the step before (≥ 1: buffering is no dearer). */
  readonly bufferedVsDelivered: number;
  readonly bufferedVsSends: number;
}

export interface BufferedThenDeliveredResult {
  /**
   * From the service's start until its index had followed the log to its head and it had looked
   * once at every buffered message (finding no instance yet): before the orders were placed.
   */
  readonly serviceCatchUpSeconds: number;
  /**
   * Placing the orders the buffered messages wait for, 32 in flight, the service running (its
   * write counters count the service's deliveries meanwhile too).
   */
  readonly starts: EngineOpsResult;
  /** Messages the service delivered (of `instances`); fewer when the wait for them ran out. */
  readonly delivered: number;
  /** From the first order placed to the last delivery the correlator recorded. */
  readonly seconds: number;
  /** `delivered` over `seconds`, placing the orders included (information, no target). */
  readonly messagesPerSecond: number;
  readonly messagesVsSends: number;
  /** From the last order placed to the last delivery recorded. */
  readonly lastDeliveredSecondsAfterStarts: number;
  /** From the first order placed until the service's index showed every one delivered. */
  readonly allDeliveredInIndexSeconds: number;
  /** The service's correlations again, by trigger, from its start to its stop. */
  readonly correlationsAgain: OutcomeCounts;
  /** Events per append and appends per fsync over the orders and the deliveries together. */
  readonly eventsPerAppend: number;
  readonly appendsPerFsync: number;
  /** Orders found in `fetchingGoods` afterwards. */
  readonly instancesInFetchingGoods: number;
  /** Messages the index shows `delivered` to their order afterwards. */
  readonly messagesDeliveredInIndex: number;
  readonly serviceErrors: readonly string[];
}

export interface MessagesResult {
  readonly instances: number;
  readonly concurrency: number;
  /** Placing the orders the baseline's sends go to (not the baseline itself; for scale). */
  readonly baselineStarts: EngineOpsResult;
  /** Baseline: one `PaymentReceived` sent to each of `instances` orders by `engine.sendEvent`. */
  readonly baselineSends: EngineOpsResult;
  /** The same baseline again, after the message runs (fresh orders): the machine's drift. */
  readonly baselineSendsAfter: EngineOpsResult;
  /** The mean of the two baselines' sends/s: what the ratios to sends are taken against. */
  readonly baselineSendsPerSecond: number;
  readonly delivered: DeliveredMessagesResult;
  readonly buffered: BufferedMessagesResult;
  readonly bufferedThenDelivered: BufferedThenDeliveredResult;
  /** The first answers that were not the expected outcome, and the service's faults. */
  readonly firstErrors: readonly string[];
  readonly targets: {
    readonly deliveredAtLeast0_8xSends: boolean;
    readonly bufferingNoDearerThanDelivering: boolean;
  };
}

const log = (line: string) => process.stderr.write(`  messages: ${line}\n`);

async function waitUntil(
  what: string,
  timeoutMs: number,
  everyMs: number,
  done: () => Promise<boolean> | boolean,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) {
      log(`gave up waiting for ${what} after ${timeoutMs} ms`);
      return false;
    }
    await realSleep(everyMs);
  }
  return true;
}

/** A runtime of its own (cold instance cache), its correlator over `index`, as a process has. */
function runtimeOver(
  store: SqliteEventStore,
  database: string,
  index: MessageIndex,
): Promise<EsflowRuntime> {
  return createEsflowRuntime({
    store,
    registry: createEmbeddedSchemaRegistry({ filename: database }),
    features: [{ feature: orderFulfillmentFeature, registeredBy: 'bench' }],
    clock: systemClock,
    messageIndex: index,
  });
}

const paymentOf = (i: number) => ({ paymentId: `pay-${i}`, amountCents: 4999 });

/** The orders `<prefix>-0…` found in `fetchingGoods`, by an engine of its own (not timed). */
async function countInFetchingGoods(
  store: SqliteEventStore,
  database: string,
  prefix: string,
  count: number,
  concurrency: number,
): Promise<number> {
  const checker = (await engineOver(store, database, systemClock)).engine;
  let found = 0;
  await timedOps(store, count, concurrency, async (i) => {
    const view = await checker.queries.get('orderFulfillment', `${prefix}-${i}`);
    if (view.ok && view.value.state === 'fetchingGoods') found++;
    return true;
  });
  return found;
}

/** Whether `index` has followed the log up to the last event it follows. */
async function indexAtHead(
  store: EventStore,
  index: MessageIndex,
  catalog: WorkflowCatalog,
): Promise<boolean> {
  const after = await index.checkpoint();
  const behind = await store.countEvents!({
    ...(after ? { after } : {}),
    filter: messageEventFilter(catalog),
  });
  return behind === 0;
}

/** Collects the first errors (answers other than the expected outcome, service faults). */
class Errors {
  readonly first: string[] = [];
  add(what: string): void {
    if (this.first.length < 20) this.first.push(what);
  }
}

/**
 * `count` messages `PaymentReceived` for orders `<prefix>-i` through `correlator.receive`, 32 in
 * flight; an answer other than `expected` is an error.
 */
function receiveAll(
  store: SqliteEventStore,
  correlator: MessageCorrelator,
  prefix: string,
  count: number,
  concurrency: number,
  expected: 'delivered' | 'buffered',
  errors: Errors,
): Promise<{ run: EngineOpsResult; outcomes: OutcomeCounts }> {
  const outcomes: Record<string, number> = {};
  const counted = (kind: string) => (outcomes[kind] = (outcomes[kind] ?? 0) + 1);
  return timedOps(store, count, concurrency, async (i) => {
    const orderId = `${prefix}-${i}`;
    try {
      const answer = await correlator.receive({
        name: MESSAGE,
        correlationKey: orderId,
        messageId: `payment-${orderId}`,
        payload: paymentOf(i),
        source: { kind: 'rest' },
      });
      if (!answer.ok) {
        counted(`rejected:${answer.rejection.code}`);
        errors.add(`${orderId}: ${answer.rejection.code} ${answer.rejection.message}`);
        return false;
      }
      counted(answer.value.outcome);
      if (answer.value.outcome === expected) return true;
      errors.add(`${orderId}: ${answer.value.outcome} (${answer.value.detail ?? ''})`);
      return false;
    } catch (error) {
      counted('threw');
      errors.add(`${orderId}: threw ${(error as Error).message}`);
      return false;
    }
  }).then((run) => ({ run, outcomes }));
}

/** The projector's message correlation service over `runtime`, its leases in `readModelDb`. */
function serviceOver(
  store: SqliteEventStore,
  runtime: EsflowRuntime,
  index: MessageIndex,
  leases: ReturnType<typeof createSqliteReadModelStore>,
  correlator: MessageCorrelator,
  errors: Errors,
) {
  return new MessageCorrelationService({
    store,
    catalog: runtime.catalog,
    index,
    correlator,
    streams: new MessageStreams(store, runtime.codec, runtime.ids),
    leases,
    owner: 'bench',
    clock: systemClock,
    onError: (message, error) =>
      errors.add(`service: ${message}: ${(error as Error)?.message ?? String(error)}`),
  });
}

/** 2. to 4. on one event store and one read-model file, as a deployment has them. */
async function measureCorrelation(
  dir: string,
  instances: number,
  concurrency: number,
  errors: Errors,
): Promise<{
  delivered: Omit<DeliveredMessagesResult, 'deliveredVsSends'>;
  buffered: Omit<BufferedMessagesResult, 'bufferedVsSends'>;
  bufferedThenDelivered: Omit<BufferedThenDeliveredResult, 'messagesVsSends'>;
}> {
  const eventsDb = join(dir, 'events.sqlite');
  const readModelDb = join(dir, 'readmodel.sqlite');
  const store = createSqliteEventStore({ filename: eventsDb });
  const readModel = createSqliteReadModelStore({ filename: readModelDb });
  // The api's index (the correlator's) and the projector's (the service's): a connection each.
  const apiIndex = createSqliteMessageIndex({ filename: readModelDb });
  const serviceIndex = createSqliteMessageIndex({ filename: readModelDb });
  let service: MessageCorrelationService | undefined;
  try {
    await readModel.migrate();
    const wait = Math.max(60_000, instances * 20);
    const placer = (await runtimeOver(store, eventsDb, apiIndex)).engine;

    // 2. Delivered: the orders placed, their keys indexed by the service (then stopped).
    const setup = await placeOrders(placer, store, 'order', instances, concurrency);
    log(`${instances} orders placed at ${setup.perSecond.toFixed(0)} orders/s`);
    const serviceRuntime = await runtimeOver(store, eventsDb, serviceIndex);
    const catalog = serviceRuntime.catalog;
    service = serviceOver(
      store,
      serviceRuntime,
      serviceIndex,
      readModel,
      serviceRuntime.messages,
      errors,
    );
    const catchUpBegan = performance.now();
    service.start();
    await waitUntil('the message index caught up with the orders', wait, 10, () =>
      indexAtHead(store, serviceIndex, catalog),
    );
    const indexCatchUpSeconds = (performance.now() - catchUpBegan) / 1000;
    await service.stop();
    service = undefined;
    log(`message index caught up with the orders in ${indexCatchUpSeconds.toFixed(2)} s`);

    const receiver = await runtimeOver(store, eventsDb, apiIndex);
    const delivered = await receiveAll(
      store,
      receiver.messages,
      'order',
      instances,
      concurrency,
      'delivered',
      errors,
    );
    log(
      `${delivered.outcomes['delivered'] ?? 0} of ${instances} delivered in ${delivered.run.seconds.toFixed(2)} s (${delivered.run.perSecond.toFixed(0)} messages/s)`,
    );
    const deliveredInState = await countInFetchingGoods(
      store,
      eventsDb,
      'order',
      instances,
      concurrency,
    );

    // 3. Buffered: messages for orders not placed yet, by a correlator of its own.
    const bufferer = await runtimeOver(store, eventsDb, apiIndex);
    const buffered = await receiveAll(
      store,
      bufferer.messages,
      'later',
      instances,
      concurrency,
      'buffered',
      errors,
    );
    log(
      `${buffered.outcomes['buffered'] ?? 0} of ${instances} buffered in ${buffered.run.seconds.toFixed(2)} s (${buffered.run.perSecond.toFixed(0)} messages/s)`,
    );

    // 4. The same orders placed with the service running: it delivers what waits for them.
    const laterRuntime = await runtimeOver(store, eventsDb, serviceIndex);
    const again: Record<string, number> = {};
    const rechecked = new Set<string>();
    let inFlight = 0;
    const watched = Object.create(laterRuntime.messages) as MessageCorrelator;
    watched.correlateAgain = async (
      messageId: string,
      trigger: Exclude<CorrelationTrigger, 'received'>,
      by?: string,
    ) => {
      inFlight++;
      again[trigger] = (again[trigger] ?? 0) + 1;
      try {
        return await laterRuntime.messages.correlateAgain(messageId, trigger, by);
      } finally {
        inFlight--;
        if (trigger === 'recheck') rechecked.add(messageId);
      }
    };
    const deliveredIds = new Set<string>();
    let lastDelivered = NaN;
    laterRuntime.messages.observe((outcome, trigger) => {
      if (trigger === 'received' || outcome.outcome !== 'delivered') return;
      if (deliveredIds.has(outcome.messageId)) return;
      deliveredIds.add(outcome.messageId);
      lastDelivered = performance.now();
    });
    const serviceErrors = new Errors();
    service = serviceOver(store, laterRuntime, serviceIndex, readModel, watched, serviceErrors);
    const serviceBegan = performance.now();
    service.start();
    // Idle before the orders: the log followed to its head, every buffered message looked at.
    await waitUntil(
      'the service caught up with the buffered messages',
      wait,
      10,
      async () =>
        rechecked.size >= instances &&
        inFlight === 0 &&
        (await indexAtHead(store, serviceIndex, catalog)),
    );
    const serviceCatchUpSeconds = (performance.now() - serviceBegan) / 1000;
    log(
      `service caught up (${instances} buffered looked at) in ${serviceCatchUpSeconds.toFixed(2)} s`,
    );
    const deliveredBefore = (await serviceIndex.counts()).delivered;
    const before = store.stats();
    const startsBegan = performance.now();
    const starts = await placeOrders(placer, store, 'later', instances, concurrency);
    const startsEnded = performance.now();
    await waitUntil(
      'every buffered message delivered',
      wait,
      5,
      () => deliveredIds.size >= instances,
    );
    const after = store.stats();
    await waitUntil(
      'every buffered message delivered in the index',
      wait,
      10,
      async () => (await serviceIndex.counts()).delivered >= deliveredBefore + instances,
    );
    const allInIndex = performance.now();
    await service.stop();
    service = undefined;
    const seconds = (lastDelivered - startsBegan) / 1000;
    log(
      `${deliveredIds.size} of ${instances} buffered delivered by the service in ${seconds.toFixed(2)} s from the first order placed (${(deliveredIds.size / seconds).toFixed(0)} messages/s; orders placed at ${starts.perSecond.toFixed(0)}/s)`,
    );
    let inIndex = 0;
    for (let i = 0; i < instances; i++) {
      const message = await serviceIndex.get(`payment-later-${i}`);
      if (message?.status === 'delivered' && message.instanceId === `later-${i}`) inIndex++;
    }
    for (const error of serviceErrors.first) errors.add(error);
    return {
      delivered: {
        setup,
        indexCatchUpSeconds,
        run: delivered.run,
        outcomes: delivered.outcomes,
        instancesInFetchingGoods: deliveredInState,
      },
      buffered: {
        run: buffered.run,
        outcomes: buffered.outcomes,
        bufferedVsDelivered: buffered.run.perSecond / delivered.run.perSecond,
      },
      bufferedThenDelivered: {
        serviceCatchUpSeconds,
        starts,
        delivered: deliveredIds.size,
        seconds,
        messagesPerSecond: deliveredIds.size / seconds,
        lastDeliveredSecondsAfterStarts: (lastDelivered - startsEnded) / 1000,
        allDeliveredInIndexSeconds: (allInIndex - startsBegan) / 1000,
        correlationsAgain: again,
        eventsPerAppend:
          (after.events - before.events) / Math.max(1, after.appends - before.appends),
        appendsPerFsync:
          (after.appends - before.appends) / Math.max(1, after.commits - before.commits),
        instancesInFetchingGoods: await countInFetchingGoods(
          store,
          eventsDb,
          'later',
          instances,
          concurrency,
        ),
        messagesDeliveredInIndex: inIndex,
        serviceErrors: serviceErrors.first,
      },
    };
  } finally {
    await service?.stop();
    await apiIndex.close();
    await serviceIndex.close();
    await readModel.close();
    await store.close();
  }
}

/**
 * The messages scenario, on SQLite files in a temp dir (durable store, synchronous=FULL with
 * group commit; the SQLite message index and leases in a read-model file, as the real default
 * has them; the Avro codec), 32 in flight throughout:
 * 1. baseline: `instances` orders placed, then one `PaymentReceived` sent to each by
 *    `engine.sendEvent` through an engine of its own (cold instance cache): the transition a
 *    delivered message makes, without correlation. Measured again (fresh orders) after step 4;
 *    the ratios to sends are taken against the two runs' mean, as the machine drifts.
 * 2. delivered: `instances` fresh orders placed; a {@link MessageCorrelationService} started and
 *    stopped once its index checkpoint had reached the last event it follows, so the index holds
 *    every order's correlation keys as the projector would have it (nothing else writes it then,
 *    so what is timed is the correlator alone); then one `receive` of `PaymentReceived` per order
 *    by the correlator of a runtime of its own (cold cache, as the api process), each expected
 *    `delivered` in one append to the order: messages/s against sends/s.
 * 3. buffered: `instances` messages for orders not placed yet, each expected `buffered` in one
 *    append to its own stream: buffered/s against delivered/s of step 2.
 * 4. buffered then delivered: a service started (a runtime of its own; leases in the read-model
 *    store) and let catch up (the log followed, every buffered message looked at once), then the
 *    orders of step 3 placed, 32 in flight: the time from the first order placed until the
 *    service's correlator has delivered every message, as information.
 * Each step is checked: the outcomes counted, every order found in `fetchingGoods` after the
 * deliveries, every message of step 4 `delivered` to its order in the index.
 */
export async function measureMessages(
  instances: number,
  options: { concurrency?: number } = {},
): Promise<MessagesResult> {
  const concurrency = options.concurrency ?? 32;
  const dir = mkdtempSync(join(tmpdir(), 'esflow-bench-messages-'));
  const errors = new Errors();
  try {
    const { baselineStarts, baselineSends } = await measureSendBaseline(
      dir,
      'baseline-before',
      instances,
      concurrency,
      { type: MESSAGE, payloadOf: paymentOf },
    );
    log(
      `baseline ${baselineSends.perSecond.toFixed(0)} sends/s (${baselineStarts.perSecond.toFixed(0)} starts/s)`,
    );
    const run = await measureCorrelation(dir, instances, concurrency, errors);
    const { baselineSends: baselineSendsAfter } = await measureSendBaseline(
      dir,
      'baseline-after',
      instances,
      concurrency,
      { type: MESSAGE, payloadOf: paymentOf },
    );
    const baselineSendsPerSecond = (baselineSends.perSecond + baselineSendsAfter.perSecond) / 2;
    log(
      `baseline again ${baselineSendsAfter.perSecond.toFixed(0)} sends/s; mean ${baselineSendsPerSecond.toFixed(0)}`,
    );
    const delivered = {
      ...run.delivered,
      deliveredVsSends: run.delivered.run.perSecond / baselineSendsPerSecond,
    };
    const buffered = {
      ...run.buffered,
      bufferedVsSends: run.buffered.run.perSecond / baselineSendsPerSecond,
    };
    const bufferedThenDelivered = {
      ...run.bufferedThenDelivered,
      messagesVsSends: run.bufferedThenDelivered.messagesPerSecond / baselineSendsPerSecond,
    };
    return {
      instances,
      concurrency,
      baselineStarts,
      baselineSends,
      baselineSendsAfter,
      baselineSendsPerSecond,
      delivered,
      buffered,
      bufferedThenDelivered,
      firstErrors: errors.first,
      targets: {
        deliveredAtLeast0_8xSends:
          delivered.outcomes['delivered'] === instances &&
          delivered.instancesInFetchingGoods === instances &&
          delivered.deliveredVsSends >= MESSAGE_TARGETS.deliveredVsSends,
        bufferingNoDearerThanDelivering:
          buffered.outcomes['buffered'] === instances &&
          buffered.bufferedVsDelivered >= MESSAGE_TARGETS.bufferedVsDelivered,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
