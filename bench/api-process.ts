import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { realSleep } from '@esflow/core';

// The built apps as the bench runs them: child processes started from the repository root
// (`npm run bench` builds them first), stopped as an operator would stop them, and measured
// from /proc.

const REPO = resolve(__dirname, '..', '..');

/** A built esflow app the bench runs as a child process: `apps/<app>/dist/main.js`. */
export type BuiltApp = 'api' | 'projector';

/** An app {@link startApp} started: where it answers HTTP, and its process. */
export interface AppProcess {
  readonly baseUrl: string;
  readonly child: ChildProcess;
}

/** A port for an app the bench starts: at random in 20 000–39 999. */
export function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 20_000);
}

/**
 * The built `app` as a child process on `port` (PORT, or PROJECTOR_PORT for the projector) and
 * `dataDir` (ESFLOW_DATA_DIR), with LOG_LEVEL=warn and the bench's environment otherwise; its
 * stdout ignored, its stderr the bench's. Not waited for: see {@link startApp}.
 */
export function spawnApp(app: BuiltApp, port: number, dataDir: string): ChildProcess {
  return spawn(process.execPath, [join(REPO, `apps/${app}/dist/main.js`)], {
    cwd: REPO,
    env: {
      ...process.env,
      [app === 'api' ? 'PORT' : 'PROJECTOR_PORT']: String(port),
      ESFLOW_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/**
 * {@link spawnApp}, resolved once GET /health answers 2xx (asked every 100 ms, 300 times at
 * most). When the app exits first or never answers, it is killed (SIGKILL, awaited) and this
 * throws.
 */
export async function startApp(app: BuiltApp, port: number, dataDir: string): Promise<AppProcess> {
  const child = spawnApp(app, port, dataDir);
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300 && child.exitCode === null; i++) {
    if (
      await fetch(`${baseUrl}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { baseUrl, child };
    await realSleep(100);
  }
  await stopApp(child, 'SIGKILL');
  throw new Error(`the ${app} did not start`);
}

/** The built api on `port` and `dataDir`, once it answers /health: {@link startApp}. */
export function startApi(port: number, dataDir: string): Promise<AppProcess> {
  return startApp('api', port, dataDir);
}

/**
 * Sends `child` `signal` (SIGTERM, a graceful stop, by default) and resolves once it has
 * exited, sending SIGKILL if it has not after 10 s; at once if it had already exited.
 */
export async function stopApp(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill(signal);
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

/** Whether this machine has /proc to read {@link residentMiB} from. */
export function canReadResidentMemory(): boolean {
  return existsSync('/proc/self/status');
}

/** Process `pid`'s resident memory (VmRSS in /proc/<pid>/status), in MiB. */
export function residentMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}
