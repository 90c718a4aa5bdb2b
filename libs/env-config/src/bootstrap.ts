import { loadEsflowEnvironment } from './esflow-environment';

/**
 * Starts an esflow process. A bad environment or an unreachable store is an operator's
 * mistake: it is reported in one line naming what to fix (no stack trace), with exit code 1.
 * Apps create Nest with `abortOnError: false` so start-up errors reach this handler.
 */
export async function runEsflowProcess(name: string, start: () => Promise<void>): Promise<void> {
  try {
    loadEsflowEnvironment();
    await start();
  } catch (error) {
    process.stderr.write(`esflow ${name}: cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
