/**
 * `npm start`: runs the api and the projector side by side on the embedded default (SQLite
 * under ./data, embedded registry). Stops both when either exits or on Ctrl-C/SIGTERM.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const apps = ['api', 'projector'];
/** @type {import('node:child_process').ChildProcess[]} */
const children = [];
let stopping = false;

/** @param {number} code */
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 5_000).unref();
  Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode !== null ? resolve(null) : child.once('exit', resolve),
        ),
    ),
  ).then(() => process.exit(code));
}

for (const app of apps) {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '..', 'apps', app, 'dist', 'main.js')],
    {
      stdio: 'inherit',
      env: process.env,
    },
  );
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`esflow ${app} exited (${signal ?? code}); stopping\n`);
    stopAll(code ?? 1);
  });
  children.push(child);
}

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
