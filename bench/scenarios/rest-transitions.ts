import { randomUUID } from 'node:crypto';
import { jsonPoster, metricValue } from '../http-load';
import { LatencySummary, summarise } from '../stats';
import { ORDER_STEPS, orderInput } from '../workloads/orders';

export interface RestTransitionsResult {
  readonly clients: number;
  readonly transitionsPerSecond: number;
  readonly latency: LatencySummary;
  readonly errors: number;
  /** Appends committed per SQLite transaction (one fsync) during the scenario. */
  readonly appendsPerFsync: number;
}

/**
 * `clients` concurrent clients each run orders start → paid → fetched → shipped over REST for
 * `seconds`. Every accepted request is one transition (one append); latency is per request.
 */
export async function measureRestTransitions(
  baseUrl: string,
  clients: number,
  seconds: number,
): Promise<RestTransitionsResult> {
  const http = jsonPoster(baseUrl, clients);
  const before = await http.get('/metrics');
  const latencies: number[] = [];
  let errors = 0;
  const timed = async (path: string, body: unknown, expected: number) => {
    const t0 = performance.now();
    const response = await http.post(path, body);
    latencies.push(performance.now() - t0);
    if (response.status !== expected) errors++;
  };
  const deadline = Date.now() + seconds * 1000;
  const client = async () => {
    while (Date.now() < deadline) {
      const orderId = `bench-${randomUUID()}`;
      await timed(
        '/workflows/orderFulfillment',
        {
          input: orderInput(orderId),
        },
        201,
      );
      for (const [type, payload] of ORDER_STEPS)
        await timed(`/workflows/orderFulfillment/${orderId}/events`, { type, payload }, 200);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const elapsed = (performance.now() - started) / 1000;
  const after = await http.get('/metrics');
  http.close();
  const delta = (name: string) => metricValue(after, name) - metricValue(before, name);
  return {
    clients,
    transitionsPerSecond: (latencies.length - errors) / elapsed,
    latency: summarise(latencies),
    errors,
    appendsPerFsync: delta('esflow_store_appends_total') / delta('esflow_store_commits_total'),
  };
}
