import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, EsflowError, EsflowFeature, EventStore, ReadModelStore } from '@esflow/core';
import { ProjectionRuntimeOptions } from '@esflow/nest';
import { SchemaRegistry } from '@esflow/schemas';

/** The adapters `esflow projections ...` works on. */
export interface EsflowConnection {
  readonly store: EventStore;
  readonly registry: SchemaRegistry;
  readonly readModel: ReadModelStore;
  readonly projections?: ProjectionRuntimeOptions;
}

/**
 * `esflow.config.(ts|js|cjs|mjs)` in the project's root: what the `esflow` command works on.
 * The features are the same objects the application's Nest modules register, so the CLI sees
 * exactly the workflows, schema directories and projections the application runs.
 */
export interface EsflowCliConfig {
  /** The application's features, made by `defineFeature`. */
  readonly features: readonly EsflowFeature[];
  /**
   * The committed lock file of released schema versions, relative to the config file
   * (default `schemas/schemas.lock.json`); golden fixtures go to `fixtures/` beside it.
   */
  readonly lockFile?: string;
  /**
   * Opens the store, registry and read model for `esflow projections ...`. By default they come
   * from the environment variables the bundled hosts read (SQLite under ./data, or
   * ESDB_CONNECTION_STRING, SCHEMA_REGISTRY_URL, ESFLOW_READMODEL_URL).
   */
  readonly connect?: () => Promise<EsflowConnection>;
}

/** Declares the config with its type checked; returns it unchanged. */
export function defineConfig(config: EsflowCliConfig): EsflowCliConfig {
  return config;
}

/** A config as the CLI uses it: validated, with paths resolved. */
export interface LoadedConfig {
  /** The file it was read from. */
  readonly file: string;
  readonly features: readonly EsflowFeature[];
  readonly lockFile: string;
  readonly connect?: () => Promise<EsflowConnection>;
}

/** The names looked for in the working directory, in this order. */
export const CONFIG_FILE_NAMES = [
  'esflow.config.ts',
  'esflow.config.js',
  'esflow.config.cjs',
  'esflow.config.mjs',
] as const;

function invalid(message: string): EsflowError {
  return new EsflowError(ErrorCode.InvalidConfiguration, message);
}

/**
 * Finds and loads the config: `explicit` if given, else the first of {@link CONFIG_FILE_NAMES}
 * in `cwd`. A TypeScript config (and the TypeScript files it imports) is compiled on the fly
 * with the project's own `typescript`. Throws INVALID_CONFIGURATION saying what is wrong.
 */
export async function loadEsflowConfig(
  explicit?: string,
  cwd: string = process.cwd(),
): Promise<LoadedConfig> {
  const file = explicit
    ? resolve(cwd, explicit)
    : CONFIG_FILE_NAMES.map((name) => resolve(cwd, name)).find((path) => existsSync(path));
  if (!file)
    throw invalid(
      `no esflow config in ${cwd}: create ${CONFIG_FILE_NAMES[1]} (see "Use esflow in your own service" in esflow's README) or pass --config <file>`,
    );
  if (!existsSync(file)) throw invalid(`${file} does not exist`);
  const loaded = await importConfig(file);
  const config = (loaded as { default?: unknown }).default ?? loaded;
  const features = (config as Partial<EsflowCliConfig> | undefined)?.features;
  const shapeOk =
    Array.isArray(features) &&
    features.every(
      (feature: EsflowFeature) =>
        typeof feature === 'object' &&
        feature !== null &&
        [feature.workflows, feature.schemas, feature.projections].every(Array.isArray),
    );
  if (!shapeOk)
    throw invalid(
      `${file} must export { features: [...] }, each made by defineFeature (from @esflow/core)`,
    );
  const { lockFile, connect } = config as EsflowCliConfig;
  if (connect !== undefined && typeof connect !== 'function')
    throw invalid(`${file}: connect must be a function returning the adapters`);
  return {
    file,
    features: features!,
    lockFile: resolve(dirname(file), lockFile ?? 'schemas/schemas.lock.json'),
    ...(connect ? { connect } : {}),
  };
}

/* eslint-disable @typescript-eslint/no-require-imports -- a config is loaded by path at run time */
async function importConfig(file: string): Promise<unknown> {
  if (file.endsWith('.ts')) return requireTypeScript(file);
  if (file.endsWith('.cjs') || file.endsWith('.js')) return require(file);
  return import(pathToFileURL(file).href);
}

interface CompilingModule {
  _compile(code: string, filename: string): void;
}

/** Requires a TypeScript file, compiling it (and the project's .ts files it imports) as it loads. */
function requireTypeScript(file: string): unknown {
  let ts: typeof import('typescript');
  try {
    ts = require(require.resolve('typescript', { paths: [dirname(file)] }));
  } catch {
    throw invalid(
      `${file} is TypeScript, but the project has no "typescript" package to compile it`,
    );
  }
  const extensions = require.extensions as Record<
    string,
    (module: unknown, filename: string) => void
  >;
  const previous = extensions['.ts'];
  extensions['.ts'] = (module, filename) => {
    if (filename.includes(`${sep}node_modules${sep}`) && previous)
      return previous(module, filename);
    const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
      },
    });
    (module as CompilingModule)._compile(outputText, filename);
  };
  try {
    return require(file);
  } finally {
    if (previous) extensions['.ts'] = previous;
    else delete extensions['.ts'];
  }
}
/* eslint-enable @typescript-eslint/no-require-imports */
