import * as avro from 'avsc';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { GateFailure, GateRule } from './gate-failure';

/** A .avsc file as read from disk; `file` is relative to the schema directory. */
export interface SchemaFile {
  readonly file: string;
  readonly text: string;
}

/** One subject of the working tree: a .avsc file's top-level record. */
export interface WorkingSchema {
  /** The record's full name; the subject under RecordNameStrategy. */
  readonly subject: string;
  readonly file: string;
  /**
   * The self-contained schema JSON: every name written in full, named types of other files
   * inlined, every attribute kept as written (docs, defaults, enum defaults, aliases).
   */
  readonly schema: string;
  /** Named types defined inside this schema (inline or inlined from other files). */
  readonly nestedNames: readonly string[];
}

export interface WorkingTree {
  readonly schemas: readonly WorkingSchema[];
  /** Files that are not valid JSON, not a named record, not valid Avro, or lack docs. */
  readonly failures: readonly GateFailure[];
}

/** Reads every .avsc file under `dir` (recursively, sorted). */
export function readSchemaFiles(dir: string): SchemaFile[] {
  const files: SchemaFile[] = [];
  const visit = (path: string) => {
    for (const name of readdirSync(path).sort()) {
      const child = join(path, name);
      if (statSync(child).isDirectory()) visit(child);
      else if (name.endsWith('.avsc'))
        files.push({
          file: relative(dir, child).split(sep).join('/'),
          text: readFileSync(child, 'utf8'),
        });
    }
  };
  visit(dir);
  return files;
}

/**
 * Reads every .avsc file under each of `dirs` (a directory listed twice is read once). Files are
 * named by their path relative to `base` (the working directory by default), so messages point
 * at the file wherever it lives: `examples/order-fulfillment/schemas/OrderPlaced.avsc`.
 */
export function readSchemaDirectories(
  dirs: readonly string[],
  base: string = process.cwd(),
): SchemaFile[] {
  return [...new Set(dirs.map((dir) => resolve(dir)))].flatMap((dir) => {
    const prefix = relative(base, dir).split(sep).join('/');
    return readSchemaFiles(dir).map((file) => ({
      ...file,
      file: prefix ? `${prefix}/${file.file}` : file.file,
    }));
  });
}

/** Reads and analyses the schemas under one directory, or several read together. */
export function loadWorkingTree(dirs: string | readonly string[]): WorkingTree {
  return analyzeSchemaFiles(
    typeof dirs === 'string' ? readSchemaFiles(dirs) : readSchemaDirectories(dirs),
  );
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const PRIMITIVES = new Set([
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'bytes',
  'string',
]);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

interface NamedDefinition {
  readonly definition: JsonObject;
  /** The namespace a short name inside `definition` would be resolved in. */
  readonly enclosing: string;
  readonly file: string;
}

/**
 * Checks the .avsc files one by one and together: each must be JSON, a named record whose
 * fields (also of records defined inside it) all carry a `doc`, and valid Avro once the named
 * types it references from other files are inlined. Pure: no I/O.
 */
export function analyzeSchemaFiles(files: readonly SchemaFile[]): WorkingTree {
  const failures: GateFailure[] = [];
  const roots: { file: string; definition: JsonObject }[] = [];
  for (const { file, text } of files) {
    let definition: Json;
    try {
      definition = JSON.parse(text) as Json;
    } catch (error) {
      failures.push({
        rule: GateRule.InvalidJson,
        file,
        message: `${file} is not valid JSON: ${(error as Error).message}`,
      });
      continue;
    }
    if (
      !isObject(definition) ||
      definition['type'] !== 'record' ||
      typeof definition['name'] !== 'string'
    ) {
      failures.push({
        rule: GateRule.NotANamedRecord,
        file,
        message: `${file}: the top-level schema must be a named record ({"type": "record", "name": ..., "fields": [...]}), one per file`,
      });
      continue;
    }
    roots.push({ file, definition });
  }

  const named = new Map<string, NamedDefinition>();
  for (const { file, definition } of roots) {
    forEachNamedType(definition, '', (fullName, inner, enclosing) => {
      const existing = named.get(fullName);
      if (existing) {
        failures.push({
          rule: GateRule.DuplicateName,
          file,
          subject: fullName,
          message: `${file}: ${fullName} is defined in ${existing.file} too; a full name may be defined once`,
        });
        return;
      }
      named.set(fullName, { definition: inner, enclosing, file });
      if (inner['type'] === 'record' && Array.isArray(inner['fields']))
        for (const field of inner['fields'])
          if (isObject(field) && (typeof field['doc'] !== 'string' || field['doc'].trim() === ''))
            failures.push({
              rule: GateRule.FieldWithoutDoc,
              file,
              subject: fullName,
              field: String(field['name']),
              message: `${file}: field \`${String(field['name'])}\` of ${fullName} has no "doc"; say what it holds for the readers of this event`,
            });
    });
  }

  const schemas: WorkingSchema[] = [];
  for (const { file, definition } of roots) {
    const subject = fullNameOf(definition, '');
    if (named.get(subject)?.file !== file) continue; // a duplicate, reported above
    try {
      const context: ExpansionContext = { named, defined: new Set(), order: [] };
      const expanded = expand(definition, '', context);
      avro.Type.forSchema(expanded as avro.Schema);
      schemas.push({
        subject,
        file,
        schema: JSON.stringify(expanded),
        nestedNames: context.order.filter((name) => name !== subject),
      });
    } catch (error) {
      failures.push({
        rule: GateRule.InvalidSchema,
        file,
        subject,
        message: `${file}: not a valid Avro schema: ${(error as Error).message}`,
      });
    }
  }
  return { schemas, failures };
}

/**
 * A comparable text of a self-contained schema: full names, no `namespace` attributes,
 * `{"type": "string"}` written as `"string"`, keys sorted. Docs and defaults are kept, so a
 * changed doc or default is a change (as in the registries, which store it).
 */
export function canonicalSchema(schema: string): string {
  const expanded = expand(JSON.parse(schema) as Json, '', {
    named: new Map(),
    defined: new Set(),
    order: [],
  });
  return stableStringify(simplify(expanded));
}

function simplify(value: Json): Json {
  if (Array.isArray(value)) return value.map(simplify);
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && typeof value['type'] === 'string' && PRIMITIVES.has(value['type']))
    return value['type'];
  return Object.fromEntries(keys.map((key) => [key, simplify(value[key]!)]));
}

function stableStringify(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (!isObject(value)) return JSON.stringify(value);
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${stableStringify(value[key]!)}`)
    .join(',')}}`;
}

function namespaceOf(fullName: string): string {
  const dot = fullName.lastIndexOf('.');
  return dot < 0 ? '' : fullName.slice(0, dot);
}

/** The specification's full-name rules: a dotted name is full; else namespace attr or enclosing. */
function fullNameOf(definition: JsonObject, enclosing: string): string {
  const name = String(definition['name']);
  if (name.includes('.')) return name;
  const namespace =
    typeof definition['namespace'] === 'string' ? definition['namespace'] : enclosing;
  return namespace ? `${namespace}.${name}` : name;
}

const qualify = (reference: string, namespace: string): string =>
  reference.includes('.') || !namespace ? reference : `${namespace}.${reference}`;

/** Calls `visit` for every named type defined in `schema`, depth first. */
function forEachNamedType(
  schema: Json,
  enclosing: string,
  visit: (fullName: string, definition: JsonObject, enclosing: string) => void,
): void {
  if (Array.isArray(schema)) {
    for (const branch of schema) forEachNamedType(branch, enclosing, visit);
    return;
  }
  if (!isObject(schema)) return;
  const type = schema['type'];
  if (typeof type !== 'string') return forEachNamedType(type ?? null, enclosing, visit);
  if (NAMED.has(type) && typeof schema['name'] === 'string') {
    const fullName = fullNameOf(schema, enclosing);
    visit(fullName, schema, enclosing);
    if (Array.isArray(schema['fields']))
      for (const field of schema['fields'])
        if (isObject(field)) forEachNamedType(field['type'] ?? null, namespaceOf(fullName), visit);
  } else if (type === 'array') forEachNamedType(schema['items'] ?? null, enclosing, visit);
  else if (type === 'map') forEachNamedType(schema['values'] ?? null, enclosing, visit);
}

interface ExpansionContext {
  readonly named: ReadonlyMap<string, NamedDefinition>;
  /** Names already defined in the output: later uses are references. */
  readonly defined: Set<string>;
  /** Names in the order they were defined. */
  readonly order: string[];
}

/**
 * Rewrites a schema so that it stands alone: each named type is defined at its first use (from
 * this file or another one) and referenced by full name afterwards; aliases are written in full.
 */
function expand(schema: Json, enclosing: string, context: ExpansionContext): Json {
  if (typeof schema === 'string') {
    if (PRIMITIVES.has(schema)) return schema;
    const fullName = qualify(schema, enclosing);
    if (context.defined.has(fullName)) return fullName;
    const target = context.named.get(fullName);
    if (!target) throw new Error(`unknown type \`${schema}\` (no schema defines ${fullName})`);
    return expand(target.definition, target.enclosing, context);
  }
  if (Array.isArray(schema)) return schema.map((branch) => expand(branch, enclosing, context));
  if (!isObject(schema)) return schema;
  const type = schema['type'];
  if (typeof type !== 'string')
    return { ...schema, type: expand(type ?? null, enclosing, context) };
  if (NAMED.has(type) && typeof schema['name'] === 'string') {
    const fullName = fullNameOf(schema, enclosing);
    if (context.defined.has(fullName)) return fullName;
    context.defined.add(fullName);
    context.order.push(fullName);
    const namespace = namespaceOf(fullName);
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'namespace') continue;
      if (key === 'name') {
        out['name'] = fullName;
        // A name without a dot would inherit an enclosing namespace; keep it in the null one.
        if (!namespace) out['namespace'] = '';
      } else if (key === 'aliases' && Array.isArray(value))
        out['aliases'] = value.map((alias) =>
          typeof alias === 'string' ? qualify(alias, namespace) : alias,
        );
      else if (key === 'fields' && Array.isArray(value))
        out['fields'] = value.map((field) =>
          isObject(field)
            ? { ...field, type: expand(field['type'] ?? null, namespace, context) }
            : field,
        );
      else out[key] = value;
    }
    return out;
  }
  if (type === 'array')
    return { ...schema, items: expand(schema['items'] ?? null, enclosing, context) };
  if (type === 'map')
    return { ...schema, values: expand(schema['values'] ?? null, enclosing, context) };
  if (PRIMITIVES.has(type) || NAMED.has(type)) return schema;
  return expand(type, enclosing, context);
}
