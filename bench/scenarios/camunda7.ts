import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { LatencySummary } from '../stats';

const REPO = resolve(__dirname, '..', '..', '..');
const PEER_DIR = join(REPO, 'bench', 'camunda7');
const POM = join(PEER_DIR, 'pom.xml');
const JAR = join(PEER_DIR, 'target', 'camunda7-peer.jar');
/** Dropped and created afresh for every run, dropped again after it. */
const DATABASE = 'esflow_bench_camunda';
/** A bounded heap, all of it from the start (no resizing during the measured window). */
const JVM_OPTIONS = ['-Xms1g', '-Xmx1g'];
/** Orders run before the measured window, for the JIT and the pool, not counted. */
const DEFAULT_WARMUP_SECONDS = 5;
/** The first build downloads Camunda and its dependencies from Maven Central. */
const BUILD_TIMEOUT_MS = 20 * 60_000;
/** On top of warm-up and measured seconds: the JVM, the engine and its schema starting. */
const RUN_SLACK_MS = 180_000;
const OUTPUT_TAIL_LINES = 15;

export interface Camunda7Result {
  readonly threads: number;
  readonly transitionsPerSecond: number;
  /** Per transition (start or correlation); `count` is the transitions that succeeded. */
  readonly latency: LatencySummary;
  readonly errors: number;
}

export type Camunda7Outcome = Camunda7Result | { readonly skipped: string };

export interface Camunda7Options {
  /** Default ESFLOW_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/test. */
  readonly postgresUrl?: string;
  /** Default 5. */
  readonly warmupSeconds?: number;
}

/** The peer's one line of stdout (bench/camunda7/src/main/java/dev/esflow/bench). */
interface PeerReport {
  readonly threads: number;
  readonly seconds: number;
  readonly transitions: number;
  readonly errors: number;
  readonly transitionsPerSecond: number;
  /** Null when nothing was timed. */
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

interface Finished {
  /** Set when the command could not be started (ENOENT: not on PATH) or was killed. */
  readonly error?: NodeJS.ErrnoException;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end with stdio piped; never rejects. */
function run(
  command: string,
  args: readonly string[],
  options: { readonly timeoutMs: number; readonly env?: NodeJS.ProcessEnv },
): Promise<Finished> {
  return new Promise((done) => {
    const child = spawn(command, args, {
      cwd: REPO,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let error: NodeJS.ErrnoException | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      error = new Error(`${command} did not finish within ${options.timeoutMs / 1000} s`);
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (failure: NodeJS.ErrnoException) => (error = failure));
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ ...(error ? { error } : {}), code, stdout, stderr });
    });
  });
}

/** The last lines of a command's output, without Maven's colour codes. */
function tail(...outputs: string[]): string {
  const lines = outputs
    // eslint-disable-next-line no-control-regex
    .map((output) => output.replace(/\x1b\[[0-9;]*m/g, ''))
    .join('\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
  return lines.slice(-OUTPUT_TAIL_LINES).join('\n');
}

function newestMtimeMs(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce(
    (newest, entry) => Math.max(newest, newestMtimeMs(join(path, entry))),
    stat.mtimeMs,
  );
}

/** Whether target/camunda7-peer.jar is newer than the pom and every source. */
function jarIsFresh(): boolean {
  if (!existsSync(JAR)) return false;
  const sources = Math.max(newestMtimeMs(POM), newestMtimeMs(join(PEER_DIR, 'src')));
  return statSync(JAR).mtimeMs > sources;
}

/** Builds the jar unless it is fresh; the reason it could not, or undefined. */
async function buildPeer(): Promise<string | undefined> {
  if (jarIsFresh()) return undefined;
  const version = await run('mvn', ['-v'], { timeoutMs: 60_000 });
  if (version.error?.code === 'ENOENT') return 'mvn is not on PATH (Maven builds the peer)';
  process.stderr.write('  camunda7: building the peer with Maven (the first build downloads)\n');
  const build = await run('mvn', ['-q', '-B', '-f', POM, 'package'], {
    timeoutMs: BUILD_TIMEOUT_MS,
  });
  if (build.error || build.code !== 0 || !existsSync(JAR))
    return `building the Camunda 7 peer failed (${build.error?.message ?? `mvn exited with ${build.code}`}):\n${tail(build.stdout, build.stderr)}`;
  return undefined;
}

interface Target {
  /** The maintenance database's URL, to drop and create the benchmark's from. */
  readonly adminUrl: string;
  readonly jdbcUrl: string;
  readonly user: string;
  readonly password: string;
  readonly where: string;
}

function target(postgresUrl: string): Target | string {
  let url: URL;
  try {
    url = new URL(postgresUrl);
  } catch {
    return `the PostgreSQL URL ${JSON.stringify(postgresUrl)} does not parse`;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    return `the PostgreSQL URL ${JSON.stringify(postgresUrl)} is not postgres://`;
  const host = url.hostname || '127.0.0.1';
  const port = url.port || '5432';
  const user = decodeURIComponent(url.username) || 'postgres';
  const password = decodeURIComponent(url.password);
  const admin = new URL(url.href);
  admin.username = encodeURIComponent(user);
  admin.pathname = '/postgres';
  return {
    adminUrl: admin.href,
    jdbcUrl: `jdbc:postgresql://${host}:${port}/${DATABASE}`,
    user,
    password,
    where: `${host}:${port}`,
  };
}

/** Runs `work` on a client of the maintenance database; the reason it failed, or undefined. */
async function onAdmin(
  to: Target,
  what: string,
  work: (client: Client) => Promise<void>,
): Promise<string | undefined> {
  const client = new Client({ connectionString: to.adminUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    return `could not connect to PostgreSQL at ${to.where} as ${to.user}: ${(error as Error).message}`;
  }
  try {
    await work(client);
    return undefined;
  } catch (error) {
    return `could not ${what} the database ${DATABASE} at ${to.where}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropDatabase(client: Client): Promise<void> {
  const { rows } = await client.query<{ version: string }>(
    "SELECT current_setting('server_version_num') AS version",
  );
  // WITH (FORCE), PostgreSQL 13 on, also ends a crashed run's sessions still connected.
  const force = Number(rows[0]?.version) >= 130_000 ? ' WITH (FORCE)' : '';
  await client.query(`DROP DATABASE IF EXISTS "${DATABASE}"${force}`);
}

function parseReport(stdout: string): PeerReport | undefined {
  const line = stdout
    .split('\n')
    .map((candidate) => candidate.trim())
    .filter((candidate) => candidate.startsWith('{'))
    .pop();
  if (line === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const fields: readonly (keyof PeerReport)[] = [
    'threads',
    'seconds',
    'transitions',
    'errors',
    'transitionsPerSecond',
  ];
  const record = parsed as Record<string, unknown>;
  return fields.every((field) => typeof record[field] === 'number')
    ? (parsed as PeerReport)
    : undefined;
}

/**
 * The peer: Camunda 7.22 embedded in a small Java program (bench/camunda7), history FULL, on a
 * fresh PostgreSQL database, runs the order workflow of the REST scenario with `threads`
 * threads for `seconds` after a warm-up: each order a process instance started by business key,
 * then PaymentReceived, GoodsFetched and ShipmentDispatched correlated to it, 4 transitions in
 * all (each one transaction), each timed.
 *
 * Builds the peer once (mvn, cached by Maven in ~/.m2; skip the build when the jar is newer than
 * the pom and sources), then runs it for `seconds` at `threads`. Never throws: without java or
 * mvn, a build that fails or a PostgreSQL that does not answer, says why it skipped.
 */
export async function measureCamunda7(
  threads: number,
  seconds: number,
  options?: Camunda7Options,
): Promise<Camunda7Outcome> {
  try {
    const java = await run('java', ['-version'], { timeoutMs: 60_000 });
    if (java.error?.code === 'ENOENT') return { skipped: 'java is not on PATH' };
    if (java.error || java.code !== 0)
      return { skipped: `java -version failed:\n${tail(java.stdout, java.stderr)}` };

    const to = target(
      options?.postgresUrl ??
        process.env['ESFLOW_TEST_POSTGRES_URL'] ??
        'postgres://postgres@127.0.0.1:5432/test',
    );
    if (typeof to === 'string') return { skipped: to };
    // Before a build that may take minutes: is there a database to run on at all?
    const unreachable = await onAdmin(to, 'reach', async () => undefined);
    if (unreachable !== undefined) return { skipped: unreachable };

    const unbuilt = await buildPeer();
    if (unbuilt !== undefined) return { skipped: unbuilt };

    const notCreated = await onAdmin(to, 'create', async (client) => {
      await dropDatabase(client);
      await client.query(`CREATE DATABASE "${DATABASE}"`);
    });
    if (notCreated !== undefined) return { skipped: notCreated };
    try {
      const warmupSeconds = options?.warmupSeconds ?? DEFAULT_WARMUP_SECONDS;
      const peer = await run(
        'java',
        [
          ...JVM_OPTIONS,
          '-jar',
          JAR,
          String(threads),
          String(seconds),
          String(warmupSeconds),
          to.jdbcUrl,
          to.user,
        ],
        {
          timeoutMs: (warmupSeconds + seconds) * 1000 + RUN_SLACK_MS,
          env: { ...process.env, CAMUNDA7_PEER_JDBC_PASSWORD: to.password },
        },
      );
      const report = peer.error || peer.code !== 0 ? undefined : parseReport(peer.stdout);
      if (report === undefined)
        return {
          skipped: `the Camunda 7 peer failed (${peer.error?.message ?? `exit code ${peer.code}`}):\n${tail(peer.stdout, peer.stderr)}`,
        };
      return {
        threads: report.threads,
        transitionsPerSecond: report.transitionsPerSecond,
        // NaN where nothing was timed, as summarise([]) gives.
        latency: {
          count: report.transitions,
          p50Ms: report.p50Ms ?? NaN,
          p90Ms: report.p90Ms ?? NaN,
          p99Ms: report.p99Ms ?? NaN,
          maxMs: report.maxMs ?? NaN,
        },
        errors: report.errors,
      };
    } finally {
      await onAdmin(to, 'drop', dropDatabase);
    }
  } catch (error) {
    return { skipped: `the Camunda 7 peer could not run: ${(error as Error).message}` };
  }
}
