// Types for kafka-broker.mjs (plain ESM so that node runs it without a TypeScript step).

export interface KafkaBrokerOptions {
  /** Kafka's data directory (log.dirs). Default: a fresh temp dir that stop() removes. A given
   *  directory is left in place by stop() and reused (not re-formatted) when already formatted. */
  logDir?: string;
  /** Fixed broker (PLAINTEXT) port on 127.0.0.1 instead of a free one. */
  port?: number;
  /** Fixed KRaft controller port on 127.0.0.1 instead of a free one. */
  controllerPort?: number;
  /** Extra or overriding server.properties entries, e.g. { 'auto.create.topics.enable': false }. */
  serverProperties?: Record<string, string | number | boolean>;
  /** JVM -Xmx (default '512m', or env ESFLOW_KAFKA_HEAP). */
  maxHeap?: string;
  /** How long to wait for the broker to serve (default 120000 ms). */
  startTimeoutMs?: number;
}

export interface KafkaBroker {
  /** Bootstrap servers for kafkajs: ['127.0.0.1:PORT']. Unchanged by restart(). */
  readonly brokers: string[];
  readonly host: string;
  readonly port: number;
  readonly controllerPort: number;
  /** Kafka's data directory (log.dirs). */
  readonly logDir: string;
  /** The broker's stdout/stderr (log4j INFO); removed by stop(). */
  readonly outputFile: string;
  /** The current JVM's process id (changes on restart(); -1 while none runs). */
  readonly pid: number;
  /** SIGTERM (SIGKILL after 20 s), wait for exit, remove temp files. Idempotent. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) to the JVM and returns at once: an outage or crash.
   *  Nothing is cleaned up; call restart() or stop() afterwards. */
  kill(signal?: NodeJS.Signals | number): void;
  /** Stops the broker gracefully if it runs, then starts it again on the same ports with the
   *  same data, and resolves when it serves again. */
  restart(): Promise<void>;
}

/** Starts a real single-node Kafka 3.9 broker (KRaft combined mode) on 127.0.0.1 and resolves
 *  once it answers a Metadata request listing itself. Transactions work (internal topics have
 *  one replica, min ISR 1). */
export function startKafkaBroker(options?: KafkaBrokerOptions): Promise<KafkaBroker>;

/** The broker's classpath (resolved by mvn once, cached under .cache/infra/). */
export function kafkaClasspath(): Promise<string>;
export function kafkaJvmFlags(maxHeap?: string): string[];
export function kafkaServerProperties(o: {
  port: number;
  controllerPort: number;
  dataDir: string;
  extra?: Record<string, string | number | boolean>;
}): string;
/** One Metadata (v4) request over the Kafka protocol. */
export function kafkaMetadataProbe(
  host: string,
  port: number,
  timeoutMs?: number,
): Promise<{
  brokers: { nodeId: number; host: string; port: number }[];
  clusterId: string | null;
  controllerId: number;
}>;
export const KAFKA_POM: string;
