import { randomUUID } from 'node:crypto';
import { jsonPoster } from '../http-load';
import { LatencySummary, summarise } from '../stats';
import { ORDER_STEPS, orderInput } from '../workloads/orders';

// Open-loop latency: arrivals at a fixed rate, whatever the responses do. A closed-loop client
// waits for each response before its next request, so a slow response delays the requests behind
// it and they are never measured as late (coordinated omission). Here every arrival has a
// scheduled send time and its latency is measured from that time.

export interface OpenLoopResult {
  /** The arrivals scheduled per second. */
  readonly targetPerSecond: number;
  /**
   * Transitions completed with the expected status over the elapsed time: from the schedule's
   * start to its end or to the last response, whichever is later.
   */
  readonly achievedPerSecond: number;
  /**
   * From each request's scheduled send time, not from when it was sent, to its response. A
   * request still outstanding when the wait for it ran out counts with the time waited so far.
   */
  readonly latency: LatencySummary;
  /**
   * Responses with another status than expected, network errors, and requests still outstanding
   * when the wait for them ran out.
   */
  readonly errors: number;
  /** Requests whose latency (from their scheduled time) exceeded 100 ms. */
  readonly stalledOver100Ms: number;
  /** The most requests outstanding at once. */
  readonly maxInFlight: number;
  /**
   * Opening the client's keep-alive connections before the schedule (one malformed start on
   * each, answered 400 without touching the store), as a long-running client has them: without
   * it the first arrivals, each on a connection of its own, stalled for seconds under load (at
   * 800/s on 2 cores the last of 256 first connections' requests took ~11 s while requests on
   * others were answered in ~0.2 s). Not timed.
   */
  readonly connectionWarmUpSeconds: number;
}

/** An order and the index of the step it takes next (0 is its start). */
interface Order {
  readonly orderId: string;
  readonly step: number;
}

/** Enough sockets that the client never queues a request behind another. */
const SOCKETS = 256;
/** How long to wait, once the schedule has ended, for the requests still outstanding. */
const DRAIN_MS = 10_000;
const STALL_MS = 100;

/** The request that moves `order` on: its start, or the step after the last one completed. */
function requestFor(order: Order): { path: string; body: unknown; expected: number } {
  if (order.step === 0)
    return {
      path: '/workflows/orderFulfillment',
      body: {
        input: orderInput(order.orderId),
      },
      expected: 201,
    };
  const [type, payload] = ORDER_STEPS[order.step - 1]!;
  return {
    path: `/workflows/orderFulfillment/${order.orderId}/events`,
    body: { type, payload },
    expected: 200,
  };
}

/** A first-in first-out queue with constant-time removal from the front. */
function fifo<T>() {
  let items: T[] = [];
  let head = 0;
  return {
    push: (item: T) => void items.push(item),
    shift: (): T | undefined => {
      if (head === items.length) return undefined;
      const item = items[head++];
      if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head);
        head = 0;
      }
      return item;
    },
  };
}

/** Opens `sockets` keep-alive connections at once, each with a request the api rejects cheaply. */
async function openConnections(http: ReturnType<typeof jsonPoster>, sockets: number) {
  await Promise.all(
    Array.from({ length: sockets }, () =>
      http.post('/workflows/orderFulfillment', {}).catch(() => undefined),
    ),
  );
}

/** Resolves on the next timer tick at or after `ms` from now, or on the next turn below 1 ms. */
function wake(ms: number): Promise<void> {
  return new Promise((resolve) => (ms >= 1 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}

/**
 * Order transitions over REST arriving at `ratePerSecond` for `seconds`, open loop: arrival `i`
 * is scheduled `i / ratePerSecond` s after the start and is sent then however many requests are
 * outstanding. Each arrival is one transition: the next step of an order whose previous request
 * has completed (the longest ready first), or the start of a new order when none is ready. A
 * scheduler that wakes late sends the arrivals it missed at once, their lateness in their latency.
 * Once the schedule has ended, the requests outstanding are waited for (up to 10 s). The client's
 * 256 connections are opened first, untimed.
 */
export async function measureOpenLoop(
  baseUrl: string,
  ratePerSecond: number,
  seconds: number,
): Promise<OpenLoopResult> {
  if (!(ratePerSecond > 0 && Number.isFinite(ratePerSecond)))
    throw new RangeError(`ratePerSecond must be a positive number, not ${ratePerSecond}`);
  if (!(seconds > 0 && Number.isFinite(seconds)))
    throw new RangeError(`seconds must be a positive number, not ${seconds}`);
  const http = jsonPoster(baseUrl, SOCKETS);
  const warming = performance.now();
  await openConnections(http, SOCKETS);
  const connectionWarmUpSeconds = (performance.now() - warming) / 1000;
  const ready = fifo<Order>();
  const latencies: number[] = [];
  const outstanding = new Map<number, number>(); // arrival → scheduled time
  let completed = 0;
  let errors = 0;
  let maxInFlight = 0;
  let lastResponseAt = 0;
  let finished = false;
  let drained: (() => void) | undefined;

  const record = (arrival: number, scheduledAt: number, now: number) => {
    outstanding.delete(arrival);
    latencies.push(now - scheduledAt);
    lastResponseAt = now;
    if (outstanding.size === 0) drained?.();
  };
  const send = (arrival: number, scheduledAt: number) => {
    const order = ready.shift() ?? { orderId: `bench-${randomUUID()}`, step: 0 };
    const { path, body, expected } = requestFor(order);
    outstanding.set(arrival, scheduledAt);
    maxInFlight = Math.max(maxInFlight, outstanding.size);
    http.post(path, body).then(
      (response) => {
        if (finished) return;
        if (response.status !== expected) errors++;
        else {
          completed++;
          if (order.step < ORDER_STEPS.length)
            ready.push({ orderId: order.orderId, step: order.step + 1 });
        }
        record(arrival, scheduledAt, performance.now());
      },
      () => {
        if (finished) return;
        errors++;
        record(arrival, scheduledAt, performance.now());
      },
    );
  };

  const arrivals = Math.ceil(seconds * ratePerSecond);
  const intervalMs = 1000 / ratePerSecond;
  const started = performance.now();
  const scheduledAt = (arrival: number) => started + arrival * intervalMs;
  let next = 0;
  while (next < arrivals) {
    const now = performance.now();
    for (; next < arrivals && scheduledAt(next) <= now; next++) send(next, scheduledAt(next));
    if (next < arrivals) await wake(scheduledAt(next) - performance.now());
  }
  const scheduleEnd = started + seconds * 1000;

  if (outstanding.size > 0) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      drained = resolve;
      timer = setTimeout(resolve, DRAIN_MS);
    });
    clearTimeout(timer);
  }
  finished = true;
  const end = performance.now();
  for (const at of outstanding.values()) {
    errors++;
    latencies.push(end - at);
  }
  http.close();

  const elapsedSeconds = (Math.max(scheduleEnd, lastResponseAt) - started) / 1000;
  return {
    targetPerSecond: ratePerSecond,
    achievedPerSecond: completed / elapsedSeconds,
    latency: summarise(latencies),
    errors,
    stalledOver100Ms: latencies.filter((ms) => ms > STALL_MS).length,
    maxInFlight,
    connectionWarmUpSeconds,
  };
}
