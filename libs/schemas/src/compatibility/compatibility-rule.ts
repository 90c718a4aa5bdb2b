/**
 * The rules of Avro schema resolution a reader/writer pair can break, as stable strings (they
 * appear in CI output and may be matched by scripts).
 */
export const CompatibilityRule = {
  /** The reader has a field without a default that the writer's data lacks. */
  FieldAddedWithoutDefault: 'FIELD_ADDED_WITHOUT_DEFAULT',
  /**
   * The same break seen from the other side (FORWARD): the new schema dropped a field that an
   * older reader declares without a default. Reported by `checkCompatibility` only.
   */
  FieldRemovedWithoutDefault: 'FIELD_REMOVED_WITHOUT_DEFAULT',
  /** A reader field's name and aliases match more than one writer field. */
  FieldAliasAmbiguous: 'FIELD_ALIAS_AMBIGUOUS',
  /** The writer's type cannot be read as the reader's (no Avro promotion applies). */
  TypeMismatch: 'TYPE_MISMATCH',
  /** The writer's enum has symbols the reader's lacks, and the reader's enum has no default. */
  EnumSymbolMissing: 'ENUM_SYMBOL_MISSING',
  /** A type the writer may write (a union branch, or the writer's whole type) that no branch of the reader's union, or the reader's non-union type, can read. */
  UnionBranchMissing: 'UNION_BRANCH_MISSING',
  /** A record, enum or fixed whose full name differs and is not among the reader's aliases. */
  NameMismatch: 'NAME_MISMATCH',
  /** Two fixed types of different sizes. */
  FixedSizeMismatch: 'FIXED_SIZE_MISMATCH',
} as const;
export type CompatibilityRule = (typeof CompatibilityRule)[keyof typeof CompatibilityRule];
