import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAndProjector } from '../support/api-and-projector';
import { AppProcess, startApp } from '../support/app-process';
import {
  ensureChromium,
  HeadlessChromium,
  launchChromium,
  saveScreenshot,
} from '../support/browser';
import { waitFor } from '../support/wait-for';

/**
 * The debugger UI in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * against the built api and projector. Search → instance → send an event → see it on the
 * timeline → rebuild a projection; the same pages read with JavaScript off. Screenshots of each
 * page land in test-results/ui-screenshots/.
 */
const chromiumAvailable = ensureChromium();
if (!chromiumAvailable.executable)
  console.warn(`ui-browser suite skipped: ${chromiumAvailable.reason}`);

describe.skipIf(!chromiumAvailable.executable)('debugger UI in headless Chromium', () => {
  const apps = apiAndProjector('sqlite', 'esflow-ui-browser-');
  let chromium: HeadlessChromium;
  const orderId = `ui-order-${Date.now()}`;

  beforeAll(async () => {
    chromium = await launchChromium(chromiumAvailable.executable!);
    const started = await apps.http.post('/workflows/orderFulfillment', {
      input: {
        orderId,
        customerId: 'c-ui',
        amountCents: 4999,
        currency: 'EUR',
        items: [{ sku: 'SKU-1', quantity: 2 }],
      },
    });
    expect(started.status).toBe(201);
    await apps.http.post('/workflows/orderFulfillment', {
      input: {
        orderId: `${orderId}-other`,
        customerId: 'c-ui',
        amountCents: 100,
        currency: 'EUR',
        items: [{ sku: 'SKU-2', quantity: 1 }],
      },
    });
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
  });

  it('finds an instance, sends it an event and shows it on the timeline', async () => {
    const page = await chromium.newPage();
    const base = apps.api.baseUrl;

    // Search: the read model lags the streams a little; the list is searched until it has it.
    await waitFor(
      async () => {
        await page.goto(`${base}/ui?workflow=orderFulfillment&idPrefix=${orderId}`);
        return (await page.getByTestId('instance-row').count()) === 2;
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'both orders in the instance list' },
    );
    await page.getByLabel('Status').selectOption('running');
    await page.getByLabel('Id starts with').fill(`${orderId}-o`);
    await page.getByTestId('search-button').click();
    await expect.poll(() => page.getByTestId('instance-row').count()).toBe(1);
    await saveScreenshot(page, '01-instances');
    await page.getByLabel('Id starts with').fill(orderId);
    await page.getByTestId('search-button').click();
    await page.locator(`[data-testid=instance-row][data-id="${orderId}"] a`).click();

    // The instance: its chart with the current state, the timeline, the pending payment timer.
    await expect
      .poll(() => page.getByTestId('instance-state').textContent())
      .toBe('awaitingPayment');
    expect(
      await page.locator('[data-state="orderFulfillment.awaitingPayment"]').getAttribute('class'),
    ).toContain('current');
    expect(await page.getByTestId('timer-row').count()).toBe(1);
    const eventsBefore = await page.getByTestId('timeline-event').count();
    await saveScreenshot(page, '02-instance');

    // A payload the schema refuses: the API's problem is shown, nothing is recorded.
    const form = page.getByTestId('send-event-form');
    await form.locator('select[name=type]').selectOption('PaymentReceived');
    await form.locator('[name="field:paymentId"]').fill('pay-ui');
    await form.locator('[name="field:amountCents"]').fill('not a number');
    await page.getByTestId('send-event-button').click();
    await expect
      .poll(() => form.getByTestId('action-result').textContent())
      .toContain('amountCents');
    expect(await page.getByTestId('timeline-event').count()).toBe(eventsBefore);
    await saveScreenshot(page, '03-send-refused');

    // A valid one: recorded, and the page follows it without a reload.
    await form.locator('[name="field:amountCents"]').fill('4999');
    await page.getByTestId('send-event-button').click();
    await expect
      .poll(() => page.getByTestId('instance-state').textContent(), { timeout: 10_000 })
      .not.toBe('awaitingPayment');
    await expect
      .poll(() => page.locator('[data-testid=timeline-event][data-type=PaymentReceived]').count())
      .toBe(1);
    expect(
      await page
        .locator(
          '[data-testid=timeline-event][data-type=PaymentReceived] [data-testid=event-actor]',
        )
        .textContent(),
    ).toBe('anonymous');
    expect(
      await page.locator('[data-state="orderFulfillment.awaitingPayment"]').getAttribute('class'),
    ).toContain('visited');
    await saveScreenshot(page, '04-instance-after-send');

    // The workflow page: the chart with instance counts drawn on it, and the versions in use.
    await page.goto(`${base}/ui/workflows/orderFulfillment`);
    expect(await page.getByTestId('state-chart').count()).toBe(1);
    await expect.poll(() => page.getByTestId('state-count').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('version-row').count()).toBeGreaterThan(0);
    await saveScreenshot(page, '05-workflow');
    await page.close();
  });

  it('rebuilds a projection and shows its progress to live', async () => {
    const page = await chromium.newPage();
    await page.goto(`${apps.api.baseUrl}/ui/projections`);
    const row = page.locator('[data-testid=projection-row][data-name=instances]');
    await expect.poll(() => row.getByTestId('projection-status').textContent()).toBe('live');
    await row.getByTestId('rebuild-button').click();
    await expect.poll(() => row.getByTestId('action-result').textContent()).toContain('202');
    // The page reloads itself after an action; the projector swaps the rebuilt copy in.
    await waitFor(
      async () => {
        await page.reload();
        const applied = Number(await row.locator('td').nth(3).textContent());
        return (await row.getByTestId('projection-status').textContent()) === 'live' && applied > 0;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the rebuilt instances projection live' },
    );
    // The projector's other processors, as it reported them to the read model.
    const timers = page.locator('[data-testid=processor-row][data-kind=timerService]');
    expect(await timers.count()).toBe(1);
    expect(await timers.getByTestId('processor-state').textContent()).toMatch(/\w+/);
    expect(await timers.getByTestId('processor-silent').count()).toBe(0);
    await saveScreenshot(page, '06-projections');
    await page.close();
  });

  it('reads every page with JavaScript off', async () => {
    const context = await chromium.browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${apps.api.baseUrl}/ui/workflows/orderFulfillment/${orderId}`);
    expect(await page.getByTestId('timeline-event').count()).toBeGreaterThan(2);
    expect(await page.getByTestId('state-chart').count()).toBe(1);
    await page.goto(`${apps.api.baseUrl}/ui?workflow=orderFulfillment&status=running`);
    expect(await page.getByTestId('instance-row').count()).toBeGreaterThan(0);
    await page.goto(`${apps.api.baseUrl}/ui/workflows/orderFulfillment/no-such-order`);
    expect(await page.getByTestId('not-found').count()).toBe(1);
    await saveScreenshot(page, '07-no-javascript-not-found');
    await context.close();
  });
});

describe.skipIf(!chromiumAvailable.executable)('debugger UI with access control on', () => {
  let api: AppProcess;
  let chromium: HeadlessChromium;

  beforeAll(async () => {
    api = await startApp('api', {
      env: {
        ESFLOW_API_KEYS:
          'ui-reader:reader:reader-key-0123456789,ui-operator:operator:operator-key-0123456789',
      },
    });
    chromium = await launchChromium(chromiumAvailable.executable!);
    const started = await fetch(`${api.baseUrl}/workflows/orderFulfillment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'operator-key-0123456789' },
      body: JSON.stringify({
        input: {
          orderId: 'ui-guarded',
          customerId: 'c',
          amountCents: 1,
          currency: 'EUR',
          items: [{ sku: 'S', quantity: 1 }],
        },
      }),
    });
    expect(started.status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await api?.dispose();
  });

  it('refuses a page without credentials, reads with a reader key, and refuses its actions', async () => {
    const page = await chromium.newPage();
    const refused = await page.goto(`${api.baseUrl}/ui/workflows/orderFulfillment/ui-guarded`);
    expect(refused?.status()).toBe(401);
    expect(refused?.headers()['content-type']).toContain('application/problem+json');

    // Sign in: the credentials field keeps the key for the pages (a cookie) and the actions.
    await page.goto(`${api.baseUrl}/ui/login`);
    await page.locator('#credentials').fill('reader-key-0123456789');
    await Promise.all([page.waitForEvent('load'), page.locator('#credentials').press('Enter')]);
    const read = await page.goto(`${api.baseUrl}/ui/workflows/orderFulfillment/ui-guarded`);
    expect(read?.status()).toBe(200);
    expect(await page.getByTestId('instance-state').textContent()).toBe('awaitingPayment');
    await page.getByTestId('terminate-form').locator('[name=reason]').fill('from the UI');
    await page.getByTestId('terminate-button').click();
    await expect
      .poll(() => page.getByTestId('terminate-form').getByTestId('action-result').textContent())
      .toContain('FORBIDDEN');
    await saveScreenshot(page, '08-reader-refused-action');
    await page.close();
  });
});
