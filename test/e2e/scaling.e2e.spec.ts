import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, startApp } from '../support/app-process';
import { anOrder, COMPLETED_ORDER_EVENTS } from '../support/engine-fixture';
import { HttpResponse, httpClient } from '../support/http-client';
import { waitFor } from '../support/wait-for';

// Beyond one process: two apis and two projectors, all real processes, on ONE data directory.
// The embedded SQLite store runs in WAL mode, so several processes read it at once and take
// turns at its one writer lock. Each api keeps an optimistic cache of the instances it has
// touched, which the other api's writes make stale: a stale cache that refuses an event is
// confirmed on a fresh read, and one that accepts it carries its revision into the append, whose
// revision check is the safety net (the loser reloads and decides again). The projections, the
// timer service, the message correlation service and the command dispatcher are leased
// followers: one projector works, the other waits, and takes over when the first is SIGKILLed.
// Proven under 32 concurrent clients: no lost update (every accepted answer is one recorded
// transition), no transition applied twice, no timer fired twice, and every lease handed over.

const WORKFLOW = 'orderFulfillment';
const CLIENTS = 32;
const DRIVEN = 256; // 8 orders per client, placed and driven to completion
const RACED = 20; // the same PaymentReceived sent to both apis at once
const UNPAID = 20; // payment windows of 2-3 s, left to run out around the projector's SIGKILL
const STEPS = [
  ['PaymentReceived', { paymentId: 'pay', amountCents: 4999 }],
  ['GoodsFetched', { warehouseId: 'wh-1' }],
  ['ShipmentDispatched', { trackingId: 'trk-1' }],
] as const;
// Short leases, so a takeover after the SIGKILL comes within seconds.
const env = { ESFLOW_PROJECTION_LEASE_MS: '1500' };

type Instance = {
  state: unknown;
  revision: number;
  pendingTimers: { timerId: string; dueAt: string }[];
};
type HistoryEvent = {
  type: string;
  revision: number;
  data: Record<string, unknown>;
  metadata: { eventId: string; category: string };
};
type Problem = { code?: string };
type Processor = { name: string; state: string };
type Timer = { timerId: string; instanceId: string; status: string };
type ProjectionStatus = { name: string; status: string; eventsApplied: number };
type Stats = { workflows: Record<string, { total: number; byState: Record<string, number> }> };

describe('beyond one process: two apis and two projectors on one SQLite store', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'esflow-scaling-'));
  let apiA: AppProcess;
  let apiB: AppProcess;
  let p1: AppProcess;
  let p2: AppProcess | undefined;
  let apis: ReturnType<typeof httpClient>[];
  const anyApi = () => apis[Math.random() < 0.5 ? 0 : 1]!;

  // What the clients were told, checked against the histories below.
  let accepted = 0;
  const failures: string[] = [];
  const driven = new Map<string, number[]>(); // id → revisions answered: start, then each step
  const raced = new Map<string, HttpResponse<Problem & { revision?: number }>[]>(); // [A, B]
  const unpaid = new Map<string, Instance>();
  const firedBy = { p1BeforeKill: 0, p2: 0, dueAfterKill: 0 };
  const allIds = () => [...driven.keys(), ...raced.keys(), ...unpaid.keys()];

  beforeAll(async () => {
    [apiA, apiB, p1] = await Promise.all([
      startApp('api', { dataDir, env }),
      startApp('api', { dataDir, env }),
      startApp('projector', { dataDir, env }),
    ]);
    apis = [httpClient(apiA.baseUrl), httpClient(apiB.baseUrl)];
  }, 60_000);

  afterAll(async () => {
    await Promise.all([p1?.dispose(), p2?.dispose(), apiA?.dispose(), apiB?.dispose()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const processorsOf = async (projector: AppProcess) =>
    (await httpClient(projector.baseUrl).get<{ processors: Processor[] }>('/health')).body
      .processors;
  const holdsEveryLease = async (projector: AppProcess) =>
    (await processorsOf(projector)).every((p) => p.state !== 'waitingForLease');
  const firedCount = async (projector: AppProcess) => {
    const metrics = await (await fetch(`${projector.baseUrl}/metrics`)).text();
    return Number(/^esflow_timer_fires_total\{outcome="fired"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  };
  const historyOf = async (id: string) =>
    (await anyApi().get<{ events: HistoryEvent[] }>(`/workflows/${WORKFLOW}/${id}/history`)).body
      .events;

  /** Posts to a random api; counts the answer if it is `status`, records a failure if not. */
  const send = async <T>(path: string, body: unknown, status: number) => {
    const answer = await anyApi().post<T>(path, body);
    if (answer.status === status) {
      accepted++;
      return answer.body;
    }
    failures.push(`${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return undefined;
  };
  const place = (id: string, input: Record<string, unknown> = {}) =>
    send<Instance>(`/workflows/${WORKFLOW}`, { input: { ...anOrder(id), ...input } }, 201);

  const drive = async (id: string) => {
    const started = await place(id);
    if (!started) return;
    const revisions = [started.revision];
    for (const [type, payload] of STEPS) {
      const sent = await send<Instance>(
        `/workflows/${WORKFLOW}/${id}/events`,
        { type, payload },
        200,
      );
      if (!sent) return;
      revisions.push(sent.revision);
    }
    driven.set(id, revisions);
  };

  const race = async (id: string) => {
    if (!(await place(id))) return;
    // Both apis now cache the instance at this revision, where PaymentReceived is accepted: both
    // decide on the cache and append, and the loser is stopped by the revision check (it
    // reloads and decides again: refused).
    await Promise.all(apis.map((api) => api.get(`/workflows/${WORKFLOW}/${id}`)));
    const answers = await Promise.all(
      apis.map((api, i) =>
        api.post<Problem & { revision?: number }>(`/workflows/${WORKFLOW}/${id}/events`, {
          type: 'PaymentReceived',
          payload: { paymentId: `${id}-via-${'AB'[i]}`, amountCents: 4999 },
        }),
      ),
    );
    accepted += answers.filter((answer) => answer.status === 200).length;
    raced.set(id, answers);
  };

  it('runs every lease in the first projector; the second waits', async () => {
    await waitFor(() => holdsEveryLease(p1), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'P1 to hold every lease',
    });
    p2 = await startApp('projector', { dataDir, env });
    // A lease period and more: P2 has tried every lease, and found each held.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const waiting = await processorsOf(p2);
    expect(waiting.length).toBeGreaterThanOrEqual(7);
    expect(waiting.filter((p) => p.state !== 'waitingForLease')).toEqual([]);
  }, 30_000);

  it('takes 32 clients on both apis while P1 is SIGKILLed as timers fall due; every race has one winner', async () => {
    // The unpaid orders first: their windows run out during the load.
    for (let i = 0; i < UNPAID; i++) {
      const placed = await place(`unpaid-${i}`, { paymentWindowSeconds: 2 + (i % 2) });
      if (placed) unpaid.set(`unpaid-${i}`, placed);
    }
    expect(failures).toEqual([]);
    const dues = [...unpaid.values()].map((o) => Date.parse(o.pendingTimers[0]!.dueAt));
    const killP1 = (async () => {
      // Just after the first windows ran out: P1 may have fired some; the rest fall due after.
      await new Promise((resolve) => setTimeout(resolve, Math.min(...dues) - Date.now() + 250));
      firedBy.p1BeforeKill = await firedCount(p1);
      await p1.kill('SIGKILL');
      const killedAt = Date.now();
      firedBy.dueAfterKill = dues.filter((due) => due > killedAt).length;
    })();

    const work = [
      ...Array.from({ length: DRIVEN }, (_, i) => () => drive(`order-${i}`)),
      ...Array.from({ length: RACED }, (_, i) => () => race(`race-${i}`)),
    ].sort(() => Math.random() - 0.5);
    const acceptedBefore = accepted;
    const began = Date.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let next = work.shift(); next; next = work.shift()) await next();
      }),
    );
    const seconds = (Date.now() - began) / 1000;
    await killP1;
    console.log(
      `scaling e2e: ${accepted - acceptedBefore} accepted transitions in ${seconds.toFixed(1)} s = ` +
        `${Math.round((accepted - acceptedBefore) / seconds)}/s across both apis at ${CLIENTS} clients ` +
        `(P1 SIGKILLed after firing ${firedBy.p1BeforeKill} of ${UNPAID} timers; ${firedBy.dueAfterKill} fell due later)`,
    );

    expect(failures, 'every driven step accepted').toEqual([]);
    expect(driven.size).toBe(DRIVEN);
    for (const revisions of driven.values()) expect(revisions).toEqual([1, 3, 4, 6]);
    expect(raced.size).toBe(RACED);
    for (const [id, answers] of raced) {
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses, `${id}: ${JSON.stringify(answers.map((a) => a.body))}`).toEqual([200, 422]);
      expect(answers.find((answer) => answer.status === 422)!.body.code).toBe('EVENT_NOT_ACCEPTED');
    }
  }, 60_000);

  it('hands every lease to P2, which fires each timer exactly once', async () => {
    await waitFor(() => holdsEveryLease(p2!), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'P2 to take over every lease',
    });
    const timers = await waitFor(
      async () => {
        const page = await anyApi().get<{ timers: Timer[] }>(
          `/timers?workflow=${WORKFLOW}&status=fired&limit=1000`,
        );
        return page.body.timers.length >= UNPAID && page.body.timers;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `the ${UNPAID} payment windows fired` },
    );
    expect(timers).toHaveLength(UNPAID);
    expect(new Set(timers.map((t) => t.instanceId))).toEqual(new Set(unpaid.keys()));
    for (const [id, placed] of unpaid) {
      const history = await historyOf(id);
      expect(history.map((e) => e.type)).toEqual([
        'OrderPlaced',
        'TimerScheduled',
        'TimerFired',
        'WorkflowCompleted',
      ]);
      expect(history[2]!.data['timerId']).toBe(placed.pendingTimers[0]!.timerId);
      const instance = (await anyApi().get<Instance>(`/workflows/${WORKFLOW}/${id}`)).body;
      expect(instance).toMatchObject({ state: 'cancelled', pendingTimers: [] });
    }
    // What fell due after P1 died only P2 can have fired; and none that P1 had fired already
    // (P2 finds those recorded: `alreadyFired`, not `fired`).
    firedBy.p2 = await firedCount(p2!);
    expect(firedBy.p2).toBeGreaterThanOrEqual(firedBy.dueAfterKill);
    expect(firedBy.p1BeforeKill + firedBy.p2).toBeLessThanOrEqual(UNPAID);
    console.log(
      `scaling e2e: P2 took every lease over and fired ${firedBy.p2} of the ${UNPAID} timers`,
    );
  }, 60_000);

  let totalEvents = 0;

  it('recorded each accepted transition exactly once: no lost update, none applied twice', async () => {
    let transitions = 0;
    const ids = allIds();
    const histories = new Map<string, HistoryEvent[]>();
    for (let i = 0; i < ids.length; i += 16)
      await Promise.all(
        ids.slice(i, i + 16).map(async (id) => histories.set(id, await historyOf(id))),
      );
    const eventIds = new Set<string>();
    for (const [id, history] of histories) {
      expect(
        history.map((e) => e.revision),
        `${id}: revisions 0..n`,
      ).toEqual(history.map((_, i) => i));
      transitions += history.filter((e) => e.metadata.category === 'workflow').length;
      totalEvents += history.length;
      for (const event of history) eventIds.add(event.metadata.eventId);
    }
    expect(eventIds.size, 'every event id once').toBe(totalEvents);
    for (const id of driven.keys())
      expect(
        histories.get(id)!.map((e) => e.type),
        id,
      ).toEqual(COMPLETED_ORDER_EVENTS);
    for (const [id, answers] of raced) {
      const history = histories.get(id)!;
      expect(
        history.map((e) => e.type),
        id,
      ).toEqual(['OrderPlaced', 'TimerScheduled', 'PaymentReceived', 'TimerCancelled']);
      // The winner's payment is the one recorded.
      const winner = answers.findIndex((answer) => answer.status === 200);
      expect(history[2]!.data['paymentId']).toBe(`${id}-via-${'AB'[winner]}`);
    }
    expect(transitions, 'accepted answers = workflow transitions recorded').toBe(accepted);
    expect(accepted).toBe(DRIVEN * 4 + RACED * 2 + UNPAID);
  }, 60_000);

  const readModelOf = async () => {
    const http = anyApi();
    const [stats, projections, list] = await Promise.all([
      http.get<Stats>('/stats'),
      http.get<{ projections: ProjectionStatus[] }>('/projections'),
      http.get<{ items: { id: string; state: string; revision: number }[] }>(
        `/workflows?workflow=${WORKFLOW}&limit=1000`,
      ),
    ]);
    return {
      stats: stats.body.workflows[WORKFLOW],
      projections: projections.body.projections.filter(
        (p) => p.name !== 'onboardings_awaiting_kyc',
      ),
      items: list.body.items,
    };
  };
  const caughtUp = (projections: ProjectionStatus[], events: number) =>
    projections.every((p) => p.status === 'live' && p.eventsApplied >= events);
  /** What the instance list must hold for `id`: its final state and last revision. */
  const expectedRow = (id: string) =>
    id.startsWith('order-')
      ? { state: 'completed', revision: 6 }
      : id.startsWith('race-')
        ? { state: 'fetchingGoods', revision: 3 }
        : { state: 'cancelled', revision: 3 };
  const expectRows = (items: { id: string; state: string; revision: number }[], ids: string[]) => {
    expect(items.map((item) => item.id).sort()).toEqual([...ids].sort());
    for (const item of items)
      expect({ state: item.state, revision: item.revision }, item.id).toEqual(expectedRow(item.id));
  };

  it("serves, from P2's projections, a read model that applied every event once", async () => {
    const model = await waitFor(
      async () => {
        const now = await readModelOf();
        return caughtUp(now.projections, totalEvents) && now;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `every projection at ${totalEvents} events` },
    );
    // Each event applied once: no batch applied again by the projector that took over.
    for (const projection of model.projections)
      expect(projection.eventsApplied, projection.name).toBe(totalEvents);
    // One row per instance, each in its final state at its stream's last revision.
    expectRows(model.items, allIds());
    // The counts per state, the orders their payment windows cancelled included (a timer's
    // transition is recorded as TimerFired, which this suite once found GET /stats ignoring).
    expect(model.stats).toEqual({
      total: DRIVEN + RACED + UNPAID,
      byState: { completed: DRIVEN, fetchingGoods: RACED, cancelled: UNPAID },
    });
  }, 60_000);

  it('lets a restarted P1 wait, then take the leases back without firing or projecting anything twice', async () => {
    await p1.restart();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await processorsOf(p1)).filter((p) => p.state !== 'waitingForLease')).toEqual([]);
    // A clean stop releases the leases at once: P1 takes over from P2's checkpoints.
    await p2!.kill('SIGTERM');
    await waitFor(() => holdsEveryLease(p1), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'P1 to take the leases back',
    });
    // New work for P1, so that it is seen working, not only holding.
    const late = ['late-0', 'late-1', 'late-2', 'late-3'];
    for (const id of late) expect(await place(id, { paymentWindowSeconds: 1 })).toBeDefined();
    await waitFor(
      async () => {
        const fired = await Promise.all(late.map(async (id) => (await historyOf(id)).length === 4));
        return fired.every(Boolean);
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the late windows to fire' },
    );
    expect(await firedCount(p1), 'P1 fired only the new timers').toBe(late.length);
    const after = await waitFor(
      async () => {
        const now = await readModelOf();
        return caughtUp(now.projections, totalEvents + 4 * late.length) && now;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'every projection with the late orders' },
    );
    for (const projection of after.projections)
      expect(projection.eventsApplied, projection.name).toBe(totalEvents + 4 * late.length);
    expectRows(after.items, [...allIds(), ...late]);
    expect(after.stats?.total).toBe(DRIVEN + RACED + UNPAID + late.length);
    for (const id of unpaid.keys())
      expect(
        (await historyOf(id)).filter((e) => e.type === 'TimerFired'),
        id,
      ).toHaveLength(1);
    expect(failures).toEqual([]);
  }, 60_000);
});
