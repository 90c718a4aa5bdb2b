import * as avro from 'avsc';
import { ErrorCode, EsflowError } from '@esflow/core';
import { CompatibilityRule } from './compatibility-rule';

/** An Avro schema as JSON text, or already parsed into a JSON value. */
export type AvroSchemaInput = string | object;

/** One way a reader schema fails to read data written with a writer schema. */
export interface CompatibilityIssue {
  /**
   * Where, as field names joined by `.`: `[]` stands for an array's items, `{}` for a map's
   * values (`items.[].sku`, `prices.{}.amount`); empty for the top-level type itself.
   */
  readonly path: string;
  readonly rule: CompatibilityRule;
  /** The break in reader/writer terms, naming the field. */
  readonly message: string;
  /** The reader's type at `path`, in words (`long`, `enum esflow.x.Status`, `[null, string]`). */
  readonly reader: string;
  /** The writer's type at `path` (for a union branch: that branch). */
  readonly writer: string;
  /** ENUM_SYMBOL_MISSING: the writer's symbols the reader lacks. NAME_MISMATCH: the two names. */
  readonly names?: readonly string[];
}

/**
 * Checks whether data written with `writer` can be read with `reader`, following the Avro
 * specification's schema resolution (1.12, "Schema Resolution"), checked ahead of time for every
 * datum the writer could produce:
 *
 * - records, enums and fixed match by full name, or when a reader alias names the writer's full
 *   name (the runtime decoder, avsc, matches full names; so does this check);
 * - record fields match by name or by a reader field alias; a reader field the writer lacks
 *   needs a default; writer fields the reader lacks are skipped;
 * - promotions: int → long, float, double; long → float, double; float → double;
 *   string ↔ bytes;
 * - an enum symbol the reader lacks is an error unless the reader's enum has a `default`;
 * - fixed sizes must be equal;
 * - every branch a writer union may hold must be readable by the reader (by some branch when the
 *   reader is a union too); a non-union writer must be readable by some reader branch;
 * - arrays, maps and nested (also recursive) named types resolve recursively.
 *
 * Returns every break found, empty when the reader can read all the writer's data. Throws
 * INVALID_DEFINITION when either schema is not valid Avro.
 */
export function readerCanRead(
  reader: AvroSchemaInput,
  writer: AvroSchemaInput,
): CompatibilityIssue[] {
  const checker = new ResolutionChecker();
  return checker
    .check(parseAvroSchema(reader, 'reader'), parseAvroSchema(writer, 'writer'))
    .map(render);
}

/** Parses a schema with avsc (full names resolved, aliases qualified, defaults checked). */
export function parseAvroSchema(input: AvroSchemaInput, role = 'schema'): avro.Type {
  let json: unknown = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (error) {
      throw new EsflowError(
        ErrorCode.InvalidDefinition,
        `the ${role} schema is not valid JSON: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  try {
    return avro.Type.forSchema(json as avro.Schema);
  } catch (error) {
    throw new EsflowError(
      ErrorCode.InvalidDefinition,
      `the ${role} schema is not valid Avro: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** An issue before rendering: the path is built up as the recursion returns. */
interface RawIssue {
  readonly path: readonly string[];
  readonly rule: CompatibilityRule;
  readonly reader: string;
  readonly writer: string;
  readonly names?: readonly string[];
}

type Kind =
  | 'null'
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'bytes'
  | 'string'
  | 'record'
  | 'enum'
  | 'fixed'
  | 'array'
  | 'map'
  | 'union';

/** What each primitive can be read from, besides itself (the specification's promotions). */
const PROMOTED_FROM: Readonly<Partial<Record<Kind, readonly Kind[]>>> = {
  long: ['int'],
  float: ['int', 'long'],
  double: ['int', 'long', 'float'],
  bytes: ['string'],
  string: ['bytes'],
};

/** Logical types are read as their underlying type (unknown logical types are ignored). */
function unwrap(type: avro.Type): avro.Type {
  let current = type;
  while (current.typeName.startsWith('logical:'))
    current = (current as avro.types.LogicalType).underlyingType;
  return current;
}

function kindOf(type: avro.Type): Kind {
  const name = unwrap(type).typeName;
  if (name.startsWith('union')) return 'union';
  if (name === 'error') return 'record';
  if (name === 'abstract:long') return 'long';
  return name as Kind;
}

function branches(type: avro.Type): readonly avro.Type[] {
  return (unwrap(type) as avro.types.UnwrappedUnionType).types;
}

function aliasesOf(type: avro.Type): readonly string[] {
  return unwrap(type).aliases ?? [];
}

function enumDefault(type: avro.Type): string | undefined {
  return (unwrap(type) as unknown as { default?: string }).default;
}

/** A type in words, for messages: `long`, `record a.B`, `array<int>`, `[null, string]`. */
export function describeType(type: avro.Type): string {
  const kind = kindOf(type);
  const inner = unwrap(type);
  switch (kind) {
    case 'record':
    case 'enum':
      return `${kind} ${inner.name}`;
    case 'fixed':
      return `fixed ${inner.name} (${(inner as avro.types.FixedType).size} bytes)`;
    case 'array':
      return `array<${describeType((inner as avro.types.ArrayType).itemsType)}>`;
    case 'map':
      return `map<${describeType((inner as avro.types.MapType).valuesType as avro.Type)}>`;
    case 'union':
      return `[${branches(inner).map(describeType).join(', ')}]`;
    default:
      return kind;
  }
}

/**
 * The specification's shallow "match" (before recursing): same primitive or a promotion, both
 * arrays, both maps, or named types of one kind whose names match. Used to say why a union
 * branch fails: a matching branch reports its inner breaks, no match reports the branch missing.
 */
function shallowMatch(reader: avro.Type, writer: avro.Type): boolean {
  const r = kindOf(reader);
  const w = kindOf(writer);
  if (r === 'record' || r === 'enum' || r === 'fixed') return r === w && namesMatch(reader, writer);
  if (r === w) return true;
  return PROMOTED_FROM[r]?.includes(w) ?? false;
}

function namesMatch(reader: avro.Type, writer: avro.Type): boolean {
  const name = unwrap(writer).name;
  return unwrap(reader).name === name || (name !== undefined && aliasesOf(reader).includes(name));
}

const prefixed = (segment: string, issues: readonly RawIssue[]): RawIssue[] =>
  issues.map((issue) => ({ ...issue, path: [segment, ...issue.path] }));

class ResolutionChecker {
  /** Record pairs being checked (recursion: assume compatible unless shown otherwise). */
  private readonly inProgress = new Set<string>();
  /** Record pairs already checked, with issues relative to the record. */
  private readonly done = new Map<string, readonly RawIssue[]>();

  check(reader: avro.Type, writer: avro.Type): RawIssue[] {
    if (kindOf(writer) === 'union') return this.writerUnion(reader, writer);
    if (kindOf(reader) === 'union') return this.readerUnion(reader, writer);
    return this.nonUnion(reader, writer);
  }

  /** Every branch the writer may hold must be readable. */
  private writerUnion(reader: avro.Type, writer: avro.Type): RawIssue[] {
    return branches(writer).flatMap((branch) => {
      if (kindOf(reader) === 'union') return this.readerUnion(reader, branch);
      if (shallowMatch(reader, branch)) return this.nonUnion(reader, branch);
      return [this.issue(CompatibilityRule.UnionBranchMissing, reader, branch)];
    });
  }

  /** Some branch of the reader's union must read the (non-union) writer type. */
  private readerUnion(reader: avro.Type, writer: avro.Type): RawIssue[] {
    const candidates = branches(reader);
    let firstMatchIssues: RawIssue[] | undefined;
    for (const branch of candidates) {
      if (!shallowMatch(branch, writer)) continue;
      const issues = this.nonUnion(branch, writer);
      if (issues.length === 0) return [];
      firstMatchIssues ??= issues;
    }
    return firstMatchIssues ?? [this.issue(CompatibilityRule.UnionBranchMissing, reader, writer)];
  }

  private nonUnion(reader: avro.Type, writer: avro.Type): RawIssue[] {
    const r = kindOf(reader);
    const w = kindOf(writer);
    if (r !== w) {
      if (PROMOTED_FROM[r]?.includes(w)) return [];
      return [this.issue(CompatibilityRule.TypeMismatch, reader, writer)];
    }
    switch (r) {
      case 'record':
        return this.records(reader, writer);
      case 'enum': {
        if (!namesMatch(reader, writer)) return [this.nameMismatch(reader, writer)];
        const readerSymbols = (unwrap(reader) as avro.types.EnumType).symbols;
        const missing = (unwrap(writer) as avro.types.EnumType).symbols.filter(
          (symbol) => !readerSymbols.includes(symbol),
        );
        if (missing.length === 0 || enumDefault(reader) !== undefined) return [];
        return [
          { ...this.issue(CompatibilityRule.EnumSymbolMissing, reader, writer), names: missing },
        ];
      }
      case 'fixed': {
        if (!namesMatch(reader, writer)) return [this.nameMismatch(reader, writer)];
        if (
          (unwrap(reader) as avro.types.FixedType).size ===
          (unwrap(writer) as avro.types.FixedType).size
        )
          return [];
        return [this.issue(CompatibilityRule.FixedSizeMismatch, reader, writer)];
      }
      case 'array':
        return prefixed(
          '[]',
          this.check(
            (unwrap(reader) as avro.types.ArrayType).itemsType,
            (unwrap(writer) as avro.types.ArrayType).itemsType,
          ),
        );
      case 'map':
        return prefixed(
          '{}',
          this.check(
            (unwrap(reader) as avro.types.MapType).valuesType as avro.Type,
            (unwrap(writer) as avro.types.MapType).valuesType as avro.Type,
          ),
        );
      default:
        return [];
    }
  }

  private records(reader: avro.Type, writer: avro.Type): RawIssue[] {
    if (!namesMatch(reader, writer)) return [this.nameMismatch(reader, writer)];
    const key = `${unwrap(reader).name}\u0000${unwrap(writer).name}`;
    const known = this.done.get(key);
    if (known) return [...known];
    if (this.inProgress.has(key)) return [];
    this.inProgress.add(key);
    const writerFields = (unwrap(writer) as avro.types.RecordType).fields;
    const issues: RawIssue[] = [];
    for (const field of (unwrap(reader) as avro.types.RecordType).fields) {
      const names = [field.name, ...(field.aliases ?? [])];
      const matches = writerFields.filter((candidate) => names.includes(candidate.name));
      if (matches.length > 1) {
        issues.push({
          path: [field.name],
          rule: CompatibilityRule.FieldAliasAmbiguous,
          reader: describeType(field.type),
          writer: matches.map((match) => match.name).join(', '),
          names: matches.map((match) => match.name),
        });
      } else if (matches.length === 0) {
        if (field.defaultValue() === undefined)
          issues.push({
            path: [field.name],
            rule: CompatibilityRule.FieldAddedWithoutDefault,
            reader: describeType(field.type),
            writer: '(no such field)',
          });
      } else {
        issues.push(...prefixed(field.name, this.check(field.type, matches[0]!.type)));
      }
    }
    this.inProgress.delete(key);
    this.done.set(key, issues);
    return issues;
  }

  private nameMismatch(reader: avro.Type, writer: avro.Type): RawIssue {
    return {
      ...this.issue(CompatibilityRule.NameMismatch, reader, writer),
      names: [unwrap(writer).name ?? '', unwrap(reader).name ?? ''],
    };
  }

  private issue(rule: CompatibilityRule, reader: avro.Type, writer: avro.Type): RawIssue {
    return { path: [], rule, reader: describeType(reader), writer: describeType(writer) };
  }
}

function render(issue: RawIssue): CompatibilityIssue {
  const path = issue.path.join('.');
  const where = path === '' ? 'the top-level type' : `\`${path}\``;
  const base = { path, rule: issue.rule, reader: issue.reader, writer: issue.writer };
  const withNames = issue.names ? { ...base, names: issue.names } : base;
  switch (issue.rule) {
    case CompatibilityRule.FieldAddedWithoutDefault:
      return {
        ...withNames,
        message: `the reader's field \`${path}\` has no default and the writer's data has no such field`,
      };
    case CompatibilityRule.FieldAliasAmbiguous:
      return {
        ...withNames,
        message: `the reader's field \`${path}\` matches several writer fields through its name and aliases (${issue.writer})`,
      };
    case CompatibilityRule.EnumSymbolMissing:
      return {
        ...withNames,
        message: `${where}: the writer's ${issue.writer} may hold ${issue.names?.join(', ')}, which the reader's ${issue.reader} lacks, and the reader's enum has no default`,
      };
    case CompatibilityRule.UnionBranchMissing:
      return {
        ...withNames,
        message: `${where}: the writer may write ${issue.writer}, which the reader's ${issue.reader} cannot read`,
      };
    case CompatibilityRule.NameMismatch:
      return {
        ...withNames,
        message: `${where}: the writer's ${issue.writer} is not the reader's ${issue.reader} and is not among its aliases`,
      };
    case CompatibilityRule.FixedSizeMismatch:
      return {
        ...withNames,
        message: `${where}: the writer's ${issue.writer} and the reader's ${issue.reader} differ in size`,
      };
    default:
      return {
        ...withNames,
        message: `${where} is ${issue.writer} in the writer's schema; the reader's ${issue.reader} cannot read it (Avro promotes only int → long → float → double and string ↔ bytes)`,
      };
  }
}
