// Types for schema-registry.mjs (plain ESM so that node runs it without a TypeScript step).

export interface SchemaRegistryOptions {
  /** Fixed port on 127.0.0.1 instead of a free one. */
  port?: number;
  /** Apicurio Registry version (default '3.0.9', or env APICURIO_VERSION; 3.3.x needs Java 21). */
  version?: string;
  /** JVM -Xmx (default '384m', or env ESFLOW_SCHEMA_REGISTRY_HEAP). */
  maxHeap?: string;
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
  readonly pid: number;
  /** The server's stdout/stderr; removed by stop(). */
  readonly outputFile: string;
  /** SIGTERM (SIGKILL after 15 s), wait for exit, remove temp files. Idempotent. Data is in
   *  memory only: it is gone after stop(). */
  stop(): Promise<void>;
}

/** Starts a real Apicurio Registry (in-memory storage) on 127.0.0.1 and resolves once
 *  GET {url}/subjects answers 200. Installs it first if needed (mvn, once). */
export function startSchemaRegistry(options?: SchemaRegistryOptions): Promise<SchemaRegistryServer>;

/** Unpacks the distribution into .cache/infra/apicurio-<version>/ once; returns its runnable jar. */
export function installApicurio(version?: string): Promise<string>;
export function apicurioJvmFlags(maxHeap?: string): string[];
export const APICURIO_POM: string;
export const DEFAULT_APICURIO_VERSION: string;
