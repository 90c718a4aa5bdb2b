import * as avro from 'avsc';
import { ErrorCode, EsflowError } from '@esflow/core';
import { GateRule } from './gate/gate-failure';
import { loadWorkingTree } from './gate/working-tree';

/**
 * One schema of a {@link SchemaCatalog}: the record's full name, the file that defines it, the
 * parsed Avro type and the self-contained JSON that gets registered.
 */
export interface CatalogEntry {
  /** Full name of the record, e.g. `esflow.orderFulfillment.PaymentReceived`. */
  readonly name: string;
  /** Path of the .avsc file, relative to the catalog root. */
  readonly file: string;
  readonly type: avro.Type;
  /**
   * The self-contained schema JSON (named types from other files inlined; docs, defaults, enum
   * defaults and aliases kept): what is registered, since a registry cannot see this catalog's
   * other files. The CI gate checks exactly this text.
   */
  readonly expanded: string;
}

/** Gate rules that are about style, not validity: the runtime loads such schemas anyway. */
const STYLE_ONLY: ReadonlySet<string> = new Set([GateRule.FieldWithoutDoc]);

/**
 * The Avro schemas of an application: one named record per .avsc file of its schema
 * directories, parsed together so a file may reference types named in another (the same reading
 * as the CI gate). The single source of truth for payloads.
 */
export class SchemaCatalog {
  private constructor(private readonly entries: ReadonlyMap<string, CatalogEntry>) {}

  /**
   * Loads and checks every schema under the directories (one or several, read together).
   * Throws INVALID_DEFINITION listing each invalid file; a missing field `doc` is only the
   * gate's concern.
   */
  static load(dirs: string | readonly string[]): SchemaCatalog {
    const tree = loadWorkingTree(dirs);
    const root = typeof dirs === 'string' ? dirs : dirs.join(', ');
    const failures = tree.failures.filter((failure) => !STYLE_ONLY.has(failure.rule));
    if (failures.length > 0)
      throw new EsflowError(
        ErrorCode.InvalidDefinition,
        `invalid Avro schemas in ${root}:\n  ${failures.map((failure) => failure.message).join('\n  ')}`,
      );
    const entries = new Map<string, CatalogEntry>();
    for (const schema of tree.schemas) {
      const type = avro.Type.forSchema(JSON.parse(schema.schema) as avro.Schema);
      entries.set(schema.subject, {
        name: schema.subject,
        file: schema.file,
        type,
        expanded: schema.schema,
      });
    }
    return new SchemaCatalog(entries);
  }

  /** The schema of a record, by full name. */
  get(name: string): CatalogEntry | undefined {
    return this.entries.get(name);
  }

  /** Every record's full name, sorted. */
  names(): string[] {
    return [...this.entries.keys()].sort();
  }
}
