// A real Confluent-compatible schema registry for esflow's integration tests: Apicurio Registry
// (io.apicurio:apicurio-registry-app, classifier `all`, tar.gz, from Maven Central via
// scripts/infra/apicurio/pom.xml), in-memory H2 storage, serving the Confluent API under
// /apis/ccompat/v7. Plain ESM on Node built-ins; types in schema-registry.d.mts.
// No top-level side effects.
//
//   import { startSchemaRegistry } from '../support/infra/schema-registry.mjs';
//   const sr = await startSchemaRegistry();   // sr.url -> http://127.0.0.1:PORT/apis/ccompat/v7
//   new SchemaRegistry({ host: sr.url });
//   await sr.stop();

import fs from 'node:fs';
import path from 'node:path';
import {
  cacheDir,
  freePort,
  makeTempDir,
  mvnBin,
  repoRoot,
  rmrf,
  run,
  spawnJava,
  stopChild,
  waitUntilReady,
} from './infra-common.mjs';

export const APICURIO_POM = path.join(repoRoot, 'scripts', 'infra', 'apicurio', 'pom.xml');

/** 3.0.9: the newest 3.x on Maven Central that runs on Java 17 (3.3.x needs Java 21). */
export const DEFAULT_APICURIO_VERSION = '3.0.9';

const HOST = '127.0.0.1';

/** The runnable jar in an unpacked distribution: quarkus-run.jar (fast-jar) or *-runner.jar (3.0.x). */
function findRunnableJar(dir) {
  if (!fs.existsSync(dir)) return undefined;
  if (fs.existsSync(path.join(dir, 'quarkus-run.jar'))) return path.join(dir, 'quarkus-run.jar');
  const runner = fs.readdirSync(dir).find((f) => f.endsWith('-runner.jar'));
  return runner ? path.join(dir, runner) : undefined;
}

/**
 * Unpacks Apicurio Registry's distribution into <cache>/apicurio-<version>/ once (Maven keeps
 * the tarball in ~/.m2) and returns the path of its runnable jar.
 * @param {string} [version]
 * @returns {Promise<string>}
 */
export async function installApicurio(
  version = process.env.APICURIO_VERSION || DEFAULT_APICURIO_VERSION,
) {
  const dir = path.join(cacheDir(), `apicurio-${version}`);
  const existing = fs.existsSync(path.join(dir, '.complete')) ? findRunnableJar(dir) : undefined;
  if (existing) return existing;
  // Unpack next to the final place, then rename: a concurrent or interrupted install never
  // leaves a half-unpacked directory behind under the final name.
  const tmp = `${dir}.${process.pid}.tmp`;
  rmrf(tmp);
  try {
    await run(mvnBin(), [
      '-q',
      '-B',
      '-f',
      APICURIO_POM,
      'dependency:unpack@apicurio',
      `-Dapicurio.version=${version}`,
      `-Dapicurio.dir=${tmp}`,
    ]);
    if (!findRunnableJar(tmp)) throw new Error(`no quarkus-run.jar or *-runner.jar in ${tmp}`);
    fs.writeFileSync(path.join(tmp, '.complete'), `${version}\n`);
    rmrf(dir);
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      // Another process finished first.
      if (!findRunnableJar(dir)) throw e;
    }
  } finally {
    rmrf(tmp);
  }
  return /** @type {string} */ (findRunnableJar(dir));
}

/** JVM flags for a 2-core machine: bounded heap, serial GC, C1 only. */
export function apicurioJvmFlags(maxHeap = process.env.ESFLOW_SCHEMA_REGISTRY_HEAP || '384m') {
  return [
    `-Xmx${maxHeap}`,
    '-Xms64m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-XX:-UsePerfData',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
  ];
}

/**
 * Starts Apicurio Registry on a free port of 127.0.0.1 and waits until its Confluent-compatible
 * API answers.
 *
 * @param {{ port?: number, version?: string, maxHeap?: string, persistent?: boolean, properties?: Record<string, string | number | boolean>, startTimeoutMs?: number }} [options]
 *   port: fixed port instead of a free one. version: Apicurio version (default 3.0.9, env
 *   APICURIO_VERSION). maxHeap: -Xmx (default 384m, env ESFLOW_SCHEMA_REGISTRY_HEAP).
 *   persistent: keep the schemas in an H2 file under the registry's temp dir instead of in
 *   memory, so that they survive kill() and restart() (a crash, not a wipe); stop() removes it.
 *   properties: extra Quarkus/Apicurio system properties (-Dkey=value).
 * @returns {Promise<import('./schema-registry.d.mts').SchemaRegistryServer>}
 */
export async function startSchemaRegistry(options = {}) {
  const jar = await installApicurio(options.version);
  const port = options.port ?? (await freePort());
  const workDir = makeTempDir('esflow-apicurio-');
  const outFile = path.join(workDir, 'apicurio.out');
  /** @type {Record<string, string | number | boolean>} */
  const storage = options.persistent
    ? {
        'apicurio.datasource.url': `jdbc:h2:file:${path.join(workDir, 'h2', 'registry')}`,
        // A few connections instead of Apicurio's 20: a 2-core machine.
        'apicurio.datasource.jdbc.initial-size': 2,
        'apicurio.datasource.jdbc.min-size': 2,
        'apicurio.datasource.jdbc.max-size': 8,
      }
    : {};
  /** @type {Record<string, string | number | boolean>} */
  const props = {
    'quarkus.http.host': HOST,
    'quarkus.http.port': port,
    'quarkus.http.access-log.enabled': false,
    // Off by default in Apicurio 3: without these, ccompat DELETE /subjects/... is refused.
    'apicurio.rest.deletion.artifact.enabled': true,
    'apicurio.rest.deletion.artifact-version.enabled': true,
    'apicurio.rest.deletion.group.enabled': true,
    // Nothing phones home; keep the JVM's temp files in workDir.
    'java.io.tmpdir': workDir,
    ...storage,
    ...options.properties,
  };
  const args = [
    ...apicurioJvmFlags(options.maxHeap),
    ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
    '-jar',
    jar,
  ];
  const base = `http://${HOST}:${port}`;
  const url = `${base}/apis/ccompat/v7`;
  /** @type {{ child: import('node:child_process').ChildProcess, exited: Promise<any> } | null} */
  let proc = null;
  let stopped = false;

  const launch = async () => {
    fs.appendFileSync(
      outFile,
      `\n===== esflow: starting Apicurio ${new Date().toISOString()} =====\n`,
    );
    proc = spawnJava({ args, cwd: workDir, outFile, cleanupDirs: [workDir] });
    await waitUntilReady({
      what: `Apicurio Registry on ${base}`,
      exited: proc.exited,
      outFile,
      timeoutMs: options.startTimeoutMs ?? 120_000,
      probe: async () => {
        const res = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.status === 200;
      },
    });
  };

  try {
    await launch();
  } catch (e) {
    if (proc) await stopChild(proc.child, proc.exited, 5000, 'SIGKILL');
    rmrf(workDir);
    throw e;
  }

  return {
    url,
    baseUrl: base,
    port,
    get pid() {
      return proc?.child.pid ?? -1;
    },
    outputFile: outFile,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (proc) await stopChild(proc.child, proc.exited, 15_000);
      rmrf(workDir);
    },
    async kill(signal = 'SIGKILL') {
      const running = proc;
      if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return;
      running.child.kill(signal);
      await running.exited;
    },
    async restart() {
      if (stopped) throw new Error('schema registry was stopped; start a new one');
      if (proc) await stopChild(proc.child, proc.exited, 15_000);
      proc = null;
      await launch();
    },
  };
}
