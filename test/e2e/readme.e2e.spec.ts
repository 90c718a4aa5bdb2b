import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, startApp } from '../support/app-process';

/** The README's walk-through, exactly as written there (only the port differs). */
function walkThrough(): string {
  const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('With `npm start` running'));
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
    expect(output).toContain('ETag: "4"');
    const history = json.find((r) => Array.isArray(r['events'])) as { events: { type: string }[] };
    expect(history.events.map((e) => e.type)).toEqual([
      'OrderPlaced',
      'PaymentReceived',
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
});
