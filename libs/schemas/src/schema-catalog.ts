import * as avro from 'avsc';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ErrorCode, EsflowError } from '@esflow/domain';

export interface CatalogEntry {
  /** Full name of the record, e.g. `esflow.orderFulfillment.PaymentReceived`. */
  readonly name: string;
  /** Path of the .avsc file, relative to the catalog root. */
  readonly file: string;
  /** The schema as written in the file (JSON). */
  readonly definition: Readonly<Record<string, unknown>>;
  readonly type: avro.Type;
  /**
   * The self-contained schema JSON (named types from other files inlined, defaults and docs
   * kept): what is registered, since a registry cannot see this catalog's other files.
   */
  readonly expanded: string;
}

/**
 * The Avro schemas of schemas/avro: one named record per .avsc file, parsed together so a file
 * may reference types named in another. The single source of truth for payloads.
 */
export class SchemaCatalog {
  private constructor(private readonly entries: ReadonlyMap<string, CatalogEntry>) {}

  static load(root: string): SchemaCatalog {
    const files = listAvscFiles(root);
    const pending = files.map((file) => ({
      file: relative(root, file),
      definition: readSchemaFile(file),
    }));
    const registry: Record<string, avro.Type> = {};
    const entries = new Map<string, CatalogEntry>();
    // Files may reference each other's named types in any order: parse what resolves, repeat.
    while (pending.length > 0) {
      const failures: string[] = [];
      for (const item of [...pending]) {
        try {
          const type = avro.Type.forSchema(item.definition as avro.Schema, { registry });
          const name = type.name;
          if (!name || type.typeName !== 'record')
            throw new EsflowError(
              ErrorCode.InvalidDefinition,
              `${item.file}: the top-level schema must be a named record`,
            );
          if (entries.has(name))
            throw new EsflowError(
              ErrorCode.InvalidDefinition,
              `${item.file}: record ${name} is defined in ${entries.get(name)!.file} too`,
            );
          entries.set(name, {
            name,
            file: item.file,
            definition: item.definition,
            type,
            expanded: JSON.stringify(type.schema({ exportAttrs: true })),
          });
          pending.splice(pending.indexOf(item), 1);
        } catch (error) {
          if (error instanceof EsflowError) throw error;
          failures.push(`${item.file}: ${(error as Error).message}`);
        }
      }
      if (failures.length === pending.length && pending.length > 0)
        throw new EsflowError(
          ErrorCode.InvalidDefinition,
          `invalid Avro schemas:\n  ${failures.join('\n  ')}`,
        );
    }
    return new SchemaCatalog(entries);
  }

  get(name: string): CatalogEntry | undefined {
    return this.entries.get(name);
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }
}

function listAvscFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return listAvscFiles(path);
      return name.endsWith('.avsc') ? [path] : [];
    });
}

function readSchemaFile(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new EsflowError(
      ErrorCode.InvalidDefinition,
      `${path} is not valid JSON: ${(error as Error).message}`,
    );
  }
}
