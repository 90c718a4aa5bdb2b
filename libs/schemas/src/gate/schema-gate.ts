import { WorkflowDefinition } from '@esflow/core';
import { checkCompatibility } from '../compatibility/check-compatibility';
import { CompatibilityLevel } from '../compatibility/compatibility-level';
import { GateFailure, GateRule } from './gate-failure';
import { ReleasedSubject } from './registry-history';
import { checkWorkflowCoverage } from './workflow-coverage';
import { canonicalSchema, WorkingTree } from './working-tree';

/** Where a subject stands against its released versions. */
export const SubjectStatus = {
  /** No released version yet: registering makes the working tree's schema version 1. */
  New: 'new',
  /** Same as the latest released version. */
  Unchanged: 'unchanged',
  /** Differs from the latest released version and passes its level: ready to register. */
  Changed: 'changed',
  /** Breaks its level against at least one released version. */
  Incompatible: 'incompatible',
  /** Released, but no .avsc defines it any more. */
  Removed: 'removed',
} as const;
export type SubjectStatus = (typeof SubjectStatus)[keyof typeof SubjectStatus];

/**
 * One subject in a {@link GateReport}: its file, level, released versions and
 * {@link SubjectStatus}.
 */
export interface SubjectReport {
  readonly subject: string;
  /** The .avsc file (absent for a removed subject). */
  readonly file?: string;
  readonly level: CompatibilityLevel;
  /** Released version numbers, oldest first. */
  readonly released: readonly number[];
  readonly status: SubjectStatus;
  /** The working tree's self-contained schema (absent for a removed subject). */
  readonly schema?: string;
}

/**
 * The verdict of the schema-evolution gate: `ok` exactly when `failures` is empty, with every
 * failure and every subject's status.
 */
export interface GateReport {
  readonly ok: boolean;
  readonly failures: readonly GateFailure[];
  /** Every subject, sorted by name. */
  readonly subjects: readonly SubjectReport[];
}

export interface GateInput {
  readonly tree: WorkingTree;
  /** Released versions and level per subject (from the lock file or a registry). */
  readonly released: ReadonlyMap<string, ReleasedSubject>;
  /** The level of subjects not released yet. */
  readonly defaultLevel: CompatibilityLevel;
  readonly workflows: readonly WorkflowDefinition[];
  /**
   * Whether a released subject missing from the working tree fails the gate: yes for the lock
   * file (its stored events could no longer be read); no for a registry shared with others.
   */
  readonly releasedSubjectsMustExist: boolean;
}

/**
 * The schema-evolution gate, pure: the working tree's own failures, each subject checked against
 * its released versions under its level, released subjects that disappeared, and machine/schema
 * consistency. `ok` when there is no failure.
 */
export function evaluateGate(input: GateInput): GateReport {
  const failures: GateFailure[] = [...input.tree.failures];
  const subjects: SubjectReport[] = [];
  for (const schema of input.tree.schemas) {
    const released = input.released.get(schema.subject);
    const level = released?.level ?? input.defaultLevel;
    const versions = released?.versions ?? [];
    const latest = versions.at(-1);
    const base = { subject: schema.subject, file: schema.file, level, schema: schema.schema };
    const numbers = versions.map((version) => version.version);
    if (!latest) {
      subjects.push({ ...base, released: [], status: SubjectStatus.New });
      continue;
    }
    let changed: boolean;
    let issues: GateFailure[];
    try {
      changed = canonicalSchema(latest.schema) !== canonicalSchema(schema.schema);
      const report = checkCompatibility(schema.subject, schema.schema, versions, level, {
        candidateVersion: changed ? latest.version + 1 : latest.version,
      });
      issues = report.issues.map((issue) => ({
        rule: issue.rule,
        message: issue.message,
        subject: issue.subject,
        file: schema.file,
        field: issue.path,
        againstVersion: issue.againstVersion,
        direction: issue.direction,
      }));
    } catch (error) {
      changed = true;
      issues = [
        {
          rule: GateRule.InvalidSchema,
          subject: schema.subject,
          message: `${schema.subject}: a released version is not a valid Avro schema: ${(error as Error).message}`,
        },
      ];
    }
    failures.push(...issues);
    const status =
      issues.length > 0
        ? SubjectStatus.Incompatible
        : changed
          ? SubjectStatus.Changed
          : SubjectStatus.Unchanged;
    subjects.push({ ...base, released: numbers, status });
  }

  const present = new Set(input.tree.schemas.map((schema) => schema.subject));
  const invalid = new Set(
    input.tree.failures.flatMap((failure) => (failure.subject ? [failure.subject] : [])),
  );
  if (input.releasedSubjectsMustExist) {
    const someFilesUnreadable = input.tree.failures.some((failure) => !failure.subject);
    for (const [subject, released] of input.released) {
      if (present.has(subject) || invalid.has(subject)) continue;
      const numbers = released.versions.map((version) => version.version);
      subjects.push({
        subject,
        level: released.level,
        released: numbers,
        status: SubjectStatus.Removed,
      });
      failures.push({
        rule: GateRule.SubjectRemoved,
        subject,
        message:
          `${subject} has released versions (${numbers.map((n) => `v${n}`).join(', ')}) but no .avsc defines it any more: ` +
          `stored events of this type could no longer be read. Restore the schema` +
          (someFilesUnreadable ? ' (or fix the unreadable file reported above)' : '') +
          `, or remove the subject from the lock file if no such event must ever be read again`,
      });
    }
  }

  failures.push(...checkWorkflowCoverage(input.workflows, input.tree.schemas, invalid));
  subjects.sort((a, b) => a.subject.localeCompare(b.subject));
  return { ok: failures.length === 0, failures, subjects };
}

/** The subjects `schemas register` would release: new ones and changed ones, if the gate passed. */
export function subjectsToRegister(report: GateReport): SubjectReport[] {
  if (!report.ok) return [];
  return report.subjects.filter(
    (subject) => subject.status === SubjectStatus.New || subject.status === SubjectStatus.Changed,
  );
}
