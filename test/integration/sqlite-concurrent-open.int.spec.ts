import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';

// `npm start` starts the api and the projector at once on a new data directory: both create the
// same tables in the same SQLite files (the event store and the registry in esflow.sqlite; the
// read model, the timer index and the command queue in readmodel.sqlite). Two processes do that
// here, many times over, each pair on fresh files: neither may fail to start.

const OPEN_EVERYTHING = `
const { join } = require('node:path');
const sqlite = require('@esflow/sqlite');
(async () => {
  const dir = process.argv[1];
  const store = sqlite.createSqliteEventStore({ filename: join(dir, 'esflow.sqlite') });
  const registry = sqlite.createEmbeddedSchemaRegistry({ filename: join(dir, 'esflow.sqlite') });
  const readModel = sqlite.createSqliteReadModelStore({ filename: join(dir, 'readmodel.sqlite') });
  await readModel.migrate();
  const timers = sqlite.createSqliteTimerIndex({ filename: join(dir, 'readmodel.sqlite') });
  const commands = sqlite.createSqliteCommandQueue({ filename: join(dir, 'readmodel.sqlite') });
  for (const adapter of [commands, timers, readModel, registry, store]) await adapter.close();
})().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(String(error && error.message));
    process.exit(1);
  },
);
`;

const ROUNDS = 20;

function openAll(dir: string): Promise<{ ok: boolean; message?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', OPEN_EVERYTHING, dir], {
      cwd: join(__dirname, '../..'),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      resolve(code === 0 ? { ok: true } : { ok: false, message: stderr }),
    );
  });
}

describe('two processes starting at once on new SQLite files', () => {
  const root = mkdtempSync(join(tmpdir(), 'esflow-concurrent-open-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it(`both open every adapter, ${ROUNDS} times over`, async () => {
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const dir = join(root, `round-${round}`);
      const answers = await Promise.all([openAll(dir), openAll(dir)]);
      for (const answer of answers)
        if (!answer.ok) failures.push(`round ${round}: ${answer.message}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
