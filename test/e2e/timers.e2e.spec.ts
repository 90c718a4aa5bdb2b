import { beforeAll, describe, expect, it } from 'vitest';
import { ApiAndProjector, apiAndProjector } from '../support/api-and-projector';
import { AppProcess } from '../support/app-process';
import { anOrder } from '../support/engine-fixture';
import { waitFor } from '../support/wait-for';

// The built api and projector on one data directory: the projector's timer service fires the
// payment window of orderFulfillment in real time (windows of a few seconds). Once on the embedded
// SQLite store, once on the EventStoreDB adapter against the esdb-wire-double, a TEST DOUBLE of
// EventStoreDB's gRPC protocol run in this process (test/doubles/esdb/README.md).

type Instance = {
  state: unknown;
  revision: number;
  pendingTimers: { timerId: string; eventType: string; dueAt: string }[];
  context: { cancellationReason: string | null };
};
type History = { events: { type: string; revision: number; data: Record<string, unknown> }[] };
type Timer = {
  timerId: string;
  instanceId: string;
  status: string;
  latenessMs: number | null;
  settledBy: { eventType: string; revision: number } | null;
  settledRevision: number | null;
};
type TimerPage = { timers: Timer[]; next?: string };

describe.each(['sqlite', 'esdb-wire-double'] as const)(
  'durable timers, end to end, on %s',
  (store) => {
    const apps = apiAndProjector(store, 'esflow-timers-');
    let projector: AppProcess;
    let http: ApiAndProjector['http'];
    beforeAll(() => {
      ({ projector, http } = apps);
    });

    const place = async (id: string, paymentWindowSeconds: number) => {
      const started = await http.post<Instance>('/workflows/orderFulfillment', {
        input: { ...anOrder(id), paymentWindowSeconds },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      return started.body;
    };
    const timerOf = async (id: string) =>
      (await http.get<TimerPage>(`/timers?workflow=orderFulfillment&instance_id=${id}`)).body
        .timers[0];
    const settled = (id: string) =>
      waitFor(
        async () => {
          const timer = await timerOf(id);
          return timer && timer.status !== 'pending' ? timer : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `the timer of ${id} settled` },
      );

    it('fires the payment window once after the projector is SIGKILLed while waiting, recording its lateness', async () => {
      const placed = await place('window-1', 3);
      expect(placed.pendingTimers).toHaveLength(1);
      await waitFor(async () => (await timerOf('window-1'))?.status === 'pending', {
        timeoutMs: 10_000,
        what: 'the timer indexed',
      });
      await projector.kill('SIGKILL');
      // Down past the due time: the timer must fire when the projector is back, not be lost.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      await projector.restart();
      const timer = await settled('window-1');
      expect(timer).toMatchObject({ status: 'fired', settledBy: null });
      expect(timer.latenessMs).toBeGreaterThan(0);

      const instance = (await http.get<Instance>('/workflows/orderFulfillment/window-1')).body;
      expect(instance).toMatchObject({
        state: 'cancelled',
        pendingTimers: [],
        context: { cancellationReason: 'payment window expired' },
      });
      const history = (await http.get<History>('/workflows/orderFulfillment/window-1/history'))
        .body;
      expect(history.events.map((e) => e.type)).toEqual([
        'OrderPlaced',
        'TimerScheduled',
        'TimerFired',
        'WorkflowCompleted',
      ]);
      expect(history.events[2]!.data).toMatchObject({
        timerId: placed.pendingTimers[0]!.timerId,
        latenessMs: timer.latenessMs,
      });
      // The restarted projector counted the fire, and how late it was.
      const metrics = await (await fetch(`${projector.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/^esflow_timer_fires_total\{outcome="fired"\} [1-9]\d*$/m);
      expect(metrics).toMatch(/^esflow_timer_lateness_seconds_count [1-9]\d*$/m);
      expect(metrics).toMatch(/^esflow_timers_indexed_total\{change="fired"\} [1-9]\d*$/m);
    }, 60_000);

    it('never fires early', async () => {
      const placed = await place('window-early', 2);
      const dueAt = Date.parse(placed.pendingTimers[0]!.dueAt);
      const timer = await settled('window-early');
      expect(timer.status).toBe('fired');
      const history = (await http.get<History>('/workflows/orderFulfillment/window-early/history'))
        .body;
      const fired = history.events.find((e) => e.type === 'TimerFired')!;
      expect(Date.parse(String(fired.data['firedAt']))).toBeGreaterThanOrEqual(dueAt);
    }, 30_000);

    it('leaves exactly one winner of 50 timer-versus-event races, and records the loser', async () => {
      const ids = Array.from({ length: 50 }, (_, i) => `race-${i}`);
      const placed = await Promise.all(ids.map((id) => place(id, 2)));
      // All 50 fall due within a few ms of each other; send the payment right at each due time.
      const answers = await Promise.all(
        placed.map(async (instance, i) => {
          const wait = Date.parse(instance.pendingTimers[0]!.dueAt) - Date.now();
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
          return http.post<{ code?: string; movedByTimer?: { timerId: string } }>(
            `/workflows/orderFulfillment/${ids[i]}/events`,
            { type: 'PaymentReceived', payload: { paymentId: `p-${i}`, amountCents: 4999 } },
          );
        }),
      );
      let eventWon = 0;
      for (const [i, answer] of answers.entries()) {
        const timer = await settled(ids[i]!);
        const history = (await http.get<History>(`/workflows/orderFulfillment/${ids[i]}/history`))
          .body;
        const types = history.events.map((e) => e.type);
        if (answer.status === 200) {
          eventWon++;
          // The event won: the timer never fired and the index says who beat it, where.
          expect(types).not.toContain('TimerFired');
          expect(['superseded', 'cancelled']).toContain(timer.status);
          expect(timer.settledBy).toMatchObject({ eventType: 'PaymentReceived', revision: 2 });
        } else {
          // The timer won: the event is refused, naming the timer that moved the instance on.
          expect(answer.status, JSON.stringify(answer.body)).toBe(422);
          expect(answer.body).toMatchObject({
            code: 'EVENT_NOT_ACCEPTED',
            movedByTimer: { timerId: timer.timerId },
          });
          expect(timer.status).toBe('fired');
          expect(types).not.toContain('PaymentReceived');
        }
        expect(types.filter((t) => t === 'TimerFired' || t === 'PaymentReceived')).toHaveLength(1);
      }
      process.stdout.write(
        `timers e2e (${store}): 50 races, the event won ${eventWon}, the timer ${50 - eventWon}\n`,
      );
    }, 60_000);

    it('lists timers by status and due time, and refuses a bad query with 400', async () => {
      // Three windows of our own run out, so that two pages of fired timers exist whoever won
      // the races above.
      const own = ['list-1', 'list-2', 'list-3'];
      await Promise.all(own.map((id) => place(id, 1)));
      for (const id of own) expect((await settled(id)).status).toBe('fired');
      const fired = await http.get<TimerPage>('/timers?status=fired&limit=2');
      expect(fired.status).toBe(200);
      expect(fired.body.timers).toHaveLength(2);
      expect(fired.body.timers.every((t) => t.status === 'fired')).toBe(true);
      const next = await http.get<TimerPage>(
        `/timers?status=fired&limit=2&after=${encodeURIComponent(fired.body.next!)}`,
      );
      expect(next.body.timers.map((t) => t.timerId)).not.toContain(fired.body.timers[0]!.timerId);
      const none = await http.get<TimerPage>('/timers?due_before=2000-01-01T00:00:00Z');
      expect(none.body.timers).toEqual([]);
      for (const query of ['status=late', 'due_before=tomorrow', 'limit=0x10', 'colour=red']) {
        const refused = await http.get<{ code: string }>(`/timers?${query}`);
        expect(refused.status, query).toBe(400);
        expect(refused.body.code).toBe('MALFORMED_REQUEST');
      }
    });
  },
);
