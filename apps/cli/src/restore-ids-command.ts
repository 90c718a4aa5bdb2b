import Table from 'cli-table3';
import { restoreKeptIds } from '@esflow/schemas';
import { loadEsflowConfig } from './esflow-config';
import { closeAll, connect } from './projections-command';
import { Output } from './schemas-command';

/** The options of `esflow schemas restore-ids`. */
export interface RestoreIdsCommandOptions {
  readonly config?: string;
}

/** The record's full name in a schema text, for the report. */
function recordName(text: string): string {
  try {
    const { name, namespace } = JSON.parse(text) as { name?: string; namespace?: string };
    return name && namespace && !name.includes('.') ? `${namespace}.${name}` : (name ?? '?');
  } catch {
    return 'not an Avro schema';
  }
}

/**
 * `esflow schemas restore-ids`: puts every writer schema esflow keeps in the event store back into
 * the registry under its own id (the repair of a wiped registry), then reports each id: already
 * there, restored, still missing, or holding another schema (left alone). Exit code 0 when the
 * registry answers every kept id with the kept schema, 1 otherwise.
 */
export async function schemasRestoreIds(
  options: RestoreIdsCommandOptions,
  io: Output,
): Promise<number> {
  const config = await loadEsflowConfig(options.config);
  const adapters = await connect(config);
  try {
    const report = await restoreKeptIds(adapters.store, adapters.registry);
    if (report.kept.length === 0) {
      io.out('esflow keeps no schema ids in this event store yet: nothing to restore\n');
      return 0;
    }
    const restored = new Set(report.restored);
    const missing = new Set(report.missing.map((schema) => schema.id));
    const other = new Map(report.mismatched.map((m) => [m.kept.id, recordName(m.found)]));
    const table = new Table({
      head: ['id', 'subject', 'version', 'in the registry'],
      style: { head: [], border: [], compact: true },
    });
    for (const schema of report.kept)
      table.push([
        schema.id,
        schema.subject,
        `v${schema.version}`,
        restored.has(schema.id)
          ? 'restored'
          : missing.has(schema.id)
            ? 'STILL MISSING'
            : other.has(schema.id)
              ? `HOLDS ANOTHER SCHEMA (${other.get(schema.id)})`
              : 'already there',
      ]);
    io.out(`${table.toString()}\n`);
    const where = adapters.registry.description ?? 'the schema registry';
    if (missing.size > 0 || other.size > 0) {
      io.err(
        `${where} still does not answer ${missing.size + other.size} of the ${report.kept.length} kept ids with their schemas: empty it (stop every other client first) and run this again\n`,
      );
      return 1;
    }
    io.out(
      `${where} answers all ${report.kept.length} kept ids with their schemas (${report.restored.length} restored)\n`,
    );
    return 0;
  } finally {
    await closeAll(adapters);
  }
}
