import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from './wait-for';

const REPO = resolve(__dirname, '../..');
const ENTRY = {
  api: 'apps/api/dist/main.js',
  projector: 'apps/projector/dist/main.js',
} as const;

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** What a process run to its exit printed, how it ended, and how long it took. */
export interface ProcessRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr, trimmed, one entry per line. */
  lines: string[];
  seconds: number;
}

/**
 * Runs a built entry point (`apps/api/dist/main.js`, the CLI, ...) from the repository root to
 * its exit, as an operator would start it; killed after `timeoutMs`.
 */
export function runToExit(
  entry: string,
  env: Record<string, string>,
  args: string[] = [],
  timeoutMs = 30_000,
): ProcessRun {
  const started = Date.now();
  const result = spawnSync(process.execPath, [entry, ...args], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    lines: `${result.stdout}${result.stderr}`.trim().split('\n'),
    seconds: (Date.now() - started) / 1000,
  };
}

export interface AppProcess {
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly output: () => string;
  /** Sends a signal (SIGKILL to simulate a crash) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the same app again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops the app; removes the data directory if this harness created it. */
  dispose(): Promise<void>;
}

/**
 * Runs a built esflow app (`npm run build` first; `npm test` does it) as a real child process
 * on a free port with its own data directory, and waits until it answers /health.
 */
export async function startApp(
  app: keyof typeof ENTRY,
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<AppProcess> {
  const entry = join(REPO, ENTRY[app]);
  if (!existsSync(entry))
    throw new Error(`${entry} is missing: run \`npm run build\` (npm test does) first`);
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `esflow-${app}-`));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const launch = async () => {
    log = '';
    const env = {
      ...process.env,
      ESFLOW_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      [app === 'api' ? 'PORT' : 'PROJECTOR_PORT']: String(port),
      ...options.env,
    };
    const started = spawn(process.execPath, [entry], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    started.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child = started;
    await waitFor(
      async () => {
        if (started.exitCode !== null)
          throw new Error(`${app} exited with ${started.exitCode}:\n${log}`);
        return fetch(`${baseUrl}/health`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { timeoutMs: 30_000, intervalMs: 50, what: `${app} to answer /health` },
    );
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolveExit) => running.once('exit', resolveExit));
    running.kill(signal);
    await exited;
  };

  await launch();
  return {
    baseUrl,
    dataDir,
    output: () => log,
    kill,
    restart: launch,
    dispose: async () => {
      await kill('SIGTERM');
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
