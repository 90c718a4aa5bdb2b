import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The first bash block of the README after `heading`, exactly as written there: what a test
 * runs so that the README's commands are the ones tested. Throws when the heading is gone.
 */
export function readmeBashBlock(heading: string): string {
  const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`the README has no "${heading}" any more`);
  const section = readme.slice(at);
  const start = section.indexOf('```bash') + '```bash'.length;
  return section.slice(start, section.indexOf('```', start));
}
