/**
 * `npm run bench`: esflow's benchmark harness (not a test). Each scenario is reported beside a
 * baseline measured in the same run, as a ratio, because these machines are shared and noisy.
 * Prints a table and writes bench/results/latest.json (and a timestamped copy).
 *
 * BENCH_SECONDS (default 10) sets each scenario's duration.
 * BENCH_ONLY (default all) runs only the scenarios it names, comma-separated, of: rest (the
 * throughput sweep at 1, 8, 32 and 64 clients: the raw store's appends, esflow's REST
 * transitions and the Camunda 7 peer, then open-loop latency at half and a quarter of the
 * maximum and the store's bytes per event; see bench/scenarios/throughput.ts), streams (cold
 * loads and hot sends at 10, 1 000 and 10 000 events per instance), api-memory (the api's RSS
 * with BENCH_API_MEMORY_EVENTS, default 1 000 000, stored events and 10 000 hot instances),
 * rebuild, kafka, projector-memory, timers, commands, messages, ui (the debugger UI's instance
 * page at 10, 1 000 and 10 000 events); e.g. `BENCH_ONLY=timers npm run
 * bench`. The JSON then holds only what ran. Besides the JSON, the run writes its table as
 * bench/results/latest.md and, with rest, the chart bench/results/throughput.svg.
 * BENCH_TIMERS (default 10 000, or 1 000 per BENCH_SECOND below 10) sets how many timers fall
 * due together in the timers scenario, and how many event sends its baseline makes;
 * BENCH_TIMERS_CLOCK (held, the default, or manual) how they fall due (see
 * bench/scenarios/timers.ts).
 * BENCH_COMMANDS (default 5 000, or 500 per BENCH_SECOND below 10) sets how many commands the
 * commands scenario carries out each way, and how many event sends its baseline makes (before
 * and after the in-process runs, whose ratios are to the two's mean): in process (a
 * CommandDispatcher with a RefundPayment handler that answers at once, timed from its start,
 * indexing the queue included; at its default 32 in flight, and at 64 for comparison), and
 * through 4 external workers leasing RunKycCheck over REST from the built api, with the
 * projector's dispatcher filling the queue (see bench/scenarios/commands.ts).
 * BENCH_MESSAGES (default 5 000, or 500 per BENCH_SECOND below 10) sets how many messages the
 * messages scenario correlates each way, and how many event sends its baseline makes (before and
 * after, whose ratios are to the two's mean): `PaymentReceived` delivered at once to orders whose
 * keys the SQLite message index holds, buffered for orders not placed yet, then delivered by a
 * MessageCorrelationService as those orders are placed (see bench/scenarios/messages.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import Table from 'cli-table3';
import { measureThroughput, ThroughputResult } from './scenarios/throughput';
import { measureStreamLength, StreamLengthResult } from './scenarios/stream-length';
import { ApiMemoryResult, measureApiMemory } from './scenarios/api-memory';
import {
  markdownReport,
  streamRows,
  throughputChart,
  throughputRatios,
  throughputRows,
} from './throughput-report';
import { measureKafkaBridge } from './scenarios/kafka-bridge';
import { measureProjectionRebuild, RebuildResult } from './scenarios/projection-rebuild';
import { measureProjectorMemory } from './scenarios/projector-memory';
import { measureTimers, TIMER_TARGETS, TimerClockMode, TimersResult } from './scenarios/timers';
import { COMMAND_TARGETS, CommandsResult, measureCommands } from './scenarios/commands';
import { measureMessages, MESSAGE_TARGETS, MessagesResult } from './scenarios/messages';
import { measureUiPages, UiPageRow } from './scenarios/ui-pages';

const REPO = resolve(__dirname, '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const SCENARIOS = [
  'rest',
  'streams',
  'api-memory',
  'rebuild',
  'kafka',
  'projector-memory',
  'timers',
  'commands',
  'messages',
  'ui',
] as const;
type ScenarioName = (typeof SCENARIOS)[number];
const ONLY = (process.env['BENCH_ONLY'] ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter((name) => name !== '');
const selected = (name: ScenarioName) => ONLY.length === 0 || ONLY.includes(name);

/** How many timers fall due together: 10 000, fewer for short runs (under ~60 s on 2 cores). */
function timerCount(): number {
  const given = process.env['BENCH_TIMERS'];
  if (given !== undefined) return Number(given);
  return SECONDS >= 10 ? 10_000 : Math.max(500, Math.round(SECONDS * 1_000));
}

/** How many commands the commands scenario carries out each way: 5 000, fewer for short runs. */
function commandCount(): number {
  const given = process.env['BENCH_COMMANDS'];
  if (given !== undefined) return Number(given);
  return SECONDS >= 10 ? 5_000 : Math.max(500, Math.round(SECONDS * 500));
}

/** How many messages the messages scenario correlates each way: 5 000, fewer for short runs. */
function messageCount(): number {
  const given = process.env['BENCH_MESSAGES'];
  if (given !== undefined) return Number(given);
  return SECONDS >= 10 ? 5_000 : Math.max(500, Math.round(SECONDS * 500));
}

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  for (const name of ONLY)
    if (!(SCENARIOS as readonly string[]).includes(name))
      throw new Error(`BENCH_ONLY: no scenario named ${name} (there are ${SCENARIOS.join(', ')})`);
  log(
    `esflow bench: ${SECONDS}s per scenario on ${cpus().length} cores${ONLY.length > 0 ? ` (only ${ONLY.join(', ')})` : ''}`,
  );

  const rest: ThroughputResult | undefined = selected('rest')
    ? await measureThroughput(SECONDS, log)
    : undefined;
  let streams: StreamLengthResult | undefined;
  if (selected('streams')) {
    log('stream length: cold loads and hot sends at 10, 1 000 and 10 000 events…');
    streams = await measureStreamLength();
  }
  let apiMemory: ApiMemoryResult | { skipped: string } | undefined;
  if (selected('api-memory')) {
    const events = Number(process.env['BENCH_API_MEMORY_EVENTS'] ?? 1_000_000);
    log(`api resident memory with ${events} stored events and 10 000 hot instances…`);
    apiMemory = await measureApiMemory({ events });
    if ('skipped' in apiMemory) log(`api memory: skipped (${apiMemory.skipped})`);
  }
  let rebuild: RebuildResult | undefined;
  if (selected('rebuild')) {
    log('projection rebuild into SQLite and PostgreSQL read models…');
    rebuild = await measureProjectionRebuild(
      Number(process.env['BENCH_REBUILD_INSTANCES'] ?? 10_000),
      process.env['ESFLOW_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    );
    if (rebuild.postgresSkipped) log(`PostgreSQL rebuild: skipped (${rebuild.postgresSkipped})`);
  }
  let kafkaBridge: Awaited<ReturnType<typeof measureKafkaBridge>> | undefined;
  if (selected('kafka')) {
    log('Kafka bridge, store → topic: exactly-once vs a plain producer (own broker)…');
    kafkaBridge = await measureKafkaBridge(Number(process.env['BENCH_KAFKA_EVENTS'] ?? 20_000));
    if ('skipped' in kafkaBridge) log(`Kafka bridge: skipped (${kafkaBridge.skipped})`);
  }
  let projectorMemory: Awaited<ReturnType<typeof measureProjectorMemory>> | undefined;
  if (selected('projector-memory')) {
    log('projector memory across rebuilds…');
    projectorMemory = await measureProjectorMemory(
      Number(process.env['BENCH_PROJECTOR_INSTANCES'] ?? 4_000),
      Number(process.env['BENCH_PROJECTOR_REBUILDS'] ?? 5),
    );
    if ('skipped' in projectorMemory) log(`projector memory: skipped (${projectorMemory.skipped})`);
  }
  let timers: TimersResult | undefined;
  if (selected('timers')) {
    const count = timerCount();
    const clock = (process.env['BENCH_TIMERS_CLOCK'] ?? 'held') as TimerClockMode;
    log(`timers: ${count} falling due together (${clock} clock) vs direct event sends…`);
    timers = await measureTimers(count, { clock });
  }
  let commands: CommandsResult | undefined;
  if (selected('commands')) {
    const count = commandCount();
    log(`commands: ${count} in process and ${count} through external workers vs event sends…`);
    commands = await measureCommands(count);
  }
  let messages: MessagesResult | undefined;
  if (selected('messages')) {
    const count = messageCount();
    log(`messages: ${count} delivered, ${count} buffered then delivered, vs event sends…`);
    messages = await measureMessages(count);
  }

  let uiPages: UiPageRow[] | undefined;
  if (selected('ui')) {
    log('debugger UI: instance pages at 10, 1 000 and 10 000 events…');
    uiPages = await measureUiPages();
  }

  const table = new Table({
    head: [
      'scenario',
      'ops/s',
      'vs raw store (same concurrency)',
      'p50 ms',
      'p99 ms',
      'appends per fsync',
      'errors',
    ],
  });
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
  if (rest) table.push(...throughputRows(rest, ratio, fixed));
  if (streams) table.push(...streamRows(streams, ratio, fixed));
  if (apiMemory && !('skipped' in apiMemory))
    table.push(
      [
        'api resident memory, empty store, MiB (baseline)',
        fixed(apiMemory.baselineMiB),
        '1.00×',
        '—',
        '—',
        '—',
        '0',
      ],
      [
        `api resident memory, ${apiMemory.storedEvents} events stored, ${apiMemory.hotInstances} hot, MiB`,
        fixed(apiMemory.loadedMiB),
        `${ratio(apiMemory.loadedMiB, apiMemory.baselineMiB)} baseline (< 200 MiB: ${apiMemory.loadedMiB < 200 ? 'met' : 'NOT met'}); V8 heap ${fixed(apiMemory.loadedHeapUsedMiB)} MiB in use, external ${fixed(apiMemory.loadedExternalMiB)} MiB`,
        '—',
        '—',
        '—',
        String(apiMemory.errors),
      ],
    );
  if (rebuild) {
    const scan = rebuild.storeScanEventsPerSecond;
    const rebuildRow = (name: string, eventsPerSecond: number | undefined) => [
      name,
      fixed(eventsPerSecond ?? NaN),
      eventsPerSecond === undefined ? 'skipped' : `${ratio(eventsPerSecond, scan)} store scan`,
      '—',
      '—',
      '—',
      '0',
    ];
    table.push(
      rebuildRow(`store scan of ${rebuild.events} events, events/s (baseline)`, scan),
      rebuildRow(
        'rebuild instances → SQLite read model, events/s',
        rebuild.sqliteRebuildEventsPerSecond,
      ),
      rebuildRow(
        'rebuild instances → PostgreSQL read model, events/s',
        rebuild.postgresRebuildEventsPerSecond,
      ),
    );
  }
  if (kafkaBridge && !('skipped' in kafkaBridge)) {
    const kafkaRow = (name: string, eventsPerSecond: number) => [
      name,
      fixed(eventsPerSecond),
      `${ratio(eventsPerSecond, kafkaBridge.plainProducer.eventsPerSecond)} plain producer`,
      '—',
      '—',
      '—',
      '0',
    ];
    table.push(
      kafkaRow(
        'plain kafkajs producer → topic, events/s (baseline)',
        kafkaBridge.plainProducer.eventsPerSecond,
      ),
      kafkaRow(
        'Kafka bridge → topic, exactly-once, events/s',
        kafkaBridge.exactlyOnce.eventsPerSecond,
      ),
    );
  }
  const met = (yes: boolean) => (yes ? 'met' : 'NOT met');
  if (timers) {
    const sends = timers.baselineSends;
    table.push(
      [
        `engine event sends, ${timers.concurrency} in flight, sends/s (baseline)`,
        fixed(sends.perSecond),
        '1.00× sends',
        fixed(sends.latency.p50Ms, 2),
        fixed(sends.latency.p99Ms, 2),
        fixed(sends.appendsPerFsync, 2),
        String(sends.errors),
      ],
      [
        `${timers.instances} timers due at once, fired/s`,
        fixed(timers.firedPerSecond),
        `${ratio(timers.firedPerSecond, sends.perSecond)} sends (≥ ${TIMER_TARGETS.firedVsSends.toFixed(2)}×: ${met(timers.targets.firedAtLeast0_8xSends)})`,
        fixed(timers.fire.latency.p50Ms, 2),
        fixed(timers.fire.latency.p99Ms, 2),
        fixed(timers.fire.appendsPerFsync, 2),
        String(timers.fireFailures + (timers.instances - timers.fired)),
      ],
    );
  }
  if (commands) {
    const sends = commands.baselineSends;
    const after = commands.baselineSendsAfter;
    const mean = commands.baselineSendsPerSecond;
    const { inProcess, inProcessAtBaselineConcurrency: at32, external } = commands;
    const inProcessErrors = (run: typeof inProcess) =>
      String(
        run.attemptsRetried + run.dispatcherErrors.length + (commands.instances - run.completed),
      );
    table.push(
      [
        `engine event sends, ${commands.concurrency} in flight, sends/s (baseline, before)`,
        fixed(sends.perSecond),
        `${ratio(sends.perSecond, mean)} mean of both`,
        fixed(sends.latency.p50Ms, 2),
        fixed(sends.latency.p99Ms, 2),
        fixed(sends.appendsPerFsync, 2),
        String(sends.errors),
      ],
      [
        `engine event sends, ${commands.concurrency} in flight, sends/s (baseline, after)`,
        fixed(after.perSecond),
        `${ratio(after.perSecond, mean)} mean of both`,
        fixed(after.latency.p50Ms, 2),
        fixed(after.latency.p99Ms, 2),
        fixed(after.appendsPerFsync, 2),
        String(after.errors),
      ],
      [
        `${commands.instances} commands, in-process handler (${inProcess.concurrency} in flight), commands/s`,
        fixed(inProcess.commandsPerSecond),
        `${ratio(inProcess.commandsPerSecond, mean)} sends (≥ ${COMMAND_TARGETS.inProcessVsSends.toFixed(2)}×: ${met(commands.targets.inProcessAtLeast0_5xSends)})`,
        fixed(inProcess.completeLatency.p50Ms, 2),
        fixed(inProcess.completeLatency.p99Ms, 2),
        fixed(inProcess.appendsPerFsync, 2),
        inProcessErrors(inProcess),
      ],
      [
        `  the same, ${at32.concurrency} in flight, commands/s`,
        fixed(at32.commandsPerSecond),
        `${ratio(at32.commandsPerSecond, mean)} sends (for comparison)`,
        fixed(at32.completeLatency.p50Ms, 2),
        fixed(at32.completeLatency.p99Ms, 2),
        fixed(at32.appendsPerFsync, 2),
        inProcessErrors(at32),
      ],
    );
    if (!('skipped' in external))
      table.push(
        [
          `${commands.instances} ${external.commandType}, ${external.workers} REST workers, commands/s (complete latency)`,
          fixed(external.commandsPerSecond),
          `${ratio(external.commandsPerSecond, mean)} sends (≥ ${COMMAND_TARGETS.externalPerSecond}/s: ${met(commands.targets.externalAtLeast1000PerSecond === true)})`,
          fixed(external.completeLatency.p50Ms, 2),
          fixed(external.completeLatency.p99Ms, 2),
          '—',
          String(external.errors + (commands.instances - external.completed)),
        ],
        [
          `  ${external.workers} REST workers' lease calls (up to ${external.leaseMax} each)`,
          '—',
          '—',
          fixed(external.leaseLatency.p50Ms, 2),
          fixed(external.leaseLatency.p99Ms, 2),
          '—',
          '—',
        ],
      );
  }
  if (messages) {
    const sends = messages.baselineSends;
    const after = messages.baselineSendsAfter;
    const mean = messages.baselineSendsPerSecond;
    const { delivered, buffered, bufferedThenDelivered: later } = messages;
    const unexpected = (outcomes: Readonly<Record<string, number>>, expected: string) =>
      String(messages.instances - (outcomes[expected] ?? 0));
    table.push(
      [
        `engine event sends (PaymentReceived), ${messages.concurrency} in flight, sends/s (baseline, before)`,
        fixed(sends.perSecond),
        `${ratio(sends.perSecond, mean)} mean of both`,
        fixed(sends.latency.p50Ms, 2),
        fixed(sends.latency.p99Ms, 2),
        fixed(sends.appendsPerFsync, 2),
        String(sends.errors),
      ],
      [
        `engine event sends (PaymentReceived), ${messages.concurrency} in flight, sends/s (baseline, after)`,
        fixed(after.perSecond),
        `${ratio(after.perSecond, mean)} mean of both`,
        fixed(after.latency.p50Ms, 2),
        fixed(after.latency.p99Ms, 2),
        fixed(after.appendsPerFsync, 2),
        String(after.errors),
      ],
      [
        `${messages.instances} messages received and delivered, messages/s`,
        fixed(delivered.run.perSecond),
        `${ratio(delivered.run.perSecond, mean)} sends (≥ ${MESSAGE_TARGETS.deliveredVsSends.toFixed(2)}×: ${met(messages.targets.deliveredAtLeast0_8xSends)})`,
        fixed(delivered.run.latency.p50Ms, 2),
        fixed(delivered.run.latency.p99Ms, 2),
        fixed(delivered.run.appendsPerFsync, 2),
        unexpected(delivered.outcomes, 'delivered'),
      ],
      [
        `${messages.instances} messages received and buffered, messages/s`,
        fixed(buffered.run.perSecond),
        `${ratio(buffered.run.perSecond, delivered.run.perSecond)} delivered (≥ ${MESSAGE_TARGETS.bufferedVsDelivered.toFixed(2)}×: ${met(messages.targets.bufferingNoDearerThanDelivering)})`,
        fixed(buffered.run.latency.p50Ms, 2),
        fixed(buffered.run.latency.p99Ms, 2),
        fixed(buffered.run.appendsPerFsync, 2),
        unexpected(buffered.outcomes, 'buffered'),
      ],
      [
        `  the buffered delivered by the service as their orders are placed, messages/s`,
        fixed(later.messagesPerSecond),
        `${ratio(later.messagesPerSecond, mean)} sends (information)`,
        '—',
        '—',
        fixed(later.appendsPerFsync, 2),
        String(messages.instances - later.delivered),
      ],
    );
  }
  if (uiPages) {
    const base = uiPages[0]!;
    for (const row of uiPages)
      table.push([
        `debugger UI: open an instance of ${row.events} events, ms (${row === base ? 'baseline' : `first open ${fixed(row.firstOpenMs, 1)} ms`})`,
        fixed(row.openMs, 1),
        `${ratio(row.openMs, base.openMs)} the ${base.events}-event page; older timeline page ${fixed(row.olderPageMs, 1)} ms; ${fixed(row.pageBytes / 1024)} KiB${row.events >= 10_000 ? ` (first open < 1 s: ${met(row.firstOpenMs < 1000)})` : ''}`,
        '—',
        '—',
        '—',
        '0',
      ]);
  }
  if (table.length > 0) process.stdout.write(`${table.toString()}\n`);
  if (projectorMemory && !('skipped' in projectorMemory))
    process.stdout.write(
      `projector resident memory over ${projectorMemory.events} events: ${projectorMemory.residentMiBCaughtUp.toFixed(0)} MiB caught up (baseline); after ${projectorMemory.rebuilds} rebuilds ${projectorMemory.residentMiBAfterRebuild.map((m) => m.toFixed(0)).join(', ')} MiB: last ${ratio(projectorMemory.lastVsCaughtUp, 1)} baseline, ${ratio(projectorMemory.lastVsFirstRebuild, 1)} the first rebuild\n`,
    );
  if (timers)
    process.stdout.write(
      `timers (${timers.clock} clock): ${timers.fired} of ${timers.instances} fired (${met(timers.targets.allFired)}); last fired ${fixed(timers.lastFiredSecondsAfterDue, 2)} s after due (≤ ${TIMER_TARGETS.lastFiredWithinSeconds} s: ${met(timers.targets.lastFiredWithin5s)}), first ${fixed(timers.firstFiredSecondsAfterDue, 3)} s, all fired in the index ${fixed(timers.allIndexedFiredSecondsAfterDue, 2)} s; max recorded latenessMs ${fixed(timers.maxRecordedLatenessMs)}; fired/sends ${ratio(timers.firedPerSecond, timers.baselineSends.perSecond)} (≥ ${TIMER_TARGETS.firedVsSends.toFixed(2)}×: ${met(timers.targets.firedAtLeast0_8xSends)}); indexing ${fixed(timers.indexedPerSecond)} timers/s\n`,
    );
  if (commands) {
    const { inProcess, inProcessAtBaselineConcurrency: at32, external } = commands;
    process.stdout.write(
      `commands baseline: ${fixed(commands.baselineSends.perSecond)} sends/s before, ${fixed(commands.baselineSendsAfter.perSecond)} after, ratios against their mean ${fixed(commands.baselineSendsPerSecond)}\n` +
        `commands in process: ${inProcess.completed} of ${commands.instances} completed in ${fixed(inProcess.seconds, 2)} s, ${fixed(inProcess.commandsPerSecond)}/s = ${ratio(inProcess.commandsPerSecond, commands.baselineSendsPerSecond)} sends (≥ ${COMMAND_TARGETS.inProcessVsSends.toFixed(2)}×: ${met(commands.targets.inProcessAtLeast0_5xSends)}); queue indexed in ${fixed(inProcess.indexingSeconds, 2)} s (${fixed(inProcess.indexedPerSecond)} commands/s), all completed in the queue ${fixed(inProcess.allCompletedInQueueSeconds, 2)} s; ${inProcess.instancesInNextState} instances moved on; at ${at32.concurrency} in flight ${fixed(at32.commandsPerSecond)}/s = ${ratio(at32.commandsPerSecond, commands.baselineSendsPerSecond)} sends\n`,
    );
    process.stdout.write(
      'skipped' in external
        ? `commands through external workers: skipped (${external.skipped})\n`
        : `commands through ${external.workers} REST workers (${external.commandType}): ${external.completed} of ${commands.instances} in ${fixed(external.seconds, 2)} s, ${fixed(external.commandsPerSecond)}/s (≥ ${COMMAND_TARGETS.externalPerSecond}/s: ${met(commands.targets.externalAtLeast1000PerSecond === true)}); lease p50/p90/p99 ${fixed(external.leaseLatency.p50Ms, 2)}/${fixed(external.leaseLatency.p90Ms, 2)}/${fixed(external.leaseLatency.p99Ms, 2)} ms (${fixed(external.meanLeased, 1)} per lease, ${external.emptyLeases} empty), complete p50/p90/p99 ${fixed(external.completeLatency.p50Ms, 2)}/${fixed(external.completeLatency.p90Ms, 2)}/${fixed(external.completeLatency.p99Ms, 2)} ms; ${external.errors} errors${external.firstErrors.length > 0 ? ` (first: ${external.firstErrors[0]})` : ''}; connections opened first (${fixed(external.connectionWarmUpSeconds, 2)} s), timed once queued (${fixed(external.queuedSecondsAfterStarts, 2)} s after the starts) and the projector idle (${fixed(external.projectorIdleSecondsAfterQueued, 2)} s more); queue when done: ${Object.entries(
            external.queueWhenDone,
          )
            .filter(([, n]) => n > 0)
            .map(([status, n]) => `${n} ${status}`)
            .join(', ')}\n`,
    );
  }

  if (messages) {
    const { delivered, buffered, bufferedThenDelivered: later } = messages;
    const counts = (outcomes: Readonly<Record<string, number>>) =>
      Object.entries(outcomes)
        .map(([kind, n]) => `${n} ${kind}`)
        .join(', ') || 'none';
    process.stdout.write(
      `messages baseline: ${fixed(messages.baselineSends.perSecond)} sends/s before, ${fixed(messages.baselineSendsAfter.perSecond)} after, ratios against their mean ${fixed(messages.baselineSendsPerSecond)}\n` +
        `messages: ${messages.instances} delivered in ${fixed(delivered.run.seconds, 2)} s, ${fixed(delivered.run.perSecond)}/s = ${ratio(delivered.run.perSecond, messages.baselineSendsPerSecond)} sends (≥ ${MESSAGE_TARGETS.deliveredVsSends.toFixed(2)}×: ${met(messages.targets.deliveredAtLeast0_8xSends)}; ${counts(delivered.outcomes)}; ${delivered.instancesInFetchingGoods} in fetchingGoods; index caught up first in ${fixed(delivered.indexCatchUpSeconds, 2)} s); buffered in ${fixed(buffered.run.seconds, 2)} s, ${fixed(buffered.run.perSecond)}/s = ${ratio(buffered.run.perSecond, delivered.run.perSecond)} delivered (≥ ${MESSAGE_TARGETS.bufferedVsDelivered.toFixed(2)}×: ${met(messages.targets.bufferingNoDearerThanDelivering)}; ${counts(buffered.outcomes)}); then ${later.delivered} delivered by the service in ${fixed(later.seconds, 2)} s from the first order placed (${fixed(later.messagesPerSecond)}/s, last ${fixed(later.lastDeliveredSecondsAfterStarts, 2)} s after the last order, all in the index ${fixed(later.allDeliveredInIndexSeconds, 2)} s; ${later.instancesInFetchingGoods} in fetchingGoods, ${later.messagesDeliveredInIndex} delivered in the index); ${messages.firstErrors.length} errors${messages.firstErrors.length > 0 ? ` (first: ${messages.firstErrors[0]})` : ''}\n`,
    );
  }

  const result = {
    recordedAt: new Date().toISOString(),
    machine: {
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    secondsPerScenario: SECONDS,
    ...(ONLY.length > 0 ? { only: ONLY } : {}),
    ...(rest ? { throughput: rest } : {}),
    ...(streams ? { streamLength: streams } : {}),
    ...(apiMemory ? { apiMemory } : {}),
    ...(rebuild ? { projectionRebuild: rebuild } : {}),
    ...(kafkaBridge ? { kafkaBridge } : {}),
    ...(projectorMemory ? { projectorMemory } : {}),
    ...(timers ? { timers } : {}),
    ...(commands ? { commands } : {}),
    ...(messages ? { messages } : {}),
    ...(uiPages ? { uiPages } : {}),
    ratios: {
      ...(rest ? throughputRatios(rest) : {}),
      ...(timers ? { timersFiredVsSends: timers.firedVsSends } : {}),
      ...(commands
        ? {
            commandsInProcessVsSends: commands.inProcess.commandsVsSends,
            commandsInProcessAtBaselineConcurrencyVsSends:
              commands.inProcessAtBaselineConcurrency.commandsVsSends,
            ...('skipped' in commands.external
              ? {}
              : {
                  commandsExternalVsSends:
                    commands.external.commandsPerSecond / commands.baselineSendsPerSecond,
                }),
          }
        : {}),
      ...(messages
        ? {
            messagesDeliveredVsSends: messages.delivered.deliveredVsSends,
            messagesBufferedVsDelivered: messages.buffered.bufferedVsDelivered,
            messagesBufferedThenDeliveredVsSends: messages.bufferedThenDelivered.messagesVsSends,
          }
        : {}),
    },
  };
  const dir = join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(join(dir, 'latest.json'), json);
  writeFileSync(join(dir, `${result.recordedAt.replaceAll(':', '-')}.json`), json);
  writeFileSync(join(dir, 'latest.md'), markdownReport(table, rest));
  if (rest) writeFileSync(join(dir, 'throughput.svg'), throughputChart(rest));
  log(`written to bench/results/latest.json, latest.md${rest ? ' and throughput.svg' : ''}`);
}

// Exits when done rather than when the event loop drains: a stopped TimerService leaves its
// real wait (up to 60 s) and lease heartbeat timers pending, which would hold the run open.
void main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
