import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ErrorCode, EsflowError } from '@esflow/core';
import {
  COMPATIBILITY_LEVELS,
  CompatibilityLevel,
  DEFAULT_EVENT_STREAM_LEVEL,
  isCompatibilityLevel,
} from '../compatibility/compatibility-level';
import { ReleasedVersion } from '../compatibility/check-compatibility';

/**
 * The committed record of released schema versions (e.g. `schemas/schemas.lock.json`): per
 * subject, every version in use with its schema JSON, and the subject's compatibility level.
 * Written by `esflow schemas register`; read by `esflow schemas check`.
 */
export interface SchemaLock {
  readonly lockfileVersion: 1;
  /** The level of subjects that state none, and of new subjects. BACKWARD_TRANSITIVE by default. */
  readonly defaultLevel: CompatibilityLevel;
  readonly subjects: Readonly<Record<string, LockedSubject>>;
}

/**
 * One subject in a {@link SchemaLock}: its released versions and, optionally, its own compatibility
 * level.
 */
export interface LockedSubject {
  /** Overrides `defaultLevel` for this subject. */
  readonly level?: CompatibilityLevel;
  /** Oldest first; numbered from 1 without gaps. */
  readonly versions: readonly ReleasedVersion[];
}

/** The lock file's conventional name, `schemas.lock.json`. */
export const LOCK_FILE_NAME = 'schemas.lock.json';

export function emptyLock(
  defaultLevel: CompatibilityLevel = DEFAULT_EVENT_STREAM_LEVEL,
): SchemaLock {
  return { lockfileVersion: 1, defaultLevel, subjects: {} };
}

function invalid(path: string, message: string): EsflowError {
  return new EsflowError(ErrorCode.InvalidConfiguration, `${path}: ${message}`);
}

/** Parses and checks a lock file's text; `path` names it in errors (INVALID_CONFIGURATION). */
export function parseLock(text: string, path = LOCK_FILE_NAME): SchemaLock {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(path, `not valid JSON: ${(error as Error).message}`);
  }
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject(json) || json['lockfileVersion'] !== 1)
    throw invalid(path, 'not an esflow schema lock file (expected "lockfileVersion": 1)');
  const levels = COMPATIBILITY_LEVELS.join(', ');
  const defaultLevel = json['defaultLevel'] ?? DEFAULT_EVENT_STREAM_LEVEL;
  if (!isCompatibilityLevel(defaultLevel))
    throw invalid(path, `"defaultLevel" must be one of ${levels}`);
  if (!isObject(json['subjects'])) throw invalid(path, '"subjects" must be an object');
  const subjects: Record<string, LockedSubject> = {};
  for (const [subject, entry] of Object.entries(json['subjects'])) {
    if (!isObject(entry) || !Array.isArray(entry['versions']))
      throw invalid(path, `subject ${subject} must have "versions": [{ "version", "schema" }]`);
    const level = entry['level'];
    if (level !== undefined && !isCompatibilityLevel(level))
      throw invalid(path, `subject ${subject}: "level" must be one of ${levels}`);
    const versions = entry['versions'].map((version: unknown, index: number): ReleasedVersion => {
      if (
        !isObject(version) ||
        version['version'] !== index + 1 ||
        typeof version['schema'] !== 'string'
      )
        throw invalid(
          path,
          `subject ${subject}: versions[${index}] must be { "version": ${index + 1}, "schema": "<schema JSON>" }`,
        );
      return { version: index + 1, schema: version['schema'] };
    });
    subjects[subject] = level === undefined ? { versions } : { level, versions };
  }
  return { lockfileVersion: 1, defaultLevel, subjects };
}

/** The lock's text: subjects sorted, two-space JSON, one line per version, final newline. */
export function formatLock(lock: SchemaLock): string {
  const subjects = Object.fromEntries(
    Object.keys(lock.subjects)
      .sort()
      .map((subject) => [subject, lock.subjects[subject]!]),
  );
  return `${JSON.stringify({ ...lock, subjects }, null, 2)}\n`;
}

/** Reads the lock file; a missing file is an empty lock (nothing released yet). */
export function readLockFile(path: string): SchemaLock {
  if (!existsSync(path)) return emptyLock();
  return parseLock(readFileSync(path, 'utf8'), path);
}

export function writeLockFile(path: string, lock: SchemaLock): void {
  writeFileSync(path, formatLock(lock));
}

/** The lock with `schema` appended as the next version of `subject` (new subjects get `level`). */
export function withReleasedVersion(
  lock: SchemaLock,
  subject: string,
  schema: string,
  level: CompatibilityLevel = lock.defaultLevel,
): SchemaLock {
  const existing = lock.subjects[subject];
  const versions = [...(existing?.versions ?? [])];
  versions.push({ version: versions.length + 1, schema });
  const entry: LockedSubject = existing ? { ...existing, versions } : { level, versions };
  return { ...lock, subjects: { ...lock.subjects, [subject]: entry } };
}
