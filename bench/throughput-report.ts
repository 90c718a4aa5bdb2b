import { cpus, totalmem } from 'node:os';
import { chartPairSvg, ChartSeries, markdownTable } from './report';
import { StreamLengthResult } from './scenarios/stream-length';
import { ThroughputResult } from './scenarios/throughput';

type Ratio = (a: number, b: number) => string;
type Fixed = (n: number, digits?: number) => string;

/** The issue's targets for throughput and latency (issue 13), checked against each run. */
export const THROUGHPUT_TARGETS = {
  restPerSecondAt32: 5_000,
  restVsCamundaAt32: 20,
  restVsRawAt32: 1 / 3,
  p99AtHalfLoadMs: 20,
} as const;

const met = (yes: boolean) => (yes ? 'met' : 'NOT met');

const camundaAt = (result: ThroughputResult, concurrency: number) => {
  const point = result.points.find((p) => p.concurrency === concurrency);
  return point && !('skipped' in point.camunda) ? point.camunda : undefined;
};

/** The sweep's rows for the bench table: raw store, REST and Camunda 7 at each concurrency. */
export function throughputRows(result: ThroughputResult, ratio: Ratio, fixed: Fixed): string[][] {
  const rows: string[][] = [];
  for (const { concurrency, raw, rest, camunda } of result.points) {
    rows.push([
      `raw store append, ${concurrency} writers (baseline)`,
      fixed(raw.appendsPerSecond),
      '1.00×',
      '—',
      '—',
      fixed(raw.appendsPerCommit, 2),
      '0',
    ]);
    const peer = 'skipped' in camunda ? undefined : camunda;
    rows.push([
      `REST transitions, ${concurrency} clients`,
      fixed(rest.transitionsPerSecond),
      `${ratio(rest.transitionsPerSecond, raw.appendsPerSecond)} raw store${peer ? `, ${ratio(rest.transitionsPerSecond, peer.transitionsPerSecond)} Camunda 7` : ''}`,
      fixed(rest.latency.p50Ms, 2),
      fixed(rest.latency.p99Ms, 2),
      fixed(rest.appendsPerFsync, 2),
      String(rest.errors),
    ]);
    rows.push(
      peer
        ? [
            `Camunda 7 peer, ${concurrency} threads (baseline)`,
            fixed(peer.transitionsPerSecond),
            '1.00×',
            fixed(peer.latency.p50Ms, 2),
            fixed(peer.latency.p99Ms, 2),
            '—',
            String(peer.errors),
          ]
        : [
            `Camunda 7 peer, ${concurrency} threads`,
            'skipped',
            'skipped' in camunda ? camunda.skipped : '',
            '—',
            '—',
            '—',
            '—',
          ],
    );
  }
  const at32 = result.points.find((p) => p.concurrency === 32);
  const camunda32 = camundaAt(result, 32);
  if (at32) {
    const rest = at32.rest.transitionsPerSecond;
    rows.push([
      '  targets at 32 clients',
      '—',
      `≥ ${THROUGHPUT_TARGETS.restPerSecondAt32}/s: ${met(rest >= THROUGHPUT_TARGETS.restPerSecondAt32)}; ≥ ${THROUGHPUT_TARGETS.restVsCamundaAt32}× Camunda 7: ${camunda32 ? met(rest / camunda32.transitionsPerSecond >= THROUGHPUT_TARGETS.restVsCamundaAt32) : 'no peer'}; ≥ ⅓ raw store: ${met(rest / at32.raw.appendsPerSecond >= THROUGHPUT_TARGETS.restVsRawAt32)}`,
      '—',
      '—',
      '—',
      '—',
    ]);
  }
  for (const [share, run] of [
    ['half', result.openLoopHalf],
    ['a quarter of', result.openLoopQuarter],
  ] as const)
    rows.push([
      `open loop at ${share} the maximum (${fixed(run.targetPerSecond)}/s scheduled), achieved/s`,
      fixed(run.achievedPerSecond),
      `${ratio(run.achievedPerSecond, run.targetPerSecond)} scheduled; ${run.stalledOver100Ms} over 100 ms, ${run.maxInFlight} most in flight${share === 'half' ? `; p99 < ${THROUGHPUT_TARGETS.p99AtHalfLoadMs} ms: ${met(run.latency.p99Ms < THROUGHPUT_TARGETS.p99AtHalfLoadMs)}` : ''}`,
      fixed(run.latency.p50Ms, 2),
      fixed(run.latency.p99Ms, 2),
      '—',
      String(run.errors),
    ]);
  if (result.twoApis) {
    const two = result.twoApis;
    rows.push([
      `REST transitions, 32 clients over two api processes on one store`,
      fixed(two.transitionsPerSecond),
      `${ratio(two.transitionsPerSecond, two.oneApiPerSecond)} one api process (same run)`,
      fixed(two.p50Ms, 2),
      fixed(two.p99Ms, 2),
      '—',
      String(two.errors),
    ]);
  }
  const { storage } = result;
  rows.push([
    `embedded store, bytes per event (${storage.events} events)`,
    fixed(storage.bytesPerEvent),
    `payload ${fixed(storage.payloadBytesPerEvent)} B, metadata ${fixed(storage.metadataBytesPerEvent)} B (${fixed(storage.metadataJsonBytesPerEvent)} B as JSON, ${ratio(storage.metadataBytesPerEvent, storage.metadataJsonBytesPerEvent)}) (< 250 B/event: ${met(storage.bytesPerEvent < 250)})`,
    '—',
    '—',
    '—',
    '—',
  ]);
  return rows;
}

/** The stream-length rows: each cost at 10, 1 000 and 10 000 events against the 10-event one. */
export function streamRows(result: StreamLengthResult, ratio: Ratio, fixed: Fixed): string[][] {
  const first = result.rows[0]!;
  return result.rows.map((row) => [
    `instance of ${row.events} events: cold load replayed / from snapshot, ms`,
    `${fixed(row.coldReplayMs, 2)} / ${fixed(row.coldSnapshotMs, 2)}`,
    `${ratio(row.coldReplayMs, first.coldReplayMs)} / ${ratio(row.coldSnapshotMs, first.coldSnapshotMs)} the ${first.events}-event load; hot send ${fixed(row.hotSendMemoryUs)} µs in memory (${ratio(row.hotSendMemoryUs, first.hotSendMemoryUs)}), ${fixed(row.hotSendSqliteMs, 2)} ms on SQLite (${ratio(row.hotSendSqliteMs, first.hotSendSqliteMs)})`,
    '—',
    '—',
    '—',
    '0',
  ]);
}

/** The sweep's headline ratios, for the JSON result. */
export function throughputRatios(result: ThroughputResult): Record<string, number> {
  const ratios: Record<string, number> = {};
  for (const { concurrency, raw, rest, camunda } of result.points) {
    ratios[`rest${concurrency}VsRawStore${concurrency}`] =
      rest.transitionsPerSecond / raw.appendsPerSecond;
    if (!('skipped' in camunda))
      ratios[`rest${concurrency}VsCamunda${concurrency}`] =
        rest.transitionsPerSecond / camunda.transitionsPerSecond;
  }
  return ratios;
}

/** Throughput and p99 against concurrency, for esflow, the raw store and the Camunda 7 peer. */
export function throughputChart(result: ThroughputResult): string {
  const series = (
    name: string,
    value: (point: ThroughputResult['points'][number]) => number | undefined,
  ): ChartSeries => ({
    name,
    points: result.points.flatMap((point) => {
      const y = value(point);
      return y === undefined ? [] : [{ x: point.concurrency, y }];
    }),
  });
  const peer = (point: ThroughputResult['points'][number]) =>
    'skipped' in point.camunda ? undefined : point.camunda;
  return chartPairSvg(
    {
      title: 'Transitions per second',
      xLabel: 'concurrent clients',
      yLabel: 'transitions/s',
      logX: true,
      series: [
        // In the same order as the p99 chart's, so that each system has one colour in both.
        series('esflow REST', (p) => p.rest.transitionsPerSecond),
        series('Camunda 7', (p) => peer(p)?.transitionsPerSecond),
        series('raw SQLite appends', (p) => p.raw.appendsPerSecond),
      ],
    },
    {
      title: 'p99 latency',
      xLabel: 'concurrent clients',
      yLabel: 'ms',
      logX: true,
      series: [
        series('esflow REST', (p) => p.rest.latency.p99Ms),
        series('Camunda 7', (p) => peer(p)?.latency.p99Ms),
      ],
    },
  );
}

/** The run's table as Markdown, headed by the machine it was measured on. */
export function markdownReport(
  table: { readonly options: { readonly head: readonly string[] } } & readonly unknown[],
  throughput: ThroughputResult | undefined,
): string {
  const rows = [...table].map((row) => (row as unknown[]).map((cell) => String(cell)));
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  return [
    `# esflow bench, ${new Date().toISOString()}`,
    '',
    `Measured on ${machine}; every system one after the other in the same run.`,
    '',
    ...(throughput ? ['![throughput and p99 against concurrency](throughput.svg)', ''] : []),
    markdownTable(table.options.head, rows),
  ].join('\n');
}
