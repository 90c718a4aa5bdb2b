import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, startApp } from '../support/app-process';

/** A bash block of the README, exactly as written there (the first after `heading`). */
function walkThrough(heading = 'With `npm start` running'): string {
  const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
  expect(readme).toContain(heading);
  const section = readme.slice(readme.indexOf(heading));
  const block = section.slice(section.indexOf('```bash') + '```bash'.length);
  return block.slice(0, block.indexOf('```'));
}

describe('README walk-through', () => {
  let api: AppProcess;
  let projector: AppProcess;
  beforeAll(async () => {
    api = await startApp('api');
    projector = await startApp('projector', { dataDir: api.dataDir });
  });
  afterAll(async () => {
    await projector?.dispose();
    await api?.dispose();
  });

  it('works as written', () => {
    const script = walkThrough().replaceAll('localhost:3000', new URL(api.baseUrl).host);
    const output = execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const lines = output.split('\n');
    const json = lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(json.slice(0, 5).map((r) => r['code'] ?? r['state'])).toEqual([
      'awaitingPayment',
      'fetchingGoods',
      'EVENT_NOT_ACCEPTED',
      'shipping',
      'completed',
    ]);
    // As the README says: revision 1 after the start (OrderPlaced, then the payment window's
    // TimerScheduled), 3 after the payment (its TimerCancelled), 6 once completed.
    expect(json.slice(0, 5).map((r) => r['revision'] ?? null)).toEqual([1, 3, null, 4, 6]);
    expect(json[0]!['pendingTimers']).toEqual([
      {
        timerId: expect.any(String),
        eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
        dueAt: expect.any(String),
      },
    ]);
    expect(output).toContain('ETag: "6"');
    const history = json.find((r) => Array.isArray(r['events'])) as { events: { type: string }[] };
    expect(history.events.map((e) => e.type)).toEqual([
      'OrderPlaced',
      'TimerScheduled',
      'PaymentReceived',
      'TimerCancelled',
      'GoodsFetched',
      'ShipmentDispatched',
      'WorkflowCompleted',
    ]);
    const list = json.find((r) => Array.isArray(r['items'])) as {
      items: { id: string; status: string }[];
    };
    expect(list.items).toEqual([
      expect.objectContaining({ id: 'order-1001', status: 'completed' }),
    ]);
  });

  it('the payment window works as written', () => {
    const script = walkThrough('### An order that is not paid in time').replaceAll(
      'localhost:3000',
      new URL(api.baseUrl).host,
    );
    const output = execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const json = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(json).toHaveLength(4);
    expect(json[0]).toMatchObject({ state: 'awaitingPayment', revision: 1 });
    expect(json[1]).toMatchObject({
      state: 'cancelled',
      status: 'cancelled',
      revision: 3,
      context: { cancellationReason: 'payment window expired' },
      pendingTimers: [],
    });
    const timerId = (json[0]!['pendingTimers'] as { timerId: string }[])[0]!.timerId;
    expect(json[2]).toMatchObject({
      code: 'EVENT_NOT_ACCEPTED',
      movedByTimer: {
        timerId,
        eventType: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
        revision: 2,
      },
    });
    expect(json[3]).toEqual({
      timers: [
        expect.objectContaining({ timerId, status: 'fired', latenessMs: expect.any(Number) }),
      ],
    });
  });
});
