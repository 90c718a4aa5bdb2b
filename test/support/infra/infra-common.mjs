// Shared plumbing for the real servers that esflow's integration tests start on this machine
// (see kafka-broker.mjs and schema-registry.mjs). Plain ESM JavaScript on Node built-ins only, so
// that `node` can run it without a TypeScript step and TypeScript tests can import it.
// No top-level side effects: nothing runs until a function is called.

import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in <repo>/test/support/infra/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Cache directory for derived artifacts (classpath file, unpacked distributions). Jars and
 * tarballs themselves stay in Maven's local repository (~/.m2). Override: ESFLOW_INFRA_CACHE.
 */
export function cacheDir() {
  const dir = process.env.ESFLOW_INFRA_CACHE || path.join(repoRoot, '.cache', 'infra');
  fs.mkdirSync(dir, { recursive: true });
  const ignore = path.join(dir, '.gitignore');
  if (!fs.existsSync(ignore)) fs.writeFileSync(ignore, '*\n');
  return dir;
}

/** The `java` to run: $JAVA_HOME/bin/java when JAVA_HOME is set, else `java` on PATH. */
export function javaBin() {
  const home = process.env.JAVA_HOME;
  if (home) {
    const bin = path.join(home, 'bin', 'java');
    if (fs.existsSync(bin)) return bin;
  }
  return 'java';
}

/** `mvn` on PATH, or $MVN. */
export function mvnBin() {
  return process.env.MVN || 'mvn';
}

export function sha256(text) {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * Runs a command to completion, capturing output; rejects with the output on a non-zero exit.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ cwd?: string, timeoutMs?: number }} [opts]
 * @returns {Promise<{ stdout: string, stderr: string }>}
 */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? 10 * 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const e = new Error(
            `${cmd} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${tail(`${stdout}\n${stderr}`, 4000)}`,
          );
          reject(e);
        } else resolve({ stdout, stderr });
      },
    );
  });
}

export function tail(text, max = 3000) {
  return text.length > max ? `...${text.slice(-max)}` : text;
}

export function readTail(file, max = 3000) {
  try {
    return tail(fs.readFileSync(file, 'utf8'), max);
  } catch {
    return '';
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** Whether `port` can be bound on 127.0.0.1 right now. */
export function isPortFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export function makeTempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function rmrf(dir) {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

export const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a JVM in the background with its stdout+stderr appended to `outFile`, plus a tiny
 * detached watchdog shell that, should this Node process die without stopping it, sends the
 * JVM SIGTERM (SIGKILL after 15 s) and removes `cleanupDirs`. Returns the child and a promise
 * of its exit.
 * @param {{ args: string[], cwd: string, outFile: string, cleanupDirs?: string[] }} o
 */
export function spawnJava({ args, cwd, outFile, cleanupDirs = [] }) {
  const fd = fs.openSync(outFile, 'a');
  let child;
  try {
    child = spawn(javaBin(), args, { cwd, stdio: ['ignore', fd, fd], env: process.env });
  } finally {
    fs.closeSync(fd);
  }
  /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null, error?: Error }>} */
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // e.g. ENOENT when there is no java: no 'exit' follows.
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  if (child.pid) {
    const watchdog = startWatchdog(child.pid, cleanupDirs);
    // Once the JVM is gone the watchdog has nothing left to guard.
    child.once('exit', () => watchdog.kill('SIGKILL'));
  }
  return { child, exited };
}

function startWatchdog(pid, dirs) {
  const script = [
    'P=$1; J=$2; shift 2',
    'while kill -0 "$P" 2>/dev/null; do kill -0 "$J" 2>/dev/null || exit 0; sleep 2; done',
    'kill -TERM "$J" 2>/dev/null',
    'i=0; while kill -0 "$J" 2>/dev/null && [ $i -lt 15 ]; do sleep 1; i=$((i+1)); done',
    'kill -KILL "$J" 2>/dev/null',
    'for d in "$@"; do rm -rf -- "$d"; done',
  ].join('\n');
  const w = spawn(
    '/bin/sh',
    ['-c', script, 'esflow-infra-watchdog', String(process.pid), String(pid), ...dirs],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  w.on('error', () => {});
  w.unref();
  return w;
}

/**
 * Stops a child: `signal` (SIGTERM) first, SIGKILL after `graceMs`. Resolves once it has exited.
 * @param {import('node:child_process').ChildProcess} child
 * @param {Promise<unknown>} exited
 */
export async function stopChild(child, exited, graceMs = 20_000, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  try {
    child.kill(signal);
    // A process paused with SIGSTOP (an outage simulated by a test) must run to handle it.
    if (signal !== 'SIGKILL') child.kill('SIGCONT');
  } catch {
    /* already gone */
  }
  const t = setTimeout(() => {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }, graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(t);
  }
}

/**
 * Polls `probe` until it resolves truthy. Fails early if the process exits, or after `timeoutMs`.
 * @template T
 * @param {{ probe: () => Promise<T | undefined | false>, exited: Promise<{code: number|null, signal: string|null}>,
 *           timeoutMs: number, what: string, outFile: string, intervalMs?: number }} o
 * @returns {Promise<T>}
 */
export async function waitUntilReady({
  probe,
  exited,
  timeoutMs,
  what,
  outFile,
  intervalMs = 250,
}) {
  let dead = null;
  exited.then((e) => {
    dead = e;
  });
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (dead) {
      if (dead.error)
        throw new Error(
          `${what} could not be started: ${dead.error.message} (java 17+ needed: set JAVA_HOME or PATH)`,
        );
      throw new Error(
        `${what} exited before it was ready (code ${dead.code}, signal ${dead.signal}). Output (${outFile}):\n${readTail(outFile)}`,
      );
    }
    try {
      const r = await probe();
      if (r) return r;
    } catch (e) {
      lastError = String(e?.message ?? e);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} not ready after ${timeoutMs} ms (last probe error: ${lastError}). Output (${outFile}):\n${readTail(outFile)}`,
      );
    }
    await delay(intervalMs);
  }
}

/** Resident set size of a process in MiB, from /proc (undefined where there is no /proc). */
export function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}
