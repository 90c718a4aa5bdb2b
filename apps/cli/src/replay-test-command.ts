import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import {
  ErrorCode,
  EsflowError,
  readEsflowMetadata,
  RecordedContext,
  replayInstance,
  ReplayEvent,
  ReplayOutcome,
  ReplayReport,
  WorkflowCatalog,
} from '@esflow/core';
import { loadEsflowConfig } from './esflow-config';
import {
  catalogOf,
  closeConnection,
  EXPORT_FORMAT,
  ExportEventLine,
  ExportLine,
  ExportSnapshotLine,
  selectedWorkflows,
  storedLines,
} from './export-command';
import { connect } from './projections-command';
import { Output } from './schemas-command';

/** The options of `esflow replay-test`. */
export interface ReplayTestCommandOptions {
  readonly config?: string;
  /** An `esflow export` file to replay instead of the configured store. */
  readonly fromExport?: string;
  /** Only this workflow's instances. */
  readonly workflow?: string;
  /** Fold every instance through this version (default: the version each is pinned to). */
  readonly definitionVersion?: number;
}

/** One instance's events and recorded contexts, as read from an export or the store. */
interface InstanceRecord {
  readonly events: ExportEventLine[];
  readonly snapshots: ExportSnapshotLine[];
}

function invalidExport(file: string, line: number, why: string): EsflowError {
  return new EsflowError(ErrorCode.InvalidConfiguration, `${file} line ${line}: ${why}`);
}

/** The lines of an export file, checked line by line (a truncated or foreign file says where). */
export async function* exportFileLines(file: string): AsyncGenerator<ExportLine> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let number = 0;
  for await (const text of lines) {
    number++;
    if (text.trim() === '') continue;
    let line: ExportLine;
    try {
      line = JSON.parse(text) as ExportLine;
    } catch {
      throw invalidExport(file, number, 'not JSON (an esflow export is one JSON object a line)');
    }
    if (number === 1) {
      if (line.kind !== 'export')
        throw invalidExport(file, 1, 'not an esflow export (no export header line)');
      if (line.format !== EXPORT_FORMAT)
        throw invalidExport(
          file,
          1,
          `export format ${line.format}; this esflow reads format ${EXPORT_FORMAT}`,
        );
    } else if (line.kind !== 'event' && line.kind !== 'snapshot')
      throw invalidExport(file, number, `unknown line kind ${JSON.stringify(line.kind)}`);
    yield line;
  }
  if (number === 0) throw invalidExport(file, 0, 'the file is empty');
}

async function collect(
  lines: AsyncIterable<ExportLine>,
  workflows: readonly string[],
): Promise<Map<string, InstanceRecord>> {
  const instances = new Map<string, InstanceRecord>();
  const of = (stream: string) => {
    let record = instances.get(stream);
    if (!record) {
      record = { events: [], snapshots: [] };
      instances.set(stream, record);
    }
    return record;
  };
  for await (const line of lines) {
    if (line.kind === 'event') {
      if (workflows.includes(readEsflowMetadata(line.metadata).workflow))
        of(line.stream).events.push(line);
    } else if (line.kind === 'snapshot') of(line.stream).snapshots.push(line);
  }
  for (const [stream, record] of instances) {
    if (record.events.length === 0) instances.delete(stream);
    else record.events.sort((a, b) => a.revision - b.revision);
  }
  return instances;
}

function replayOne(
  catalog: WorkflowCatalog,
  record: InstanceRecord,
  definitionVersion: number | undefined,
): ReplayReport {
  const events: ReplayEvent[] = record.events.map((line) => ({
    streamName: line.stream,
    revision: line.revision,
    type: line.type,
    eventId: line.eventId,
    metadata: line.metadata,
    payload: line.payload,
  }));
  const start = readEsflowMetadata(events[0]!.metadata);
  const version = definitionVersion ?? start.definitionVersion;
  const definition = catalog.version(start.workflow, version);
  if (!definition)
    return {
      instanceId: start.instanceId,
      streamName: events[0]!.streamName,
      workflow: start.workflow,
      version,
      pinnedVersion: start.definitionVersion,
      outcome: ReplayOutcome.Failed,
      events: events.length,
      contextsCompared: 0,
      failure: {
        eventIndex: 0,
        revision: events[0]!.revision,
        eventType: events[0]!.type,
        message: `the config defines no ${start.workflow} v${version} (it defines ${catalog
          .all()
          .filter((d) => d.name === start.workflow)
          .map((d) => `v${d.version}`)
          .join(', ')})`,
      },
    };
  // A snapshot counts only where it was taken after the event the stream has at its revision.
  const byRevision = new Map(events.map((event) => [event.revision, event.eventId]));
  const recordedContexts: RecordedContext[] = record.snapshots
    .filter((snapshot) => byRevision.get(snapshot.revision) === snapshot.lastEventId)
    .map((snapshot) => ({
      revision: snapshot.revision,
      context: snapshot.context,
      source: 'snapshot',
    }));
  return replayInstance(definition, events, {
    recordedContexts,
    // A migrated stream folds through the versions it was migrated to, as the engine does.
    versionOf: (version) => catalog.version(start.workflow, version),
  });
}

/** The line printed for an instance that is not the same. */
function describeReport(report: ReplayReport): string {
  const through =
    report.version === report.pinnedVersion
      ? `v${report.version}`
      : `pinned to v${report.pinnedVersion}, through v${report.version}`;
  const head = `✗ ${report.streamName} (${report.workflow} ${through}): ${report.outcome}`;
  if (report.failure)
    return `${head} at ${report.failure.eventType} (revision ${report.failure.revision}): ${report.failure.message}`;
  const d = report.divergence!;
  return `${head} at ${d.eventType} (revision ${d.revision}, event ${d.eventIndex + 1} of ${report.events}): ${d.detail}`;
}

/**
 * `esflow replay-test [--from-export file] [--workflow w] [--definition-version n]`: folds every
 * recorded instance (from the configured store, or from an `esflow export` file) through the
 * definitions the config registers, each through the version it is pinned to unless
 * `--definition-version` names one, and compares the result after every event with what was
 * recorded (see `replayInstance` of @esflow/core). Prints a line per instance that diverged,
 * failed or is not deterministic, then a summary. Exit code 0 when every instance is the same,
 * 1 otherwise.
 */
export async function replayTest(options: ReplayTestCommandOptions, io: Output): Promise<number> {
  const config = await loadEsflowConfig(options.config);
  const catalog = catalogOf(config);
  const workflows = selectedWorkflows(catalog, options.workflow);
  const version = options.definitionVersion;
  if (version !== undefined && !(Number.isInteger(version) && version >= 1))
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `--definition-version must be a positive whole number, got ${String(version)}`,
    );
  let instances: Map<string, InstanceRecord>;
  let source: string;
  if (options.fromExport) {
    instances = await collect(exportFileLines(options.fromExport), workflows);
    source = options.fromExport;
  } else {
    const adapters = await connect(config);
    try {
      instances = await collect(storedLines(config, adapters, workflows), workflows);
    } finally {
      await closeConnection(adapters);
    }
    source = 'the configured store';
  }
  const counts: Record<ReplayOutcome, number> = {
    same: 0,
    diverged: 0,
    failed: 0,
    nondeterministic: 0,
  };
  let contexts = 0;
  for (const record of instances.values()) {
    const report = replayOne(catalog, record, version);
    counts[report.outcome]++;
    contexts += report.contextsCompared;
    if (report.outcome !== ReplayOutcome.Same) io.out(`${describeReport(report)}\n`);
  }
  const total = instances.size;
  const through =
    version === undefined ? 'each through the version it is pinned to' : `through v${version}`;
  io.out(
    `replay-test: ${total} instance${total === 1 ? '' : 's'} from ${source} (${workflows.join(', ')}), ${through}, definitions of ${basename(config.file)}: ${counts.same} same, ${counts.diverged} diverged, ${counts.failed} failed, ${counts.nondeterministic} nondeterministic (states compared after every event, ${contexts} recorded contexts compared)\n`,
  );
  return counts.same === total ? 0 : 1;
}
