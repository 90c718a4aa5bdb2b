// A real single-node Apache Kafka broker (KRaft combined mode: broker + controller in one JVM)
// for esflow's integration tests, started from the jars of org.apache.kafka:kafka_2.13 that
// Maven resolves from scripts/infra/kafka/pom.xml. Plain ESM on Node built-ins; types in
// kafka-broker.d.mts. No top-level side effects.
//
//   import { startKafkaBroker } from '../support/infra/kafka-broker.mjs';
//   const kafka = await startKafkaBroker();   // kafka.brokers -> ['127.0.0.1:PORT']
//   ...
//   await kafka.restart();                    // same ports and data: an outage that data survives
//   await kafka.stop();                       // SIGTERM, then removes its temp files

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  cacheDir,
  freePort,
  javaBin,
  makeTempDir,
  mvnBin,
  readTail,
  repoRoot,
  rmrf,
  run,
  sha256,
  spawnJava,
  stopChild,
  waitUntilReady,
} from './infra-common.mjs';

export const KAFKA_POM = path.join(repoRoot, 'scripts', 'infra', 'kafka', 'pom.xml');

const HOST = '127.0.0.1';

/**
 * JVM flags for a 2-core machine shared with a compiler: bounded heap, the serial collector
 * (no concurrent GC threads), C1 only (much less JIT CPU at start-up; plenty fast for tests).
 */
export function kafkaJvmFlags(maxHeap = process.env.ESFLOW_KAFKA_HEAP || '512m') {
  return [
    `-Xmx${maxHeap}`,
    '-Xms64m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-XX:-UsePerfData',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    '-Djava.net.preferIPv4Stack=true',
  ];
}

/**
 * The broker's classpath, resolved by Maven once and cached in <cache>/kafka-cp-<pomhash>.txt.
 * Re-resolved when the pom changes or a jar has gone from ~/.m2.
 * @returns {Promise<string>}
 */
export async function kafkaClasspath() {
  const pom = fs.readFileSync(KAFKA_POM, 'utf8');
  const file = path.join(cacheDir(), `kafka-cp-${sha256(pom)}.txt`);
  if (fs.existsSync(file)) {
    const cp = fs.readFileSync(file, 'utf8').trim();
    if (cp && cp.split(path.delimiter).every((jar) => fs.existsSync(jar))) return cp;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  await run(mvnBin(), [
    '-q',
    '-B',
    '-f',
    KAFKA_POM,
    'dependency:build-classpath',
    '-Dmdep.includeScope=runtime',
    `-Dmdep.outputFile=${tmp}`,
  ]);
  fs.renameSync(tmp, file);
  return fs.readFileSync(file, 'utf8').trim();
}

/** A KRaft cluster id: 16 random bytes, base64url without padding, not starting with '-'. */
function newClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * server.properties for a single combined-mode node.
 * @param {{ port: number, controllerPort: number, dataDir: string, extra?: Record<string, string|number|boolean> }} o
 */
export function kafkaServerProperties({ port, controllerPort, dataDir, extra = {} }) {
  /** @type {Record<string, string|number|boolean>} */
  const props = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${HOST}:${controllerPort}`,
    listeners: `PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    // One node: every internal topic has one replica, and transactions work.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': true,
    'delete.topic.enable': true,
    // Few threads and small buffers: a 2-core machine.
    'num.network.threads': 2,
    'num.io.threads': 2,
    'background.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
    'num.replica.fetchers': 1,
    'log.cleaner.threads': 1,
    'log.cleaner.dedupe.buffer.size': 8 * 1024 * 1024,
    'log.cleaner.io.buffer.size': 512 * 1024,
    'auto.leader.rebalance.enable': false,
    // After a crash (kill -9) the restarted node cannot register until the controller has
    // expired the dead incarnation's session (DUPLICATE_BROKER_REGISTRATION): 9 s by default.
    'broker.session.timeout.ms': 4000,
    'broker.heartbeat.interval.ms': 1000,
    ...extra,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
`;

/**
 * Asks a broker for its metadata over the Kafka wire protocol (Metadata v4, no topics) and
 * resolves with the brokers it lists. A broker lists itself only once it is registered and
 * unfenced, i.e. ready for clients.
 * @returns {Promise<{ brokers: { nodeId: number, host: string, port: number }[], clusterId: string | null, controllerId: number }>}
 */
export function kafkaMetadataProbe(host, port, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const clientId = Buffer.from('esflow-probe');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
    let o = 0;
    o = body.writeInt16BE(3, o); // api_key Metadata
    o = body.writeInt16BE(4, o); // api_version
    o = body.writeInt32BE(1, o); // correlation_id
    o = body.writeInt16BE(clientId.length, o);
    o += clientId.copy(body, o);
    o = body.writeInt32BE(0, o); // topics: empty array (no topic metadata)
    body.writeInt8(0, o); // allow_auto_topic_creation
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);

    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const done = (err, val) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(val);
    };
    const timer = setTimeout(() => done(new Error('metadata probe timed out')), timeoutMs);
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error('connection closed before a metadata response')));
    sock.on('connect', () => sock.write(Buffer.concat([size, body])));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      try {
        let p = 4;
        const int16 = () => ((p += 2), buf.readInt16BE(p - 2));
        const int32 = () => ((p += 4), buf.readInt32BE(p - 4));
        const str = () => {
          const n = int16();
          if (n < 0) return null;
          p += n;
          return buf.toString('utf8', p - n, p);
        };
        if (int32() !== 1) throw new Error('unexpected correlation id');
        int32(); // throttle_time_ms
        const brokers = [];
        for (let i = int32(); i > 0; i--) {
          const nodeId = int32();
          const h = /** @type {string} */ (str());
          const prt = int32();
          str(); // rack
          brokers.push({ nodeId, host: h, port: prt });
        }
        const clusterId = str();
        const controllerId = int32();
        done(null, { brokers, clusterId, controllerId });
      } catch (e) {
        done(e);
      }
    });
  });
}

/**
 * Starts a real Kafka broker on free ports of 127.0.0.1 and waits until it serves clients.
 *
 * @param {{
 *   logDir?: string,
 *   port?: number,
 *   controllerPort?: number,
 *   serverProperties?: Record<string, string | number | boolean>,
 *   maxHeap?: string,
 *   startTimeoutMs?: number,
 * }} [options]
 *   logDir: Kafka's data directory (log.dirs). Default: a fresh temp dir, removed by stop().
 *     A given directory is kept by stop() and reused when already formatted.
 *   port / controllerPort: fixed ports instead of free ones.
 *   serverProperties: extra or overriding server.properties entries.
 *   maxHeap: -Xmx value (default 512m, env ESFLOW_KAFKA_HEAP).
 * @returns {Promise<import('./kafka-broker.d.mts').KafkaBroker>}
 */
export async function startKafkaBroker(options = {}) {
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const cp = await kafkaClasspath();
  const workDir = makeTempDir('esflow-kafka-');
  const dataDir = options.logDir ? path.resolve(options.logDir) : path.join(workDir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const outFile = path.join(workDir, 'kafka.out');
  const propsFile = path.join(workDir, 'server.properties');
  const log4jFile = path.join(workDir, 'log4j.properties');
  fs.writeFileSync(log4jFile, LOG4J);
  // The data dir lives inside workDir unless the caller gave one (which is then left alone).
  const cleanupDirs = [workDir];

  const jvm = (heap) => [
    ...kafkaJvmFlags(heap),
    `-Dlog4j.configuration=file:${log4jFile}`,
    `-Dkafka.logs.dir=${workDir}`,
    '-cp',
    cp,
  ];

  let port = 0;
  let controllerPort = 0;
  /** @type {{ child: import('node:child_process').ChildProcess, exited: Promise<any> } | null} */
  let proc = null;
  let stopped = false;

  const launch = async () => {
    fs.appendFileSync(
      outFile,
      `\n===== esflow: starting kafka.Kafka ${new Date().toISOString()} =====\n`,
    );
    proc = spawnJava({
      args: [...jvm(options.maxHeap), 'kafka.Kafka', propsFile],
      cwd: workDir,
      outFile,
      cleanupDirs,
    });
    const p = proc;
    await waitUntilReady({
      what: `Kafka broker on ${HOST}:${port}`,
      exited: p.exited,
      outFile,
      timeoutMs: startTimeoutMs,
      probe: async () => {
        const md = await kafkaMetadataProbe(HOST, port, 2000);
        return md.brokers.length > 0 ? md : undefined;
      },
    });
  };

  // Free ports can be taken between picking and binding: retry with new ones (only when the
  // ports were not given).
  for (let attempt = 1; ; attempt++) {
    port = options.port ?? (await freePort());
    controllerPort = options.controllerPort ?? (await freePort());
    while (controllerPort === port) controllerPort = await freePort();
    fs.writeFileSync(
      propsFile,
      kafkaServerProperties({ port, controllerPort, dataDir, extra: options.serverProperties }),
    );
    try {
      if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
        await run(
          javaBin(),
          [
            ...jvm('256m'),
            'kafka.tools.StorageTool',
            'format',
            '-t',
            newClusterId(),
            '-c',
            propsFile,
            '--ignore-formatted',
          ],
          { cwd: workDir, timeoutMs: 120_000 },
        );
      }
      await launch();
      break;
    } catch (e) {
      if (proc) await stopChild(proc.child, proc.exited, 5000, 'SIGKILL');
      proc = null;
      const portClash = /Address already in use|BindException/.test(readTail(outFile, 20000));
      if (
        portClash &&
        attempt < 3 &&
        options.port === undefined &&
        options.controllerPort === undefined
      ) {
        fs.truncateSync(outFile, 0);
        continue;
      }
      rmrf(workDir);
      throw e;
    }
  }

  const broker = {
    brokers: [`${HOST}:${port}`],
    host: HOST,
    port,
    controllerPort,
    logDir: dataDir,
    outputFile: outFile,
    get pid() {
      return proc?.child.pid ?? -1;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (proc) await stopChild(proc.child, proc.exited);
      rmrf(workDir);
    },
    kill(signal = 'SIGKILL') {
      if (proc && proc.child.exitCode === null && proc.child.signalCode === null)
        proc.child.kill(signal);
    },
    async restart() {
      if (stopped) throw new Error('Kafka broker was stopped; start a new one');
      if (proc) await stopChild(proc.child, proc.exited);
      proc = null;
      await launch();
    },
  };
  return broker;
}
