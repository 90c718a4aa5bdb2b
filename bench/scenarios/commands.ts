import { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CommandDispatcher,
  CommandHandler,
  CommandStatus,
  realSleep,
  WorkflowEngine,
} from '@esflow/core';
import { systemClock } from '@esflow/core/node';
import { sampleOrder } from '@esflow/example-order-fulfillment';
import {
  createSqliteCommandQueue,
  createSqliteEventStore,
  createSqliteReadModelStore,
} from '@esflow/sqlite';
import { randomPort, startApp, stopApp } from '../api-process';
import { jsonPoster } from '../http-load';
import { LatencySummary, summarise } from '../stats';
import { EngineOpsResult, engineOver, measureSendBaseline, timedOps } from './engine-ops';

/** The targets (measured and reported, never asserted). */
export const COMMAND_TARGETS = { inProcessVsSends: 0.5, externalPerSecond: 1_000 } as const;

/** The dispatcher's in-process attempts in flight by default (given here so it is reported). */
const DISPATCHER_CONCURRENCY = 32;

/**
 * The external workers' command: kycOnboarding's KYC check, an invoked actor whose output is a
 * KycVerdict, carried out by an external worker (the example has no in-process handler for it).
 */
export const EXTERNAL_COMMAND_TYPE = 'RunKycCheck';

export interface InProcessCommandsResult {
  /** Placing each order, paying it and reporting its goods unavailable (not timed; for scale). */
  readonly setup: EngineOpsResult;
  /** The dispatcher's in-process attempts in flight at most. */
  readonly concurrency: number;
  /** Completions recorded (of `instances`); fewer when the wait for them ran out. */
  readonly completed: number;
  /** From the dispatcher's start to the last completion recorded. */
  readonly seconds: number;
  /** `completed` over `seconds`: indexing the queue from the log included. */
  readonly commandsPerSecond: number;
  /** Against the baselines' mean sends/s. */
  readonly commandsVsSends: number;
  /** From the dispatcher's start until it had indexed every `CommandDispatched`. */
  readonly indexingSeconds: number;
  readonly indexedPerSecond: number;
  /** From the dispatcher's start until the queue showed every command completed. */
  readonly allCompletedInQueueSeconds: number;
  /** Instances found `cancelled` (the state PaymentRefunded leads to) afterwards. */
  readonly instancesInNextState: number;
  /** Each completion's own time in the engine (`commands.complete`), ms. */
  readonly completeLatency: LatencySummary;
  readonly eventsPerCompletion: number;
  readonly appendsPerFsync: number;
  readonly attemptsRetried: number;
  readonly dispatcherErrors: readonly string[];
}

export interface ExternalWorkersResult {
  readonly commandType: string;
  readonly workers: number;
  /** Commands a worker leases at most per call (and completes at once, concurrently). */
  readonly leaseMax: number;
  /**
   * Opening each worker's `leaseMax` keep-alive connections before the timing (an empty lease
   * each), as a long-running worker has them: without it the first round's completes, each on a
   * connection of its own, stalled for seconds (one worker's first 32 took up to ~3.7 s while
   * another went round after round).
   */
  readonly connectionWarmUpSeconds: number;
  /** Starting the kycOnboarding instances over REST, 32 clients (not timed; for scale). */
  readonly startsPerSecond: number;
  readonly startErrors: number;
  /** From the last start until the projector's dispatcher had every command pending. */
  readonly queuedSecondsAfterStarts: number;
  /** From then until every processor of the projector was caught up (lag 0), before timing. */
  readonly projectorIdleSecondsAfterQueued: number;
  readonly completed: number;
  /** From the workers' start to the last completion answered. */
  readonly seconds: number;
  readonly commandsPerSecond: number;
  readonly leaseCalls: number;
  readonly emptyLeases: number;
  readonly meanLeased: number;
  readonly leaseLatency: LatencySummary;
  readonly completeLatency: LatencySummary;
  readonly errors: number;
  readonly firstErrors: readonly string[];
  /**
   * The queue (every command type) when the workers were done: the verdicts lead each instance
   * on to CreateAccount and SendWelcomeEmail, which the projector's in-process handlers carry
   * out meanwhile, on the same store (downstream load the workers' rate includes).
   */
  readonly queueWhenDone: Readonly<Record<string, number>>;
}

export interface CommandsResult {
  readonly instances: number;
  readonly concurrency: number;
  /** Placing the orders the baseline's sends go to (not the baseline itself; for scale). */
  readonly baselineStarts: EngineOpsResult;
  /** Baseline: one `OrderCancelled` to each of `instances` orders, 32 in flight. */
  readonly baselineSends: EngineOpsResult;
  /** The same baseline again, after the in-process runs (fresh orders): the machine's drift. */
  readonly baselineSendsAfter: EngineOpsResult;
  /** The mean of the two baselines' sends/s: what the in-process ratios are taken against. */
  readonly baselineSendsPerSecond: number;
  /** In-process handlers, the dispatcher's default of 32 attempts in flight (the target's). */
  readonly inProcess: InProcessCommandsResult;
  /** The same at 64 in flight, for comparison (not the target's). */
  readonly inProcessAtBaselineConcurrency: InProcessCommandsResult;
  readonly external: ExternalWorkersResult | { readonly skipped: string };
  readonly targets: {
    readonly inProcessAtLeast0_5xSends: boolean;
    readonly externalAtLeast1000PerSecond: boolean | null;
  };
}

async function waitUntil(
  what: string,
  timeoutMs: number,
  everyMs: number,
  done: () => Promise<boolean> | boolean,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) {
      process.stderr.write(`  commands: gave up waiting for ${what} after ${timeoutMs} ms\n`);
      return false;
    }
    await realSleep(everyMs);
  }
  return true;
}

const log = (line: string) => process.stderr.write(`  commands: ${line}\n`);

/** The baseline's event: one `OrderCancelled` to each order. */
const CANCELLATION = { type: 'OrderCancelled', payloadOf: () => ({ reason: 'bench' }) };

/** 2. In-process handlers: RefundPayment answered at once with PaymentRefunded. */
async function measureInProcess(
  dir: string,
  instances: number,
  concurrency: number,
  dispatcherConcurrency: number,
): Promise<Omit<InProcessCommandsResult, 'commandsVsSends'>> {
  const eventsDb = join(dir, `events-${dispatcherConcurrency}.sqlite`);
  const readModelDb = join(dir, `readmodel-${dispatcherConcurrency}.sqlite`);
  const store = createSqliteEventStore({ filename: eventsDb });
  const readModel = createSqliteReadModelStore({ filename: readModelDb });
  const queue = createSqliteCommandQueue({ filename: readModelDb });
  let dispatcher: CommandDispatcher | undefined;
  try {
    const starter = (await engineOver(store, eventsDb, systemClock)).engine;
    const setup = await timedOps(store, instances, concurrency, async (i) => {
      const id = `refund-${i}`;
      const started = await starter.startWorkflow.handle({
        workflow: 'orderFulfillment',
        input: sampleOrder(id),
      });
      if (!started.ok) return false;
      const paid = await starter.sendEvent.handle({
        workflow: 'orderFulfillment',
        id,
        type: 'PaymentReceived',
        payload: { paymentId: `pay-${i}`, amountCents: 4999 },
      });
      if (!paid.ok) return false;
      const unavailable = await starter.sendEvent.handle({
        workflow: 'orderFulfillment',
        id,
        type: 'GoodsUnavailable',
        payload: { sku: 'SKU-1' },
      });
      return unavailable.ok;
    });
    log(
      `${instances} orders placed, paid and out of stock (RefundPayment dispatched) at ${setup.perSecond.toFixed(0)} orders/s`,
    );
    await readModel.migrate();

    // The dispatcher's engine: one of its own (cold cache, as the projector process), its
    // completions timed (same behaviour: every call goes to the engine).
    const runtime = await engineOver(store, eventsDb, systemClock);
    const completeLatencies: number[] = [];
    const commands = Object.create(runtime.engine.commands) as WorkflowEngine['commands'];
    commands.complete = async (command) => {
      const t0 = performance.now();
      try {
        return await runtime.engine.commands.complete(command);
      } finally {
        completeLatencies.push(performance.now() - t0);
      }
    };
    const refund: CommandHandler = {
      handle: async (command) => ({
        reply: { type: 'PaymentRefunded', payload: { refundId: `ref-${command.commandId}` } },
      }),
    };
    let indexed = 0;
    let indexedAt = NaN;
    let completed = 0;
    let lastCompleted = NaN;
    let retried = 0;
    const errors: string[] = [];
    dispatcher = new CommandDispatcher({
      store,
      codec: runtime.codec,
      queue,
      engine: { commands, queries: runtime.engine.queries },
      catalog: runtime.catalog,
      handlers: new Map([['RefundPayment', refund]]),
      leases: readModel,
      owner: 'bench',
      clock: systemClock,
      concurrency: dispatcherConcurrency,
      observer: {
        indexed: (change) => {
          if (change.kind !== 'dispatched') return;
          indexed++;
          if (indexed === instances) indexedAt = performance.now();
        },
        attempted: (_command, outcome) => {
          if (outcome !== 'completed') {
            retried++;
            return;
          }
          completed++;
          lastCompleted = performance.now();
        },
      },
      onError: (message, error) => {
        if (errors.length < 20)
          errors.push(`${message}: ${(error as Error)?.message ?? String(error)}`);
      },
    });
    const before = store.stats();
    const started = performance.now();
    dispatcher.start();
    const wait = Math.max(60_000, instances * 20);
    // In memory first (the dispatcher's observer), then the queue until it shows them all.
    await waitUntil('every command completed', wait, 5, () => completed >= instances);
    const after = store.stats();
    await waitUntil(
      'every command completed in the queue',
      wait,
      5,
      async () => (await queue.counts())[CommandStatus.Completed] >= instances,
    );
    const allInQueue = performance.now();
    await dispatcher.stop();
    dispatcher = undefined;
    const seconds = (lastCompleted - started) / 1000;
    const indexingSeconds = (indexedAt - started) / 1000;
    log(
      `${dispatcherConcurrency} in flight: ${completed} completed in ${seconds.toFixed(2)} s (${(completed / seconds).toFixed(0)} commands/s); indexed in ${indexingSeconds.toFixed(2)} s`,
    );

    // Every instance moved on (PaymentRefunded → cancelled): checked afterwards, not timed.
    const checker = (await engineOver(store, eventsDb, systemClock)).engine;
    let inNextState = 0;
    await timedOps(store, instances, concurrency, async (i) => {
      const view = await checker.queries.get('orderFulfillment', `refund-${i}`);
      if (view.ok && view.value.state === 'cancelled' && view.value.inFlightCommands.length === 0)
        inNextState++;
      return true;
    });
    const commandsPerSecond = completed / seconds;
    return {
      setup,
      concurrency: dispatcherConcurrency,
      completed,
      seconds,
      commandsPerSecond,
      indexingSeconds,
      indexedPerSecond: instances / indexingSeconds,
      allCompletedInQueueSeconds: (allInQueue - started) / 1000,
      instancesInNextState: inNextState,
      completeLatency: summarise(completeLatencies),
      eventsPerCompletion:
        (after.events - before.events) / Math.max(1, after.appends - before.appends),
      appendsPerFsync:
        (after.appends - before.appends) / Math.max(1, after.commits - before.commits),
      attemptsRetried: retried,
      dispatcherErrors: errors,
    };
  } finally {
    await dispatcher?.stop();
    await queue.close();
    await readModel.close();
    await store.close();
  }
}

/**
 * 3. External workers over REST: `instances` kycOnboardings started on a real api process (each
 * dispatches RunKycCheck); once the projector's dispatcher has queued them all and the projector
 * is caught up, `workers` worker loops, each a keep-alive HTTP client of its own (its `leaseMax`
 * connections opened first), lease up to `leaseMax` and complete each at once (concurrently)
 * with the output KycVerdict (passed). A loop ends when all are completed, at the deadline, or
 * after 15 s without a completion.
 */
async function measureExternal(
  instances: number,
  workers: number,
  leaseMax: number,
): Promise<ExternalWorkersResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'esflow-bench-commands-api-'));
  const apiPort = randomPort();
  const projectorPort = apiPort + 1;
  const children: ChildProcess[] = [];
  const clients: ReturnType<typeof jsonPoster>[] = [];
  let queue: ReturnType<typeof createSqliteCommandQueue> | undefined;
  try {
    const { baseUrl, child: api } = await startApp('api', apiPort, dataDir);
    children.push(api);
    children.push((await startApp('projector', projectorPort, dataDir)).child);
    queue = createSqliteCommandQueue({ filename: join(dataDir, 'readmodel.sqlite') });
    const countsOf = () => queue!.counts();

    // The instances, over REST (not timed).
    const starter = jsonPoster(baseUrl, 32);
    clients.push(starter);
    let next = 0;
    let startErrors = 0;
    const startsBegan = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < instances) {
          const i = next++;
          const response = await starter.post('/workflows/kycOnboarding', {
            input: {
              userId: `user-${i}`,
              email: `user-${i}@example.com`,
              fullName: `User ${i}`,
              country: 'DE',
            },
          });
          if (response.status !== 201) startErrors++;
        }
      }),
    );
    const startsEnded = performance.now();
    const startsPerSecond = instances / ((startsEnded - startsBegan) / 1000);
    log(`${instances} kycOnboardings started over REST at ${startsPerSecond.toFixed(0)} starts/s`);
    const wait = Math.max(60_000, instances * 20);
    await waitUntil(
      `every ${EXTERNAL_COMMAND_TYPE} queued`,
      wait,
      20,
      async () => (await countsOf())[CommandStatus.Pending] >= instances - startErrors,
    );
    const queued = performance.now();
    const queuedSecondsAfterStarts = (queued - startsEnded) / 1000;
    // The projector idle (its projections and timer index caught up with the starts), so the
    // workers are timed on their own path and the downstream it causes, not on a catch-up.
    await waitUntil('the projector caught up', wait, 50, async () => {
      const health = (await fetch(`http://127.0.0.1:${projectorPort}/health`).then(
        (r) => r.json(),
        () => ({}),
      )) as { processors?: { lag?: { events: number } | null }[] };
      return (
        health.processors !== undefined &&
        health.processors.every((processor) => (processor.lag?.events ?? 0) === 0)
      );
    });
    const projectorIdleSecondsAfterQueued = (performance.now() - queued) / 1000;

    const leaseLatencies: number[] = [];
    const completeLatencies: number[] = [];
    const firstErrors: string[] = [];
    let errors = 0;
    let completed = 0;
    let lastCompleted = NaN;
    let leaseCalls = 0;
    let emptyLeases = 0;
    let leased = 0;
    let lastProgress = performance.now();
    const target = instances - startErrors;
    const error = (what: string) => {
      errors++;
      if (firstErrors.length < 10) firstErrors.push(what);
    };
    const agents = Array.from({ length: workers }, () => jsonPoster(baseUrl, leaseMax));
    clients.push(...agents);
    const warming = performance.now();
    await Promise.all(
      agents.flatMap((http) =>
        Array.from({ length: leaseMax }, () =>
          http.post('/commands/lease', {
            workerId: 'bench-warm-up',
            commandTypes: ['BenchWarmUp'],
            max: 1,
            leaseMs: 1_000,
          }),
        ),
      ),
    );
    const connectionWarmUpSeconds = (performance.now() - warming) / 1000;
    const began = performance.now();
    const deadline = began + wait;
    const worker = async (w: number) => {
      const http = agents[w]!;
      const workerId = `bench-worker-${w}`;
      // Bounded: ends at the deadline, or after 15 s without a completion (e.g. every one refused).
      while (
        completed < target &&
        performance.now() < deadline &&
        performance.now() - lastProgress < 15_000
      ) {
        const t0 = performance.now();
        const response = await http.post('/commands/lease', {
          workerId,
          commandTypes: [EXTERNAL_COMMAND_TYPE],
          max: leaseMax,
          leaseMs: 60_000,
        });
        leaseLatencies.push(performance.now() - t0);
        leaseCalls++;
        if (response.status !== 200) {
          error(`lease: ${response.status} ${response.body.slice(0, 200)}`);
          await realSleep(10);
          continue;
        }
        const { commands } = JSON.parse(response.body) as {
          commands: { commandId: string; instanceId: string }[];
        };
        if (commands.length === 0) {
          emptyLeases++;
          await realSleep(5);
          continue;
        }
        leased += commands.length;
        await Promise.all(
          commands.map(async (command) => {
            const t1 = performance.now();
            const done = await http.post(
              `/commands/${encodeURIComponent(command.commandId)}/complete`,
              {
                workerId,
                output: { checkId: `chk-${command.instanceId}`, passed: true },
              },
            );
            completeLatencies.push(performance.now() - t1);
            const outcome =
              done.status === 200
                ? (JSON.parse(done.body) as { outcome?: string }).outcome
                : undefined;
            if (outcome === 'recorded') {
              completed++;
              lastCompleted = lastProgress = performance.now();
            } else error(`complete: ${done.status} ${done.body.slice(0, 200)}`);
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
    const seconds = (lastCompleted - began) / 1000;
    const queueWhenDone = await countsOf();
    log(
      `${completed} completed by ${workers} workers in ${seconds.toFixed(2)} s (${(completed / seconds).toFixed(0)} commands/s)`,
    );
    return {
      commandType: EXTERNAL_COMMAND_TYPE,
      workers,
      leaseMax,
      connectionWarmUpSeconds,
      startsPerSecond,
      startErrors,
      queuedSecondsAfterStarts,
      projectorIdleSecondsAfterQueued,
      completed,
      seconds,
      commandsPerSecond: completed / seconds,
      leaseCalls,
      emptyLeases,
      meanLeased: leased / Math.max(1, leaseCalls - emptyLeases),
      leaseLatency: summarise(leaseLatencies),
      completeLatency: summarise(completeLatencies),
      errors,
      firstErrors,
      queueWhenDone,
    };
  } finally {
    for (const client of clients) client.close();
    await queue?.close();
    await Promise.all(children.map((child) => stopApp(child)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The commands scenario, on SQLite files in a temp dir (durable store, synchronous=FULL with
 * group commit; the SQLite command queue and leases in a read-model file; the Avro codec):
 * 1. baseline: `instances` orders placed, then one `OrderCancelled` sent to each through an
 *    engine of its own (cold instance cache), 32 in flight (3 events, one append each), as the
 *    timers scenario's baseline; measured again (fresh orders) after step 2, whose ratios are
 *    taken against the two runs' mean, as the machine drifts (it is shared).
 * 2. in-process: `instances` orders placed, paid and reported out of stock, so each has
 *    RefundPayment in flight (not timed); then a {@link CommandDispatcher} (its defaults: 32
 *    attempts in flight) over an engine of its own, with an in-process RefundPayment handler
 *    that answers PaymentRefunded at once, is started and timed until every completion is
 *    recorded (PaymentRefunded, CommandCompleted, WorkflowCompleted: 3 events, one append):
 *    commands/s includes indexing the queue from the log, against sends/s of step 1. Run again
 *    at 64 in flight (fresh files), for comparison.
 * 3. external workers: the built api and projector processes on a temp data dir; `instances`
 *    kycOnboardings started over REST (each dispatches RunKycCheck, which has no in-process
 *    handler); once the projector has queued them all and is caught up, `workers` worker loops
 *    lease up to `leaseMax` each over keep-alive HTTP, its connections opened beforehand
 *    (`POST /commands/lease`), and complete each
 *    concurrently with the output KycVerdict {passed} (`POST /commands/{id}/complete`):
 *    commands/s through them. The verdicts move each instance on to CreateAccount, which the
 *    projector's in-process handlers carry out meanwhile (then SendWelcomeEmail).
 */
export async function measureCommands(
  instances: number,
  options: { concurrency?: number; workers?: number; leaseMax?: number } = {},
): Promise<CommandsResult> {
  const concurrency = options.concurrency ?? 32;
  const dir = mkdtempSync(join(tmpdir(), 'esflow-bench-commands-'));
  try {
    const { baselineStarts, baselineSends } = await measureSendBaseline(
      dir,
      'baseline-before',
      instances,
      concurrency,
      CANCELLATION,
    );
    log(
      `baseline ${baselineSends.perSecond.toFixed(0)} sends/s (${baselineStarts.perSecond.toFixed(0)} starts/s)`,
    );
    const inProcessRun = await measureInProcess(
      dir,
      instances,
      concurrency,
      DISPATCHER_CONCURRENCY,
    );
    const at64Run = await measureInProcess(dir, instances, concurrency, 64);
    const { baselineSends: baselineSendsAfter } = await measureSendBaseline(
      dir,
      'baseline-after',
      instances,
      concurrency,
      CANCELLATION,
    );
    const baselineSendsPerSecond = (baselineSends.perSecond + baselineSendsAfter.perSecond) / 2;
    log(
      `baseline again ${baselineSendsAfter.perSecond.toFixed(0)} sends/s; mean ${baselineSendsPerSecond.toFixed(0)}`,
    );
    const vsSends = (run: Omit<InProcessCommandsResult, 'commandsVsSends'>) => ({
      ...run,
      commandsVsSends: run.commandsPerSecond / baselineSendsPerSecond,
    });
    const inProcess = vsSends(inProcessRun);
    const inProcessAtBaselineConcurrency = vsSends(at64Run);
    const external = await measureExternal(
      instances,
      options.workers ?? 4,
      options.leaseMax ?? 32,
    ).catch((error: unknown) => {
      const skipped = `external workers failed: ${(error as Error).message}`;
      log(skipped);
      return { skipped };
    });
    return {
      instances,
      concurrency,
      baselineStarts,
      baselineSends,
      baselineSendsAfter,
      baselineSendsPerSecond,
      inProcess,
      inProcessAtBaselineConcurrency,
      external,
      targets: {
        inProcessAtLeast0_5xSends:
          inProcess.completed === instances &&
          inProcess.commandsVsSends >= COMMAND_TARGETS.inProcessVsSends,
        externalAtLeast1000PerSecond:
          'skipped' in external
            ? null
            : external.completed === instances &&
              external.commandsPerSecond >= COMMAND_TARGETS.externalPerSecond,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
