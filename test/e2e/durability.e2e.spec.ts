import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { anOrder } from '../support/engine-fixture';
import { AppProcess, startApp } from '../support/app-process';
import { httpClient } from '../support/http-client';
import { waitFor } from '../support/wait-for';

const apps: AppProcess[] = [];
afterAll(async () => Promise.all(apps.map((app) => app.dispose())));

describe('durability', () => {
  it('serves every acknowledged transition after a SIGKILL and restart', async () => {
    const api = await startApp('api');
    apps.push(api);
    const http = httpClient(api.baseUrl);
    const steps = [
      ['PaymentReceived', { paymentId: 'p', amountCents: 1 }],
      ['GoodsFetched', { warehouseId: 'w' }],
      ['ShipmentDispatched', { trackingId: 't' }],
    ] as const;
    /** instance id → the highest revision and event type the server acknowledged. */
    const acknowledged = new Map<string, { revision: number; type: string }[]>();
    let killed = false;
    const drive = async (worker: number) => {
      for (let n = 0; !killed; n++) {
        const order = anOrder(`crash-${worker}-${n}`);
        try {
          const started = await http.post('/workflows/orderFulfillment', { input: order });
          if (started.status !== 201) continue;
          // The start's append ends with the payment window's TimerScheduled (revision 1).
          acknowledged.set(order.orderId, [
            { revision: started.body['revision'] as number, type: 'OrderPlaced' },
          ]);
          for (const [type, payload] of steps) {
            const sent = await http.post(`/workflows/orderFulfillment/${order.orderId}/events`, {
              type,
              payload,
            });
            if (sent.status !== 200) break;
            acknowledged
              .get(order.orderId)!
              .push({ revision: sent.body['revision'] as number, type });
          }
        } catch {
          return; // the connection died with the server: anything unacknowledged may be lost
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => drive(i));
    await waitFor(() => acknowledged.size >= 40, {
      timeoutMs: 30_000,
      what: '40 acknowledged orders',
    });
    await api.kill('SIGKILL');
    killed = true;
    await Promise.all(workers);

    await api.restart();
    let checked = 0;
    for (const [id, acks] of acknowledged) {
      const history = await http.get<{ events: { revision: number; type: string }[] }>(
        `/workflows/orderFulfillment/${id}/history`,
      );
      expect(history.status, id).toBe(200);
      for (const ack of acks) {
        // The acknowledged revision is the request's last event; its own event is at or before it.
        const events = history.body.events;
        expect(events.length, `${id} lost revision ${ack.revision}`).toBeGreaterThan(ack.revision);
        expect(
          events.slice(0, ack.revision + 1).map((e) => e.type),
          `${id}@${ack.revision}`,
        ).toContain(ack.type);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(40);
  });

  it('lets the projector, a second process, see what the api commits to the shared store', async () => {
    const api = await startApp('api');
    apps.push(api);
    const projector = await startApp('projector', { dataDir: api.dataDir });
    apps.push(projector);
    const http = httpClient(api.baseUrl);
    // Each start appends two events: OrderPlaced and the payment window's TimerScheduled.
    for (let i = 0; i < 5; i++)
      await http.post('/workflows/orderFulfillment', { input: anOrder() });
    type Projections = { projections: { name: string; status: string; eventsApplied: number }[] };
    const instances = await waitFor(
      async () => {
        const found = (await http.get<Projections>('/projections')).body.projections.find(
          (p) => p.name === 'instances',
        );
        return found && found.eventsApplied >= 10 && found.status === 'live' && found;
      },
      { what: 'the projector to apply 10 events' },
    );
    expect(instances).toMatchObject({
      status: 'live',
      eventsApplied: 10,
      lag: { events: 0, seconds: 0 },
    });
    expect((await http.get<{ items: unknown[] }>('/workflows?limit=100')).body.items).toHaveLength(
      5,
    );
  });

  it('refuses to start with invalid configuration, naming the variable', () => {
    const result = spawnSync(
      process.execPath,
      [resolve(__dirname, '../../apps/api/dist/main.js')],
      {
        env: { ...process.env, PORT: 'eighty', ESFLOW_SQLITE_SYNCHRONOUS: 'SOMETIMES' },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('ESFLOW_SQLITE_SYNCHRONOUS must be FULL or NORMAL');
  });
});
