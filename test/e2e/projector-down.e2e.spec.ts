import { afterAll, describe, expect, it } from 'vitest';
import { AppProcess, startApp } from '../support/app-process';
import { anOrder } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';
import { waitFor } from '../support/wait-for';

type Projection = {
  name: string;
  status: string;
  eventsApplied: number;
  lag: { events: number; seconds: number };
  error?: string;
  heartbeatAt: string;
};

describe('GET /projections with the projector dead', () => {
  const apps: AppProcess[] = [];
  afterAll(async () => {
    for (const app of apps.reverse()) await app.dispose();
  });

  it('shows the projection stopped within a few heartbeats, since when, with the lag measured now', async () => {
    // The default lease (10 s): the projector heartbeats every second.
    const api = await startApp('api');
    apps.push(api);
    const projector = await startApp('projector', { dataDir: api.dataDir });
    apps.push(projector);
    const http = httpClient(api.baseUrl);
    const instances = async () =>
      (await http.get<{ projections: Projection[] }>('/projections')).body.projections.find(
        (projection) => projection.name === 'instances',
      )!;
    const order = async () =>
      expect((await http.post('/workflows/orderFulfillment', { input: anOrder() })).status).toBe(
        201,
      );
    // Each start appends OrderPlaced and the payment window's TimerScheduled.
    for (let i = 0; i < 3; i++) await order();
    await waitFor(
      async () => {
        const found = await instances();
        return found.status === 'live' && found.eventsApplied === 6;
      },
      { what: 'the projector to apply 6 events' },
    );

    await projector.kill('SIGKILL');
    const killedAt = Date.now();
    for (let i = 0; i < 4; i++) await order();
    // At once: the lag is what the log holds beyond the checkpoint, not the figure the dead
    // projector last wrote (0).
    expect((await instances()).lag.events).toBe(8);

    const stopped = await waitFor(
      async () => {
        const found = await instances();
        return found.status === 'stopped' && found;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'the projection to show as stopped' },
    );
    const seconds = (Date.now() - killedAt) / 1000;
    expect(seconds).toBeLessThan(10);
    expect(stopped.error).toMatch(
      new RegExp(
        `^no projector has reported since ${stopped.heartbeatAt.replace(/[.]/g, '\\.')} \\(\\d+ s ago; it was live then\\)$`,
      ),
    );
    expect(stopped.eventsApplied).toBe(6);
    expect(stopped.lag.events).toBe(8);
    expect(stopped.lag.seconds).toBeGreaterThan(0);
  });
});
