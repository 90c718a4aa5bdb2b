import { resolve } from 'node:path';
import Table from 'cli-table3';
import { composeFeatures } from '@esflow/core';
import {
  CompatibilityLevel,
  GateFailure,
  runSchemaCheck,
  runSchemaRegister,
  SchemaGateOptions,
  SchemaGateRun,
  SubjectReport,
  SubjectStatus,
} from '@esflow/schemas';
import { loadEsflowConfig } from './esflow-config';

/** The options of `esflow schemas check|register`, as commander parses them. */
export interface SchemasCommandOptions {
  /** The config file (default: esflow.config.* in the working directory). */
  readonly config?: string;
  /** Schema directories to read instead of the features' own. */
  readonly schemas?: readonly string[];
  readonly lock?: string;
  readonly registry?: string;
}

/** Where a command writes (standard output and error, or a test's buffers). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

async function gateOptions(options: SchemasCommandOptions): Promise<SchemaGateOptions> {
  const config = await loadEsflowConfig(options.config);
  const features = composeFeatures(
    config.features.map((feature, index) => ({
      feature,
      registeredBy: `${config.file} features[${index}]`,
    })),
  );
  return {
    schemaDirectories: options.schemas?.length
      ? options.schemas.map((dir) => resolve(dir))
      : features.schemaDirectories,
    lockFile: options.lock ? resolve(options.lock) : config.lockFile,
    ...(options.registry ? { registryUrl: options.registry } : {}),
    workflows: features.workflows,
  };
}

/** `esflow schemas check`: exit code 0 when the gate passes, 1 otherwise. */
export async function schemasCheck(options: SchemasCommandOptions, io: Output): Promise<number> {
  const run = await runSchemaCheck(await gateOptions(options));
  io.out(summaryTable(run.report.subjects));
  if (!report(run, io, 'check')) return 1;
  io.out(`schemas check passed: ${run.report.subjects.length} subjects against ${run.source}\n`);
  return 0;
}

/** `esflow schemas register`: checks, then releases new and changed schemas. */
export async function schemasRegister(options: SchemasCommandOptions, io: Output): Promise<number> {
  const run = await runSchemaRegister(await gateOptions(options));
  if (!report(run, io, 'register')) {
    io.out(summaryTable(run.report.subjects));
    io.err('nothing was registered\n');
    return 1;
  }
  if (run.registered.length === 0) {
    for (const file of run.fixturesWritten ?? []) io.out(`wrote golden fixture ${file}\n`);
    io.out(`nothing to register: every subject equals its latest version in ${run.source}\n`);
    return 0;
  }
  const table = plainTable(['subject', 'registered version', 'level']);
  for (const item of run.registered) table.push([item.subject, `v${item.version}`, item.level]);
  io.out(`${table.toString()}\n`);
  io.out(`registered ${run.registered.length} schema versions in ${run.source}\n`);
  for (const file of run.fixturesWritten ?? []) io.out(`wrote golden fixture ${file}\n`);
  return 0;
}

/** Prints the failures, if any; true when there are none. */
function report(run: SchemaGateRun, io: Output, command: string): boolean {
  const { failures } = run.report;
  if (failures.length === 0) return true;
  io.err(
    `\nschemas ${command} failed: ${failures.length} problem${failures.length === 1 ? '' : 's'} (released versions from ${run.source})\n\n`,
  );
  for (const failure of failures) io.err(`  ✗ ${describe(failure)}\n`);
  io.err('\n');
  return false;
}

function describe(failure: GateFailure): string {
  return failure.message.includes(failure.rule)
    ? failure.message
    : `${failure.message} [${failure.rule}]`;
}

function plainTable(head: string[]): Table.Table {
  // No colours: CI logs and pipes get plain text.
  return new Table({ head, style: { head: [], border: [], compact: true } });
}

function summaryTable(subjects: readonly SubjectReport[]): string {
  const table = plainTable(['subject', 'versions released', 'level', 'status']);
  for (const subject of subjects) {
    table.push([
      subject.subject,
      versionsText(subject.released),
      subject.level,
      statusText(subject),
    ]);
  }
  return `${table.toString()}\n`;
}

function versionsText(versions: readonly number[]): string {
  if (versions.length === 0) return '-';
  if (versions.length === 1) return `v${versions[0]}`;
  return `v${versions[0]}..v${versions.at(-1)} (${versions.length})`;
}

function statusText(subject: SubjectReport): string {
  const next = `v${(subject.released.at(-1) ?? 0) + 1}`;
  const unchecked = subject.level === CompatibilityLevel.None ? ' (level NONE: not checked)' : '';
  switch (subject.status) {
    case SubjectStatus.New:
      return `new: registers as ${next}`;
    case SubjectStatus.Changed:
      return `changed, compatible: registers as ${next}${unchecked}`;
    case SubjectStatus.Unchanged:
      return 'unchanged';
    case SubjectStatus.Incompatible:
      return 'INCOMPATIBLE';
    case SubjectStatus.Removed:
      return 'REMOVED';
  }
}
