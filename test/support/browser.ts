import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';

/** Debian's Chromium, which the browser suites drive headless through playwright-core. */
export const CHROMIUM = process.env.ESFLOW_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Where the browser suites save their screenshots (CI keeps this folder as an artifact). */
export const SCREENSHOT_DIR = resolve(__dirname, '../../test-results/ui-screenshots');

/**
 * Chromium's executable, installed from Debian's packages when it is missing and this process
 * may install (root with apt-get), as `.ci/run` does; undefined, with the reason, when neither.
 */
export function ensureChromium(): { executable?: string; reason?: string } {
  if (existsSync(CHROMIUM)) return { executable: CHROMIUM };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!root || !apt)
    return { reason: `${CHROMIUM} is missing and this user cannot apt-get install chromium` };
  const install = spawnSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'],
    { encoding: 'utf8', timeout: 600_000 },
  );
  if (install.status === 0 && existsSync(CHROMIUM)) return { executable: CHROMIUM };
  return { reason: `apt-get install chromium failed: ${install.stderr.trim().slice(-400)}` };
}

/** A headless Chromium with a fresh profile. */
export interface HeadlessChromium {
  readonly browser: Browser;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with what these closed-network machines need: no sandbox (root), no
 * GPU, and none of Chromium's background connections (they are refused here, many at a time).
 */
export async function launchChromium(executable: string): Promise<HeadlessChromium> {
  // playwright gives the browser a new temporary profile of its own and removes it on close.
  const browser = await chromium.launch({
    executablePath: executable,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    newPage: async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(15_000);
      return page;
    },
    close: () => browser.close(),
  };
}

/** Saves a full-page screenshot of `page` as `<SCREENSHOT_DIR>/<name>.png`; returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
