import { resolve } from 'node:path';
import { z } from 'zod';
import { ErrorCode, EsflowError } from '@esflow/domain';

const port = (name: string, fallback: number) =>
  z.coerce
    .number({ invalid_type_error: `${name} must be a port number` })
    .int(`${name} must be a whole number`)
    .min(1, `${name} must be between 1 and 65535`)
    .max(65535, `${name} must be between 1 and 65535`)
    .default(fallback);

const byteSize = z
  .string()
  .regex(/^\d+(kb|mb|b)?$/i, 'ESFLOW_BODY_LIMIT must look like 1mb, 512kb or 1048576')
  .default('1mb');

const environment = z.object({
  PORT: port('PORT', 3000),
  PROJECTOR_PORT: port('PROJECTOR_PORT', 3001),
  ESFLOW_DATA_DIR: z.string().min(1, 'ESFLOW_DATA_DIR must not be empty').default('./data'),
  ESFLOW_SCHEMA_DIR: z.string().min(1).default('./schemas/avro'),
  ESFLOW_SQLITE_SYNCHRONOUS: z
    .enum(['FULL', 'NORMAL'], {
      errorMap: () => ({ message: 'ESFLOW_SQLITE_SYNCHRONOUS must be FULL or NORMAL' }),
    })
    .default('FULL'),
  ESFLOW_BODY_LIMIT: byteSize,
  ESFLOW_INSTANCE_CACHE_SIZE: z.coerce.number().int().min(0).default(10_000),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      errorMap: () => ({
        message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
      }),
    })
    .default('info'),
});

/** esflow's configuration, read from the environment once at start-up. */
export interface EsflowConfig {
  readonly port: number;
  readonly projectorPort: number;
  /** Absolute path of the directory holding the SQLite files. */
  readonly dataDir: string;
  readonly schemaDir: string;
  readonly sqliteSynchronous: 'FULL' | 'NORMAL';
  /** Largest accepted request body, in bytes. */
  readonly bodyLimitBytes: number;
  readonly instanceCacheSize: number;
  readonly logLevel: string;
}

function parseByteSize(text: string): number {
  const match = /^(\d+)(kb|mb|b)?$/i.exec(text)!;
  const unit = (match[2] ?? 'b').toLowerCase();
  return Number(match[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
}

/**
 * Validates the environment, failing with one message that lists every bad variable and the
 * rule it broke (so a misconfigured deployment stops at start, not at the first request).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EsflowConfig {
  const parsed = environment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  - ${issue.path.join('.')}: ${issue.message}`,
    );
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `invalid configuration:\n${problems.join('\n')}`,
    );
  }
  const values = parsed.data;
  return {
    port: values.PORT,
    projectorPort: values.PROJECTOR_PORT,
    dataDir: resolve(values.ESFLOW_DATA_DIR),
    schemaDir: resolve(values.ESFLOW_SCHEMA_DIR),
    sqliteSynchronous: values.ESFLOW_SQLITE_SYNCHRONOUS,
    bodyLimitBytes: parseByteSize(values.ESFLOW_BODY_LIMIT),
    instanceCacheSize: values.ESFLOW_INSTANCE_CACHE_SIZE,
    logLevel: values.LOG_LEVEL,
  };
}
