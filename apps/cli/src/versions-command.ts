import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import Table from 'cli-table3';
import {
  checkVersionsInUse,
  DeclaredMigration,
  ErrorCode,
  EsflowError,
  EventCategory,
  FRAMEWORK_NAMESPACE,
  parseDeclaredMigrations,
  RecordedEvent,
  VersionsGateReport,
  WaitingInstancesCollector,
} from '@esflow/core';
import { ResolvedEsflowOptions } from '@esflow/nest';
import { AvroPayloadCodec, SchemaCatalog, withFrameworkSchemas } from '@esflow/schemas';
import { loadEsflowConfig } from './esflow-config';
import { catalogOf, closeConnection, readOnly } from './export-command';
import { connect } from './projections-command';
import { exportFileLines } from './replay-test-command';
import { Output } from './schemas-command';

/** The options of `esflow versions check`. */
export interface VersionsCommandOptions {
  readonly config?: string;
  /** An `esflow export` file to read the instances from instead of the configured store. */
  readonly fromExport?: string;
  /** A JSON file of declared migrations (see {@link DeclaredMigration}). */
  readonly migrations?: string;
}

const PAGE = 1_000;

async function declaredMigrations(file: string): Promise<DeclaredMigration[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `${file}: cannot be read (${(error as Error).message})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EsflowError(ErrorCode.InvalidConfiguration, `${file}: not JSON`);
  }
  return parseDeclaredMigrations(parsed, file);
}

/** Folds an export file's events into `collector`. */
async function collectExport(file: string, collector: WaitingInstancesCollector): Promise<void> {
  for await (const line of exportFileLines(file))
    if (line.kind === 'event')
      collector.add({
        streamName: line.stream,
        revision: line.revision,
        type: line.type,
        eventId: line.eventId,
        metadata: line.metadata,
        payload: line.payload,
      });
}

/**
 * Folds every event of the store into `collector`, in its global order, every workflow's (also
 * those the config no longer registers). Only the framework facts' payloads are decoded (by the
 * framework's schemas, which every store esflow wrote holds): the workflows' own events are read
 * by their metadata alone, so the config's new or changed schemas need not be kept yet.
 */
async function collectStore(
  adapters: ResolvedEsflowOptions,
  collector: WaitingInstancesCollector,
): Promise<void> {
  const codec = await AvroPayloadCodec.create({
    catalog: SchemaCatalog.load(withFrameworkSchemas([])),
    registry: adapters.registry,
    store: readOnly(
      adapters.store,
      'this store does not keep every framework schema of this esflow version (it was written by an older one); esflow versions check only reads: start the application once with this version, or check an export (--from-export)',
    ),
  });
  let after: RecordedEvent['position'] | undefined;
  for (;;) {
    const page = await adapters.store.readAll({ maxCount: PAGE, ...(after ? { after } : {}) });
    for (const event of page) {
      const framework = event.metadata['category'] === EventCategory.Framework;
      collector.add({
        streamName: event.streamName,
        revision: event.revision,
        type: event.type,
        eventId: event.eventId,
        metadata: event.metadata,
        ...(framework
          ? { payload: await codec.decode(`${FRAMEWORK_NAMESPACE}.${event.type}`, event.data) }
          : {}),
      });
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.position;
  }
}

function groupsTable(report: VersionsGateReport): string {
  // No colours: CI logs and pipes get plain text.
  const table = new Table({
    head: ['workflow', 'version', 'state', 'waiting', 'checked against', 'result'],
    style: { head: [], border: [], compact: true },
  });
  for (const group of report.groups)
    table.push([
      group.workflow,
      `v${group.version}`,
      group.state,
      String(group.instances),
      group.checkedAgainst,
      group.verdict === 'fails'
        ? `FAILS (${group.failures})`
        : group.verdict === 'migrated'
          ? 'ok: migration declared'
          : 'ok',
    ]);
  return `${table.toString()}\n`;
}

/**
 * `esflow versions check [--from-export file] [--migrations file]`: the deploy gate. Reads the
 * running instances — from the configured store (the config's `connect`, else the api's
 * environment), or from an `esflow export` file — and checks them against the definitions the
 * config registers now (`checkVersionsInUse` of @esflow/core). The record gives, per instance,
 * the version it runs on and the state it waits in (its latest event's `definitionVersion` and
 * `stateAfter`, status `running`), and what it may still receive: the event types instances of
 * that version took in that state before (clients' events, messages, command replies, fired
 * timers, invoked commands' outcomes), its pending timers' events and its invoked commands' done
 * events. For each workflow W, version v and state S with running instances:
 *
 * 1. A declared migration from W v whose `stateMapping` maps S covers them when its `toVersion`
 *    is registered and has the mapped state; otherwise `MIGRATION_TARGET_MISSING`.
 * 2. Else they are compared with W v as registered now; if v is gone, with W's latest version
 *    (what a migration would target), and they fail `VERSION_REMOVED`; if no version of W is
 *    registered, `WORKFLOW_REMOVED`.
 * 3. `STATE_REMOVED` when that definition lacks S (S or any state on its path); else
 *    `EVENT_NO_LONGER_ACCEPTED` for each event type they may still receive that S (or an
 *    ancestor) has no transition for (guards are not evaluated).
 *
 * Prints a table of the waiting instances by workflow, version and state, then each failure with
 * its rule and the number of instances affected. Exit code 0 when nothing fails, 1 otherwise.
 */
export async function versionsCheck(options: VersionsCommandOptions, io: Output): Promise<number> {
  const config = await loadEsflowConfig(options.config);
  const catalog = catalogOf(config);
  const migrations = options.migrations ? await declaredMigrations(options.migrations) : [];
  const collector = new WaitingInstancesCollector();
  let source: string;
  if (options.fromExport) {
    await collectExport(options.fromExport, collector);
    source = options.fromExport;
  } else {
    const adapters = await connect(config);
    try {
      await collectStore(adapters, collector);
    } finally {
      await closeConnection(adapters);
    }
    source = 'the configured store';
  }
  const groups = collector.waitingGroups();
  const report = checkVersionsInUse(catalog, groups, migrations);
  const waiting = groups.reduce((sum, group) => sum + group.instances, 0);
  const against = `the definitions of ${basename(config.file)}${
    migrations.length > 0
      ? ` with ${migrations.length} declared migration${migrations.length === 1 ? '' : 's'}`
      : ''
  }`;
  if (report.groups.length > 0) io.out(groupsTable(report));
  const { failures } = report;
  if (failures.length > 0) {
    io.err(
      `\nversions check failed: ${failures.length} problem${failures.length === 1 ? '' : 's'} (${waiting} running instance${waiting === 1 ? '' : 's'} from ${source}, against ${against})\n\n`,
    );
    for (const failure of failures) io.err(`  ✗ ${failure.message} [${failure.rule}]\n`);
    io.err('\n');
    return 1;
  }
  io.out(
    `versions check passed: ${waiting} running instance${waiting === 1 ? '' : 's'} of ${collector.instanceCount} recorded, from ${source}, against ${against}\n`,
  );
  return 0;
}
