#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { ExportCommandOptions, exportStreams } from './export-command';
import { migrate, MigrateCommandOptions } from './migrate-command';
import {
  projectionsList,
  projectionsRebuild,
  ProjectionsCommandOptions,
} from './projections-command';
import { ReplayTestCommandOptions, replayTest } from './replay-test-command';
import { RestoreIdsCommandOptions, schemasRestoreIds } from './restore-ids-command';
import { Output, schemasCheck, SchemasCommandOptions, schemasRegister } from './schemas-command';
import { versionsCheck, VersionsCommandOptions } from './versions-command';

const io: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * The `esflow` command line: `esflow schemas check|register|restore-ids`, `esflow versions check`,
 * `esflow projections list|rebuild`, `esflow export`, `esflow replay-test`, `esflow migrate`.
 */
export function createProgram(): Command {
  const program = new Command()
    .name('esflow')
    .description(
      'esflow command line: the schema-evolution gate, the deploy gate and the replay test for CI, projection operations, export, migration',
    );
  const schemas = program
    .command('schemas')
    .description('check and release the Avro schemas of your workflows');
  const withGateOptions = (command: Command) =>
    command
      .option('--config <file>', 'the esflow config (default: esflow.config.{ts,js,cjs,mjs} here)')
      .option(
        '--schemas <dir...>',
        "schema directories to read instead of the features' own (the framework's are always read)",
      )
      .option(
        '--lock <file>',
        "lock file of released versions (default: the config's lockFile, else schemas/schemas.lock.json)",
      )
      .option(
        '--registry <url>',
        'take released versions and levels from this Confluent-compatible registry instead of the lock file',
      );
  withGateOptions(
    schemas
      .command('check')
      .description(
        'fail if a schema is invalid or undocumented, breaks its compatibility level against a released version, or does not match the workflows',
      ),
  ).action(async (options: SchemasCommandOptions) => {
    process.exitCode = await schemasCheck(options, io);
  });
  withGateOptions(
    schemas
      .command('register')
      .description(
        'run the check, then release every new or changed schema as its next version (lock file or registry)',
      ),
  ).action(async (options: SchemasCommandOptions) => {
    process.exitCode = await schemasRegister(options, io);
  });
  schemas
    .command('restore-ids')
    .description(
      "put every schema id esflow's stored events use back into the registry under its own number (after the registry was wiped; Apicurio Registry): the config's connect, else the api's environment (SCHEMA_REGISTRY_URL, ESFLOW_DATA_DIR or ESDB_CONNECTION_STRING)",
    )
    .option('--config <file>', 'the esflow config (default: esflow.config.{ts,js,cjs,mjs} here)')
    .action(async (options: RestoreIdsCommandOptions) => {
      process.exitCode = await schemasRestoreIds(options, io);
    });
  program
    .command('versions')
    .description('check that the definitions you deploy can still serve the instances running now')
    .command('check')
    .description(
      "fail (exit code 1) if the config's definitions remove a version, or a state, that running instances wait in, or stop accepting an event they may still receive, unless a declared migration covers them; reads the configured store (the config's connect, else the api's environment) or an export",
    )
    .option(
      '--from-export <file>',
      'read the instances from an `esflow export` file instead of the store',
    )
    .option(
      '--migrations <file>',
      'declared migrations, JSON: [{ "workflow", "fromVersion", "toVersion", "stateMapping": { "<state>": "<state>" } }]',
    )
    .option('--config <file>', 'the esflow config (default: esflow.config.{ts,js,cjs,mjs} here)')
    .action(async (options: VersionsCommandOptions) => {
      process.exitCode = await versionsCheck(options, io);
    });
  const projections = program
    .command('projections')
    .description(
      "inspect and rebuild read models (the config's connect, else the api's environment: ESFLOW_DATA_DIR, ESFLOW_READMODEL_URL, ...)",
    );
  projections
    .command('list')
    .description('status, position and lag of every projection')
    .option('--config <file>', 'the esflow config (default: esflow.config.{ts,js,cjs,mjs} here)')
    .action(async (options: ProjectionsCommandOptions) => {
      process.exitCode = await projectionsList(options, io);
    });
  projections
    .command('rebuild <name>')
    .description(
      'replay every event into a shadow copy and swap it in; shows progress, events/s and ETA',
    )
    .option('--no-wait', 'only request the rebuild; a running projector carries it out')
    .option('--config <file>', 'the esflow config (default: esflow.config.{ts,js,cjs,mjs} here)')
    .action(async (name: string, options: ProjectionsCommandOptions & { wait: boolean }) => {
      process.exitCode = await projectionsRebuild(name, options, io);
    });
  program
    .command('export')
    .description(
      "write the workflow instances' streams as NDJSON, one line per event with its metadata and its payload decoded to JSON, then the instance snapshots kept (the config's connect, else the api's environment)",
    )
    .option(
      '--workflow <name>',
      'only this workflow (default: every workflow the config registers)',
    )
    .option('--out <file>', 'the file to write (default: standard output)')
    .option('--config <file>', 'the esflow config (default: esflow.config.{ts,js,cjs,mjs} here)')
    .action(async (options: ExportCommandOptions) => {
      process.exitCode = await exportStreams(options, io);
    });
  program
    .command('replay-test')
    .description(
      "fold every recorded instance through the config's definitions and compare its state after every event (and its context where recorded) with the record: exit code 1 when one diverged, failed or is not deterministic",
    )
    .option('--from-export <file>', 'replay an `esflow export` file instead of the store')
    .option(
      '--workflow <name>',
      'only this workflow (default: every workflow the config registers)',
    )
    .option(
      '--definition-version <n>',
      'fold every instance through this version (default: the version each is pinned to)',
      (value: string) => {
        const version = Number(value);
        if (!Number.isInteger(version) || version < 1)
          throw new InvalidArgumentError('a positive whole number, e.g. 2');
        return version;
      },
    )
    .option('--config <file>', 'the esflow config (default: esflow.config.{ts,js,cjs,mjs} here)')
    .action(async (options: ReplayTestCommandOptions) => {
      process.exitCode = await replayTest(options, io);
    });
  const version = (value: string) => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || !Number.isInteger(number) || number < 1)
      throw new InvalidArgumentError('a positive whole number, e.g. 2');
    return number;
  };
  program
    .command('migrate')
    .description(
      "move running instances to another definition version, one recorded step each (InstanceMigrated), over the configured store (the config's connect, else the api's environment): one instance (--id), or every running one on --from-version that --state and --id-prefix take, read from the store; prints a line per instance and a summary; exit code 1 when one was refused or failed",
    )
    .requiredOption('--workflow <name>', 'the workflow')
    .requiredOption('--to-version <n>', 'the definition version to move them to', version)
    .option('--id <id>', 'one instance')
    .option('--from-version <n>', 'every running instance on this version', version)
    .option(
      '--state <state>',
      'with --from-version: only those in this state or one below it (a dotted path, or a state value as JSON)',
    )
    .option('--id-prefix <prefix>', 'with --from-version: only those whose id starts with it')
    .option(
      '--map <from=to...>',
      'where a state goes (dotted paths; the target may be a state value as JSON); a state not mapped keeps its path',
    )
    .option(
      '--context-patch <json>',
      "a JSON merge patch (RFC 7396) of the context, after the target's migrations.contextFrom",
    )
    .option(
      '--unmappable <policy>',
      'refuse (default): a timer, invoked command or buffered message that cannot follow refuses the migration; cancel: cancel it in the same append',
    )
    .option('--dry-run', 'plan and check each instance; write nothing')
    .option('--reason <text>', 'why, recorded in InstanceMigrated')
    .option('--config <file>', 'the esflow config (default: esflow.config.{ts,js,cjs,mjs} here)')
    .action(async (options: MigrateCommandOptions) => {
      process.exitCode = await migrate(options, io);
    });
  return program;
}

createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    // Bad input (unreadable lock file, unreachable registry) is not a crash: say what, no stack.
    process.stderr.write(`esflow: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
