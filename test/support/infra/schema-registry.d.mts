// Types for schema-registry.mjs (plain ESM so that node runs it without a TypeScript step).

export interface SchemaRegistryOptions {
  /** Fixed port on 127.0.0.1 instead of a free one. */
  port?: number;
  /** Apicurio Registry version (default '3.0.9', or env APICURIO_VERSION; 3.3.x needs Java 21). */
  version?: string;
  /** JVM -Xmx (default '384m', or env ESFLOW_SCHEMA_REGISTRY_HEAP). */
  maxHeap?: string;
  /** Keep the schemas in an H2 file (under the registry's temp dir, removed by stop()) instead
   *  of in memory, so that they survive kill() and restart(): a crash, not a wipe. */
  persistent?: boolean;
  /** Extra Quarkus/Apicurio system properties, passed as -Dkey=value. */
  properties?: Record<string, string | number | boolean>;
  /** How long to wait for the API to answer (default 120000 ms). */
  startTimeoutMs?: number;
}

export interface SchemaRegistryServer {
  /** Base URL of the Confluent-compatible API: http://127.0.0.1:PORT/apis/ccompat/v7
   *  (give it to @kafkajs/confluent-schema-registry as `host`). */
  readonly url: string;
  /** http://127.0.0.1:PORT (Apicurio's own API is under /apis/registry/v3). */
  readonly baseUrl: string;
  readonly port: number;
  /** The current JVM's process id (changes on restart(); -1 while none runs). */
  readonly pid: number;
  /** The server's stdout/stderr; removed by stop(). */
  readonly outputFile: string;
  /** SIGTERM (SIGKILL after 15 s), wait for exit, remove temp files. Idempotent. The data
   *  (in memory, or the `persistent` H2 file) is gone after stop(). */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) to the JVM and resolves once it has exited: an outage or
   *  a crash. Nothing is cleaned up; call restart() or stop() afterwards. */
  kill(signal?: NodeJS.Signals | number): Promise<void>;
  /** Stops the registry gracefully if it runs, then starts it again on the same port, and
   *  resolves when it answers. Its schemas are still there only if it is `persistent`. */
  restart(): Promise<void>;
}

/** Starts a real Apicurio Registry (in-memory storage) on 127.0.0.1 and resolves once
 *  GET {url}/subjects answers 200. Installs it first if needed (mvn, once). */
export function startSchemaRegistry(options?: SchemaRegistryOptions): Promise<SchemaRegistryServer>;

/** Unpacks the distribution into .cache/infra/apicurio-<version>/ once; returns its runnable jar. */
export function installApicurio(version?: string): Promise<string>;
export function apicurioJvmFlags(maxHeap?: string): string[];
export const APICURIO_POM: string;
export const DEFAULT_APICURIO_VERSION: string;
