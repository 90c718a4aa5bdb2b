#!/usr/bin/env node
import { Command } from 'commander';
import { Output, schemasCheck, SchemasCommandOptions, schemasRegister } from './schemas-command';

const io: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** The `esflow` command line: `esflow schemas check|register`. */
export function createProgram(): Command {
  const program = new Command()
    .name('esflow')
    .description('esflow command line: the schema-evolution gate for CI');
  const schemas = program
    .command('schemas')
    .description('check and release the Avro schemas of your workflows');
  const withGateOptions = (command: Command) =>
    command
      .option(
        '--schemas <dir>',
        'directory of .avsc files',
        process.env['ESFLOW_SCHEMA_DIR'] ?? 'schemas/avro',
      )
      .option(
        '--lock <file>',
        'lock file of released versions (default: <schemas>/schemas.lock.json)',
      )
      .option(
        '--registry <url>',
        'take released versions and levels from this Confluent-compatible registry instead of the lock file',
      )
      .option(
        '--workflows <module>',
        'a built JS module exporting `workflows` (default: the built-in workflows)',
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
  return program;
}

createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    // Bad input (unreadable lock file, unreachable registry) is not a crash: say what, no stack.
    process.stderr.write(`esflow: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
