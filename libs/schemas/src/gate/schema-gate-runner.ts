import { existsSync } from 'node:fs';
import { WorkflowDefinition } from '@esflow/core';
import {
  CompatibilityLevel,
  DEFAULT_EVENT_STREAM_LEVEL,
} from '../compatibility/compatibility-level';
import { readLockFile, SchemaLock, withReleasedVersion, writeLockFile } from './lock-file';
import { releasedFixturesDir, writeMissingFixtures } from './released-fixtures';
import { createRegistryHistory, ReleasedSubject } from './registry-history';
import { evaluateGate, GateReport, subjectsToRegister } from './schema-gate';
import { withFrameworkSchemas } from '../framework-schemas';
import { loadWorkingTree } from './working-tree';

/** What `esflow schemas check|register` reads. */
export interface SchemaGateOptions {
  /**
   * The directories of .avsc files, read together (each workflow module's own); the
   * framework's schemas from `@esflow/core` are always added.
   */
  readonly schemaDirectories: readonly string[];
  /** The lock file (e.g. schemas/schemas.lock.json); ignored with `registryUrl`. */
  readonly lockFile: string;
  /** A Confluent-compatible registry's base URL: released versions and levels come from it. */
  readonly registryUrl?: string;
  /** The workflows whose events need schemas. */
  readonly workflows: readonly WorkflowDefinition[];
  /** For tests. */
  readonly fetch?: typeof fetch;
}

/**
 * The result of {@link runSchemaCheck}: where the released versions came from and the gate's report
 * (`report.ok` is the verdict).
 */
export interface SchemaGateRun {
  /** Where released versions came from, for the summary (`lock file ...`, `registry ...`). */
  readonly source: string;
  readonly report: GateReport;
}

/**
 * A version that {@link runSchemaRegister} released: its subject, new version number and the level
 * it is held to.
 */
export interface RegisteredVersion {
  readonly subject: string;
  readonly version: number;
  readonly level: CompatibilityLevel;
}

/**
 * The result of {@link runSchemaRegister}: the gate run, plus what was released (nothing when the
 * gate failed) and, in lock-file mode, the golden fixtures written.
 */
export interface SchemaRegisterRun extends SchemaGateRun {
  /** Empty when the gate failed or nothing changed. */
  readonly registered: readonly RegisteredVersion[];
  /** Golden fixture files written for released versions that had none (lock-file mode). */
  readonly fixturesWritten?: readonly string[];
}

/** `esflow schemas check`: reads the working tree and the released versions, and evaluates. */
export async function runSchemaCheck(options: SchemaGateOptions): Promise<SchemaGateRun> {
  const tree = loadWorkingTree(withFrameworkSchemas(options.schemaDirectories));
  if (options.registryUrl) {
    const history = createRegistryHistory(options.registryUrl, options.fetch);
    const released = await history.released(tree.schemas.map((schema) => schema.subject));
    return {
      source: `registry ${history.url}`,
      report: evaluateGate({
        tree,
        released,
        defaultLevel: DEFAULT_EVENT_STREAM_LEVEL,
        workflows: options.workflows,
        releasedSubjectsMustExist: false,
      }),
    };
  }
  const lock = readLockFile(options.lockFile);
  return {
    source: `lock file ${options.lockFile}${existsSync(options.lockFile) ? '' : ' (not there yet)'}`,
    report: evaluateGate({
      tree,
      released: releasedFromLock(lock),
      defaultLevel: lock.defaultLevel,
      workflows: options.workflows,
      releasedSubjectsMustExist: true,
    }),
  };
}

/**
 * `esflow schemas register`: runs the check and, if it passes, releases every new or changed
 * subject's working-tree schema as its next version, in the lock file or the registry.
 */
export async function runSchemaRegister(options: SchemaGateOptions): Promise<SchemaRegisterRun> {
  const run = await runSchemaCheck(options);
  if (!run.report.ok) return { ...run, registered: [] };
  const pending = subjectsToRegister(run.report);
  const registered: RegisteredVersion[] = [];
  if (options.registryUrl) {
    const history = createRegistryHistory(options.registryUrl, options.fetch);
    for (const subject of pending) {
      const result = await history.register(subject.subject, subject.schema!, subject.level);
      registered.push({ subject: subject.subject, version: result.version, level: subject.level });
    }
    return { ...run, registered };
  }
  let lock = readLockFile(options.lockFile);
  for (const subject of pending) {
    lock = withReleasedVersion(lock, subject.subject, subject.schema!, subject.level);
    registered.push({
      subject: subject.subject,
      version: lock.subjects[subject.subject]!.versions.length,
      level: lock.subjects[subject.subject]!.level ?? lock.defaultLevel,
    });
  }
  if (registered.length > 0 || !existsSync(options.lockFile)) writeLockFile(options.lockFile, lock);
  // Each released version gets a golden fixture (payload + Avro bytes) that tests decode forever.
  const fixturesWritten = writeMissingFixtures(lock, releasedFixturesDir(options.lockFile));
  return { ...run, source: `lock file ${options.lockFile}`, registered, fixturesWritten };
}

/** The lock's subjects as the gate checks them (a subject without level has the default). */
export function releasedFromLock(lock: SchemaLock): Map<string, ReleasedSubject> {
  return new Map(
    Object.entries(lock.subjects).map(([subject, entry]) => [
      subject,
      { level: entry.level ?? lock.defaultLevel, versions: entry.versions },
    ]),
  );
}
