import { resolve } from 'node:path';
import { z } from 'zod';
import { ErrorCode, EsflowError } from '@esflow/core';
import type { EsflowAccessOptions } from '@esflow/nest';
import { accessFromEnvironment } from './access-environment';

const port = (name: string, fallback: number) =>
  z.coerce
    .number({ invalid_type_error: `${name} must be a port number` })
    .int(`${name} must be a whole number`)
    .min(1, `${name} must be between 1 and 65535`)
    .max(65535, `${name} must be between 1 and 65535`)
    .default(fallback);

const byteSize = (name: string, fallback: string) =>
  z
    .string()
    .regex(/^\d+(kb|mb|gb|b)?$/i, `${name} must look like 1mb, 512kb or 1048576`)
    .default(fallback);

const environment = z.object({
  PORT: port('PORT', 3000),
  PROJECTOR_PORT: port('PROJECTOR_PORT', 3001),
  ESFLOW_HOST: z
    .string()
    .min(1, 'ESFLOW_HOST must be an address to listen on, e.g. 127.0.0.1 or 0.0.0.0')
    .default('127.0.0.1'),
  ESFLOW_ALLOWED_HOSTS: z
    .string()
    .regex(
      /^(\*|[A-Za-z0-9.:[\]-]+(,[A-Za-z0-9.:[\]-]+)*)$/,
      'ESFLOW_ALLOWED_HOSTS must be * or a comma-separated list of host names',
    )
    .optional(),
  ESFLOW_DATA_DIR: z.string().min(1, 'ESFLOW_DATA_DIR must not be empty').default('./data'),
  ESFLOW_SQLITE_SYNCHRONOUS: z
    .enum(['FULL', 'NORMAL'], {
      errorMap: () => ({ message: 'ESFLOW_SQLITE_SYNCHRONOUS must be FULL or NORMAL' }),
    })
    .default('FULL'),
  ESFLOW_BODY_LIMIT: byteSize('ESFLOW_BODY_LIMIT', '1mb'),
  ESFLOW_INSTANCE_CACHE_BYTES: byteSize('ESFLOW_INSTANCE_CACHE_BYTES', '64mb'),
  ESFLOW_MAX_EVENT_SIZE: byteSize('ESFLOW_MAX_EVENT_SIZE', '256kb'),
  ESFLOW_MAX_INSTANCE_SIZE: byteSize('ESFLOW_MAX_INSTANCE_SIZE', '16mb'),
  ESFLOW_INSTANCE_CACHE_SIZE: z.coerce.number().int().min(0).default(10_000),
  ESFLOW_SNAPSHOT_EVERY: z.coerce
    .number()
    .int('ESFLOW_SNAPSHOT_EVERY must be a whole number of events')
    .min(0, 'ESFLOW_SNAPSHOT_EVERY must be 0 (no snapshots) or more')
    .default(500),
  ESDB_CONNECTION_STRING: z
    .string()
    .regex(
      /^esdb(\+discover)?:\/\//,
      'ESDB_CONNECTION_STRING must start with esdb:// or esdb+discover://',
    )
    .optional(),
  SCHEMA_REGISTRY_URL: z
    .string()
    .url('SCHEMA_REGISTRY_URL must be an http(s) URL of a Confluent-compatible registry')
    .optional(),
  ESFLOW_READMODEL_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'ESFLOW_READMODEL_URL must be a postgres:// connection string')
    .optional(),
  ESFLOW_READMODEL_SCHEMA: z
    .string()
    .regex(
      /^[a-z][a-z0-9_]{0,40}$/,
      'ESFLOW_READMODEL_SCHEMA must be lower-case letters, digits and _',
    )
    .default('esflow_read'),
  ESFLOW_PROJECTION_LEASE_MS: z.coerce
    .number()
    .int()
    .min(500, 'ESFLOW_PROJECTION_LEASE_MS must be at least 500')
    .default(10_000),
  ESFLOW_REBUILD_COOLDOWN_MS: z.coerce
    .number()
    .int('ESFLOW_REBUILD_COOLDOWN_MS must be a whole number of milliseconds')
    .min(0, 'ESFLOW_REBUILD_COOLDOWN_MS must be 0 (no cooldown) or more')
    .default(30_000),
  ESFLOW_PROJECTION_BATCH_SIZE: z.coerce
    .number()
    .int()
    .min(1, 'ESFLOW_PROJECTION_BATCH_SIZE must be at least 1')
    .max(10_000, 'ESFLOW_PROJECTION_BATCH_SIZE must be at most 10000')
    .default(500),
  KAFKA_BROKERS: z
    .string()
    .regex(
      /^[^,\s]+:\d+(,[^,\s]+:\d+)*$/,
      'KAFKA_BROKERS must be a comma-separated list of host:port',
    )
    .optional(),
  KAFKA_TOPIC_TEMPLATE: z
    .string()
    .refine((t) => t.includes('{workflow}'), 'KAFKA_TOPIC_TEMPLATE must contain {workflow}')
    .default('esflow.{workflow}'),
  KAFKA_TOPIC_PARTITIONS: z.coerce
    .number()
    .int()
    .min(1, 'KAFKA_TOPIC_PARTITIONS must be at least 1')
    .default(3),
  KAFKA_CLIENT_ID: z.string().min(1).default('esflow'),
  KAFKA_TRANSACTIONAL_ID: z.string().min(1).default('esflow-bridge'),
  KAFKA_INBOUND_GROUP_ID: z.string().min(1).optional(),
  ESFLOW_TRACING: z
    .enum(['on', 'off'], { errorMap: () => ({ message: 'ESFLOW_TRACING must be on or off' }) })
    .default('off'),
  ESFLOW_TRACING_EXPORTER: z
    .enum(['otlp', 'console'], {
      errorMap: () => ({ message: 'ESFLOW_TRACING_EXPORTER must be otlp or console' }),
    })
    .default('otlp'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      errorMap: () => ({
        message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
      }),
    })
    .default('info'),
});

/**
 * esflow's configuration as the bundled hosts and the CLI read it from environment variables,
 * validated once at start-up (see the README's Configuration table).
 */
export interface EsflowEnvironment {
  readonly port: number;
  readonly projectorPort: number;
  /** The address the api and projector listen on (127.0.0.1 unless set). */
  readonly host: string;
  /** Host names requests may address; unset: the loopback names when `host` is loopback. */
  readonly allowedHosts?: readonly string[] | '*';
  /** Absolute path of the directory holding the SQLite files. */
  readonly dataDir: string;
  readonly sqliteSynchronous: 'FULL' | 'NORMAL';
  /** Largest accepted request body, in bytes. */
  readonly bodyLimitBytes: number;
  readonly instanceCacheSize: number;
  /** Events between an instance's snapshots (kept in `snapshots.sqlite`); 0: none. */
  readonly snapshotEvery: number;
  /** The instance cache's budget in bytes of event data. */
  readonly instanceCacheBytes: number;
  /** Most bytes of one stored event, and of one instance's stream. */
  readonly maxEventBytes: number;
  readonly maxInstanceBytes: number;
  readonly logLevel: string;
  /** Access control (ESFLOW_AUTH, ESFLOW_API_KEYS, ESFLOW_JWT_*): off unless configured. */
  readonly access: EsflowAccessOptions;
  /**
   * Set (ESFLOW_TRACING=on): OpenTelemetry tracing, its spans exported over OTLP/HTTP (the
   * standard OTEL_EXPORTER_OTLP_* variables say where) or printed to the console. Unset: off.
   */
  readonly tracing?: { readonly exporter: 'otlp' | 'console' };
  /** Set: events live in EventStoreDB instead of the embedded SQLite store. */
  readonly esdbConnectionString?: string;
  /** Set: schemas are registered in this Confluent-compatible registry instead of the embedded one. */
  readonly schemaRegistryUrl?: string;
  /** Set: read models live in PostgreSQL (this schema) instead of ./data/readmodel.sqlite. */
  readonly readModel: { readonly postgresUrl?: string; readonly schema: string };
  /** How long a projector's claim on a projection lasts without renewal (crash takeover time). */
  readonly projectionLeaseMs: number;
  /** Events a projection applies per read-model transaction. */
  readonly projectionBatchSize: number;
  /** How long after a rebuild finished another is refused over REST (429); 0: never. */
  readonly rebuildCooldownMs: number;
  /** Set: the projector runs the Kafka bridge. */
  readonly kafka?: {
    readonly brokers: readonly string[];
    /** Topic name per workflow; `{workflow}` is replaced by the workflow name. */
    readonly topicTemplate: string;
    readonly topicPartitions: number;
    readonly clientId: string;
    /** One per bridge deployment: a second bridge with the same id fences the first. */
    readonly transactionalId: string;
    /**
     * The consumer group of the inbound mappings: one per application (its projectors share the
     * topics' partitions); `<clientId>-inbound` unless KAFKA_INBOUND_GROUP_ID says.
     */
    readonly inboundGroupId: string;
  };
}

function parseByteSize(text: string): number {
  const match = /^(\d+)(kb|mb|gb|b)?$/i.exec(text)!;
  const unit = (match[2] ?? 'b').toLowerCase();
  const factor = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[unit as 'b' | 'kb' | 'mb' | 'gb'];
  return Number(match[1]) * factor;
}

/**
 * Validates the environment, failing with one message that lists every bad variable and the
 * rule it broke (so a misconfigured deployment stops at start, not at the first request).
 */
export function loadEsflowEnvironment(
  env: Readonly<Record<string, unknown>> = process.env,
): EsflowEnvironment {
  const parsed = environment.safeParse(env);
  const access = accessFromEnvironment(env);
  if (!parsed.success || access.problems.length > 0) {
    const problems = [
      ...(parsed.error?.issues ?? []).map(
        (issue) => `  - ${issue.path.join('.')}: ${issue.message}`,
      ),
      ...access.problems,
    ];
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `invalid configuration:\n${problems.join('\n')}`,
    );
  }
  const values = parsed.data;
  return {
    access: access.access,
    port: values.PORT,
    projectorPort: values.PROJECTOR_PORT,
    host: values.ESFLOW_HOST,
    ...(values.ESFLOW_ALLOWED_HOSTS
      ? {
          allowedHosts:
            values.ESFLOW_ALLOWED_HOSTS === '*'
              ? ('*' as const)
              : values.ESFLOW_ALLOWED_HOSTS.split(','),
        }
      : {}),
    dataDir: resolve(values.ESFLOW_DATA_DIR),
    sqliteSynchronous: values.ESFLOW_SQLITE_SYNCHRONOUS,
    bodyLimitBytes: parseByteSize(values.ESFLOW_BODY_LIMIT),
    instanceCacheSize: values.ESFLOW_INSTANCE_CACHE_SIZE,
    snapshotEvery: values.ESFLOW_SNAPSHOT_EVERY,
    instanceCacheBytes: parseByteSize(values.ESFLOW_INSTANCE_CACHE_BYTES),
    maxEventBytes: parseByteSize(values.ESFLOW_MAX_EVENT_SIZE),
    maxInstanceBytes: parseByteSize(values.ESFLOW_MAX_INSTANCE_SIZE),
    logLevel: values.LOG_LEVEL,
    ...(values.ESFLOW_TRACING === 'on'
      ? { tracing: { exporter: values.ESFLOW_TRACING_EXPORTER } }
      : {}),
    readModel: {
      schema: values.ESFLOW_READMODEL_SCHEMA,
      ...(values.ESFLOW_READMODEL_URL ? { postgresUrl: values.ESFLOW_READMODEL_URL } : {}),
    },
    projectionLeaseMs: values.ESFLOW_PROJECTION_LEASE_MS,
    rebuildCooldownMs: values.ESFLOW_REBUILD_COOLDOWN_MS,
    projectionBatchSize: values.ESFLOW_PROJECTION_BATCH_SIZE,
    ...(values.ESDB_CONNECTION_STRING
      ? { esdbConnectionString: values.ESDB_CONNECTION_STRING }
      : {}),
    ...(values.SCHEMA_REGISTRY_URL ? { schemaRegistryUrl: values.SCHEMA_REGISTRY_URL } : {}),
    ...(values.KAFKA_BROKERS
      ? {
          kafka: {
            brokers: values.KAFKA_BROKERS.split(','),
            topicTemplate: values.KAFKA_TOPIC_TEMPLATE,
            topicPartitions: values.KAFKA_TOPIC_PARTITIONS,
            clientId: values.KAFKA_CLIENT_ID,
            transactionalId: values.KAFKA_TRANSACTIONAL_ID,
            inboundGroupId: values.KAFKA_INBOUND_GROUP_ID ?? `${values.KAFKA_CLIENT_ID}-inbound`,
          },
        }
      : {}),
  };
}
