import { CompatibilityDirection, CompatibilityLevel, levelChecks } from './compatibility-level';
import { CompatibilityRule } from './compatibility-rule';
import { AvroSchemaInput, CompatibilityIssue, readerCanRead } from './reader-can-read';

/** A version of a subject already in use (in the lock file or a registry). */
export interface ReleasedVersion {
  readonly version: number;
  /** The Avro schema JSON. */
  readonly schema: string;
}

/** One break between the candidate schema and one released version, in one direction. */
export interface VersionedCompatibilityIssue {
  readonly subject: string;
  /** The released version the candidate was checked against. */
  readonly againstVersion: number;
  /** `backward`: the candidate reads that version's data; `forward`: that version reads the candidate's. */
  readonly direction: CompatibilityDirection;
  readonly path: string;
  readonly rule: CompatibilityRule;
  /** Names the subject, both versions, the field and the rule, and says what to do. */
  readonly message: string;
}

/** The result of {@link checkCompatibility}: `compatible` exactly when `issues` is empty. */
export interface CompatibilityReport {
  readonly compatible: boolean;
  readonly issues: readonly VersionedCompatibilityIssue[];
}

/** Options of {@link checkCompatibility}; they only change messages, never the verdict. */
export interface CheckCompatibilityOptions {
  /** The candidate's version in messages; the latest released version + 1 unless given. */
  readonly candidateVersion?: number;
}

/**
 * Checks a candidate schema for `subject` against its released versions under `level`, with
 * Confluent Schema Registry's semantics: BACKWARD = the candidate reads data written with the
 * latest version, FORWARD = the latest version reads data written with the candidate, FULL =
 * both, `*_TRANSITIVE` = against every released version, NONE = no check. A subject without
 * released versions is compatible. Throws INVALID_DEFINITION when a schema is not valid Avro.
 */
export function checkCompatibility(
  subject: string,
  candidate: AvroSchemaInput,
  released: readonly ReleasedVersion[],
  level: CompatibilityLevel,
  options: CheckCompatibilityOptions = {},
): CompatibilityReport {
  const versions = [...released].sort((a, b) => a.version - b.version);
  const latest = versions.at(-1);
  if (!latest) return { compatible: true, issues: [] };
  const { directions, transitive } = levelChecks(level);
  const candidateVersion = options.candidateVersion ?? latest.version + 1;
  const targets = transitive ? versions : [latest];
  const issues: VersionedCompatibilityIssue[] = [];
  for (const target of targets) {
    for (const direction of directions) {
      const found =
        direction === 'backward'
          ? readerCanRead(candidate, target.schema)
          : readerCanRead(target.schema, candidate);
      for (const issue of found) {
        const context: MessageContext = {
          subject,
          level,
          direction,
          released: `v${target.version}`,
          candidate: `v${candidateVersion}`,
        };
        const rule =
          direction === 'forward' && issue.rule === CompatibilityRule.FieldAddedWithoutDefault
            ? CompatibilityRule.FieldRemovedWithoutDefault
            : issue.rule;
        issues.push({
          subject,
          againstVersion: target.version,
          direction,
          path: issue.path,
          rule,
          message: describeBreak(issue, rule, context),
        });
      }
    }
  }
  return { compatible: issues.length === 0, issues };
}

interface MessageContext {
  readonly subject: string;
  readonly level: CompatibilityLevel;
  readonly direction: CompatibilityDirection;
  /** `v1`: the released version. */
  readonly released: string;
  /** `v3`: the candidate. */
  readonly candidate: string;
}

const PROMOTIONS =
  'Avro reads a value only as its own type or a wider one: int → long → float → double, string ↔ bytes';

/** The sentence a developer reads in CI: what changed, who can no longer read what, what to do. */
function describeBreak(
  issue: CompatibilityIssue,
  rule: CompatibilityRule,
  context: MessageContext,
): string {
  const { released, candidate, direction } = context;
  const backward = direction === 'backward';
  const readerVersion = backward ? candidate : released;
  const writerVersion = backward ? released : candidate;
  const field = issue.path === '' ? 'the top-level type' : `field \`${issue.path}\``;
  const cannotRead = `code on ${readerVersion} cannot read ${writerVersion} events`;
  let text: string;
  switch (rule) {
    case CompatibilityRule.FieldAddedWithoutDefault:
      text =
        `${field} was added without a default: ${cannotRead}, which lack it. ` +
        `Give it a default (or make it optional: "type": ["null", ...], "default": null)`;
      break;
    case CompatibilityRule.FieldRemovedWithoutDefault:
      text =
        `${field} was removed, but ${released} declares it without a default: ${cannotRead}. ` +
        `Keep the field, or first release a version that gives it a default`;
      break;
    case CompatibilityRule.FieldAliasAmbiguous:
      text =
        `${field} of ${readerVersion} matches several ${writerVersion} fields (${issue.writer}) ` +
        `through its name and aliases: ${cannotRead}. Keep one alias per renamed field`;
      break;
    case CompatibilityRule.TypeMismatch:
      text =
        `${field} is ${issue.writer} in ${writerVersion} but ${issue.reader} in ${readerVersion}: ` +
        `${cannotRead}. ${PROMOTIONS}; to change a type, add a new field (with a default) instead`;
      break;
    case CompatibilityRule.EnumSymbolMissing: {
      const symbols = (issue.names ?? []).join(', ');
      text = backward
        ? `${field}: the enum dropped ${symbols}, which ${released} events may hold, and ` +
          `${candidate}'s enum has no default: ${cannotRead} holding them. ` +
          `Keep the symbols, or give the enum a "default" symbol`
        : `${field}: the enum gained ${symbols}, which ${released}'s enum lacks and it has no ` +
          `default: ${cannotRead} holding them. Add new symbols only to enums that had a ` +
          `"default" symbol in every released version`;
      break;
    }
    case CompatibilityRule.UnionBranchMissing:
      text =
        `${field} may hold ${issue.writer} in ${writerVersion} events, which ` +
        `${readerVersion}'s ${issue.reader} cannot read: ${cannotRead} holding it. ` +
        (backward ? 'Keep that union branch' : `Write there only types that ${released} can read`);
      break;
    case CompatibilityRule.NameMismatch: {
      const [writerName, readerName] = issue.names ?? [issue.writer, issue.reader];
      text =
        `${field} is named ${writerName} in ${writerVersion} but ${readerName} in ` +
        `${readerVersion}: ${cannotRead}. ` +
        (backward
          ? `Keep the name, or add "aliases": ["${writerName}"] to ${readerName}`
          : `Renaming a type breaks readers on ${released}; keep the name`);
      break;
    }
    case CompatibilityRule.FixedSizeMismatch:
      text =
        `${field} is ${issue.writer} in ${writerVersion} but ${issue.reader} in ` +
        `${readerVersion}: ${cannotRead}. A fixed type's size cannot change`;
      break;
  }
  return `${context.subject}: ${text} [${rule}, ${context.level}]`;
}
