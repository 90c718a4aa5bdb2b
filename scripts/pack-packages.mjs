/**
 * `npm run pack:packages`: packs every public package of the workspace (`npm pack`) into
 * dist/packages/, ready to `npm install` into a service outside this repository. Build first
 * (the npm script does). Prints the tarballs, one per line.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const destination = join(root, 'dist', 'packages');
rmSync(destination, { recursive: true, force: true });
mkdirSync(destination, { recursive: true });

const workspaces = ['libs', 'apps', 'examples'].flatMap((group) =>
  readdirSync(join(root, group)).map((dir) => join(group, dir)),
);
const published = workspaces.filter(
  (dir) => !JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).private,
);
const packed = JSON.parse(
  execFileSync(
    'npm',
    [
      'pack',
      '--json',
      '--pack-destination',
      destination,
      ...published.flatMap((dir) => ['--workspace', dir]),
    ],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  ),
);
for (const { filename } of packed) process.stdout.write(`${join(destination, filename)}\n`);
