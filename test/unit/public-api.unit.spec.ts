import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The public API is a promise: every symbol a public package exports, from its main entry point
 * and from each subpath of its package.json `exports`, carries a TSDoc comment on its
 * declaration, and every entry file opens with a `@packageDocumentation` comment. The entry
 * points are derived from the workspaces' package.json files, so a new package or subpath is
 * checked without touching this test.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface EntryPoint {
  /** The import specifier users write, e.g. `@esflow/core/node`. */
  readonly specifier: string;
  /** Absolute path of the source file behind it (`./dist/x.js` → `./src/x.ts`). */
  readonly file: string;
}

interface Manifest {
  name: string;
  private?: boolean;
  workspaces?: string[];
  exports?: Record<string, string | { types?: string; default?: string }>;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** The package directories of the root's `workspaces` globs (`group/*` only, as used here). */
function workspaceDirectories(): string[] {
  const dirs: string[] = [];
  for (const pattern of readManifest(root).workspaces ?? []) {
    if (!pattern.endsWith('/*')) throw new Error(`unsupported workspaces pattern ${pattern}`);
    const group = join(root, pattern.slice(0, -2));
    for (const name of readdirSync(group).sort()) {
      if (existsSync(join(group, name, 'package.json'))) dirs.push(join(group, name));
    }
  }
  return dirs;
}

function publicEntryPoints(): EntryPoint[] {
  const entries: EntryPoint[] = [];
  for (const dir of workspaceDirectories()) {
    const manifest = readManifest(dir);
    if (manifest.private === true) continue;
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      const file = typeof target === 'string' ? target : target.default;
      if (file === undefined || !file.startsWith('./dist/') || !file.endsWith('.js')) continue;
      entries.push({
        specifier: `${manifest.name}${subpath === '.' ? '' : subpath.slice(1)}`,
        file: join(dir, file.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')),
      });
    }
  }
  return entries;
}

/**
 * One Program over all entry files, with the repository's compiler options and `paths` (which map
 * `@esflow/*` to sources). Only this repository's declarations are inspected and nothing is
 * type-checked, so files under node_modules (lib.d.ts, dependencies' types) are read as empty:
 * the Program holds ~130 files instead of ~1100, and builds in about a second instead of five.
 */
function createProgram(files: readonly string[]): ts.Program {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (config.error)
    throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true };
  const host = ts.createCompilerHost(options, true);
  const readSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    fileName.includes('/node_modules/')
      ? ts.createSourceFile(fileName, '', languageVersion)
      : readSourceFile(fileName, languageVersion, ...rest);
  return ts.createProgram({ rootNames: files, options, host });
}

/** Whether a declaration carries a TSDoc comment with text (tags alone do not count). */
function hasTsDoc(declaration: ts.Declaration): boolean {
  return ts
    .getJSDocCommentsAndTags(declaration)
    .some(
      (doc) => ts.isJSDoc(doc) && (ts.getTextOfJSDocComment(doc.comment) ?? '').trim().length > 0,
    );
}

interface ExportedSymbol {
  readonly name: string;
  readonly declarations: readonly ts.Declaration[];
}

function exportsOf(checker: ts.TypeChecker, source: ts.SourceFile): ExportedSymbol[] {
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) return [];
  return checker.getExportsOfModule(moduleSymbol).map((exported) => {
    const target =
      exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    return { name: exported.name, declarations: target.declarations ?? [] };
  });
}

function location(declaration: ts.Declaration): string {
  const source = declaration.getSourceFile();
  const { line } = source.getLineAndCharacterOfPosition(declaration.getStart(source));
  return `${relative(root, source.fileName)}:${line + 1}`;
}

describe('public API', () => {
  const entries = publicEntryPoints();
  let program: ts.Program;
  let checker: ts.TypeChecker;

  beforeAll(() => {
    program = createProgram(entries.map((entry) => entry.file));
    checker = program.getTypeChecker();
  }, 60_000);

  function sourceOf(entry: EntryPoint): ts.SourceFile {
    const source = program.getSourceFile(entry.file);
    if (source === undefined) throw new Error(`${entry.specifier}: ${entry.file} is missing`);
    return source;
  }

  it('derives the entry points from the public packages', () => {
    expect(entries.map((entry) => entry.specifier)).toEqual(
      expect.arrayContaining(['@esflow/core', '@esflow/core/node', '@esflow/kafka/testing']),
    );
    for (const entry of entries) expect(existsSync(entry.file), entry.file).toBe(true);
  });

  it('every entry point exports something', () => {
    const empty = entries
      .filter((entry) => exportsOf(checker, sourceOf(entry)).length === 0)
      .map((entry) => entry.specifier);
    expect(empty).toEqual([]);
  });

  it('every entry file starts with a @packageDocumentation comment', () => {
    const missing = entries
      .filter((entry) => {
        const text = sourceOf(entry).text;
        const [first] = ts.getLeadingCommentRanges(text, ts.getShebang(text)?.length ?? 0) ?? [];
        const comment = first === undefined ? '' : text.slice(first.pos, first.end);
        return !(comment.startsWith('/**') && comment.includes('@packageDocumentation'));
      })
      .map((entry) => `${entry.specifier}: ${relative(root, entry.file)}`);
    expect(missing, `entry files without a leading @packageDocumentation comment`).toEqual([]);
  });

  it('every exported symbol has a TSDoc comment on its declaration', () => {
    const undocumented: string[] = [];
    for (const entry of entries) {
      for (const symbol of exportsOf(checker, sourceOf(entry))) {
        // A const object with its same-named type, or overloads: a doc on any declaration counts.
        if (symbol.declarations.some(hasTsDoc)) continue;
        const [first] = symbol.declarations;
        const where = first ? location(first) : 'not declared in this repository';
        undocumented.push(`${entry.specifier}: ${symbol.name} (${where})`);
      }
    }
    if (undocumented.length > 0) {
      expect.fail(
        `${undocumented.length} exported symbols without TSDoc:\n${undocumented.join('\n')}`,
      );
    }
  });
});
