import { CompatibilityRule } from './compatibility-rule';

/**
 * Schema pairs with the verdict Avro schema resolution gives, used by the checker's unit test
 * and checked against a real registry (test/integration/registry-compatibility.int.spec.ts).
 *
 * `old` is the released version, `new` the candidate. BACKWARD: `new` reads data written with
 * `old`. FORWARD: `old` reads data written with `new`. FULL holds when both do.
 */
export interface CorpusPair {
  /** Unique, kebab-case (also the registry subject's suffix). */
  readonly name: string;
  readonly old: object;
  readonly new: object;
  readonly backward: Verdict;
  readonly forward: Verdict;
  /** Where a real registry's answer differs from ours, and why: the test pins both answers. */
  readonly registryDisagrees?: readonly RegistryDisagreement[];
}

/** Compatible, or the first break expected: the field path and the rule. */
export type Verdict = 'compatible' | { readonly path: string; readonly rule: CompatibilityRule };

export interface RegistryDisagreement {
  readonly level: 'BACKWARD' | 'FORWARD';
  /** The registry's `is_compatible` (ours is the opposite). */
  readonly registrySays: boolean;
  readonly why: string;
}

const NS = 'esflow.corpus';

function record(fields: readonly object[], extra: Record<string, unknown> = {}): object {
  return { type: 'record', name: 'Order', namespace: NS, fields, ...extra };
}

function field(name: string, type: unknown, extra: Record<string, unknown> = {}): object {
  return { name, type, ...extra };
}

const id = field('id', 'string');

function enumType(symbols: readonly string[], extra: Record<string, unknown> = {}): object {
  return { type: 'enum', name: 'Status', symbols, ...extra };
}

function item(fields: readonly object[], extra: Record<string, unknown> = {}): object {
  return { type: 'record', name: 'Item', fields, ...extra };
}

const sku = field('sku', 'string');

const { FieldAddedWithoutDefault: ADDED, FieldRemovedWithoutDefault: REMOVED } = CompatibilityRule;
const {
  TypeMismatch: TYPE,
  EnumSymbolMissing: ENUM,
  UnionBranchMissing: UNION,
  NameMismatch: NAME,
  FixedSizeMismatch: SIZE,
} = CompatibilityRule;

/** Promotion pair: `from` in the old schema, `to` in the new one. */
function promotion(name: string, from: string, to: string, backward: boolean, forward: boolean) {
  return {
    name,
    old: record([id, field('amount', from)]),
    new: record([id, field('amount', to)]),
    backward: backward ? 'compatible' : { path: 'amount', rule: TYPE },
    forward: forward ? 'compatible' : { path: 'amount', rule: TYPE },
  } satisfies CorpusPair;
}

/** Avro Java matches named types by unqualified name; esflow, like its decoder avsc, by full name. */
function namespaceDisagreement(what: string): RegistryDisagreement[] {
  return (['BACKWARD', 'FORWARD'] as const).map((level) => ({
    level,
    registrySays: true,
    why:
      `Moving ${what} to another namespace: Avro Java 1.12's SchemaCompatibility.schemaNameEquals ` +
      '(the checker inside Apicurio 3.0.9) compares unqualified names, as the ' +
      'specification\'s "same (unqualified) name" says, so it passes. avsc, esflow\'s decoder, ' +
      'matches full names and cannot read the old data ("no alias found for ..."), so esflow ' +
      'refuses it. Keep the namespace, or add an alias naming the old full name.',
  }));
}

export const COMPATIBILITY_CORPUS: readonly CorpusPair[] = [
  // Fields added and removed, with and without defaults.
  {
    name: 'field-added-with-default',
    old: record([id]),
    new: record([id, field('currency', 'string', { default: 'EUR' })]),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'field-added-without-default',
    old: record([id]),
    new: record([id, field('currency', 'string')]),
    backward: { path: 'currency', rule: ADDED },
    forward: 'compatible',
  },
  {
    name: 'optional-field-added',
    old: record([id]),
    new: record([id, field('note', ['null', 'string'], { default: null })]),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'field-removed-that-had-a-default',
    old: record([id, field('note', 'string', { default: '' })]),
    new: record([id]),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'field-removed-without-default',
    old: record([id, field('currency', 'string')]),
    new: record([id]),
    backward: 'compatible',
    forward: { path: 'currency', rule: REMOVED },
  },
  {
    name: 'default-added-to-existing-field',
    old: record([id, field('currency', 'string')]),
    new: record([id, field('currency', 'string', { default: 'EUR' })]),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'fields-reordered-and-docs-changed',
    old: record([id, field('a', 'int'), field('b', 'long')]),
    new: record([field('b', 'long', { doc: 'b' }), field('a', 'int', { doc: 'a' }), id], {
      doc: 'an order',
    }),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    // An enum's own default stands in for unknown symbols, never for a missing field.
    name: 'enum-field-added-without-default-but-enum-has-default',
    old: record([id]),
    new: record([id, field('status', enumType(['OPEN', 'UNKNOWN'], { default: 'UNKNOWN' }))]),
    backward: { path: 'status', rule: ADDED },
    forward: 'compatible',
  },

  // Promotions and their reverse.
  promotion('int-to-long', 'int', 'long', true, false),
  promotion('long-to-float', 'long', 'float', true, false),
  promotion('float-to-double', 'float', 'double', true, false),
  promotion('int-to-double', 'int', 'double', true, false),
  promotion('long-to-int', 'long', 'int', false, true),
  promotion('double-to-float', 'double', 'float', false, true),
  promotion('string-to-bytes', 'string', 'bytes', true, true),
  promotion('bytes-to-string', 'bytes', 'string', true, true),
  promotion('string-to-int', 'string', 'int', false, false),
  promotion('boolean-to-int', 'boolean', 'int', false, false),

  // Enums.
  {
    name: 'enum-symbol-added-no-default',
    old: record([id, field('status', enumType(['OPEN', 'PAID']))]),
    new: record([id, field('status', enumType(['OPEN', 'PAID', 'REFUNDED']))]),
    backward: 'compatible',
    forward: { path: 'status', rule: ENUM },
  },
  {
    name: 'enum-symbol-added-both-have-default',
    old: record([id, field('status', enumType(['UNKNOWN', 'OPEN'], { default: 'UNKNOWN' }))]),
    new: record([
      id,
      field('status', enumType(['UNKNOWN', 'OPEN', 'PAID'], { default: 'UNKNOWN' })),
    ]),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'enum-symbol-added-only-new-has-default',
    old: record([id, field('status', enumType(['UNKNOWN', 'OPEN']))]),
    new: record([
      id,
      field('status', enumType(['UNKNOWN', 'OPEN', 'PAID'], { default: 'UNKNOWN' })),
    ]),
    backward: 'compatible',
    forward: { path: 'status', rule: ENUM },
  },
  {
    name: 'enum-symbol-removed-no-default',
    old: record([id, field('status', enumType(['OPEN', 'PAID', 'LOST']))]),
    new: record([id, field('status', enumType(['OPEN', 'PAID']))]),
    backward: { path: 'status', rule: ENUM },
    forward: 'compatible',
  },
  {
    name: 'enum-symbol-removed-new-has-default',
    old: record([id, field('status', enumType(['UNKNOWN', 'OPEN', 'LOST']))]),
    new: record([id, field('status', enumType(['UNKNOWN', 'OPEN'], { default: 'UNKNOWN' }))]),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'enum-symbol-removed-only-old-has-default',
    old: record([
      id,
      field('status', enumType(['UNKNOWN', 'OPEN', 'LOST'], { default: 'UNKNOWN' })),
    ]),
    new: record([id, field('status', enumType(['UNKNOWN', 'OPEN']))]),
    backward: { path: 'status', rule: ENUM },
    forward: 'compatible',
  },
  {
    name: 'enum-to-string',
    old: record([id, field('status', enumType(['OPEN', 'PAID']))]),
    new: record([id, field('status', 'string')]),
    backward: { path: 'status', rule: TYPE },
    forward: { path: 'status', rule: TYPE },
  },

  {
    name: 'enum-symbols-reordered',
    old: record([id, field('status', enumType(['OPEN', 'PAID', 'LOST']))]),
    new: record([id, field('status', enumType(['LOST', 'OPEN', 'PAID']))]),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'nested-enum-namespace-changed',
    old: record([id, field('status', enumType(['OPEN', 'PAID']))]),
    new: record([id, field('status', enumType(['OPEN', 'PAID'], { namespace: 'esflow.states' }))]),
    backward: { path: 'status', rule: NAME },
    forward: { path: 'status', rule: NAME },
    registryDisagrees: namespaceDisagreement('the enum of `status`'),
  },

  // Unions.
  {
    name: 'union-branch-added',
    old: record([id, field('ref', ['null', 'string'], { default: null })]),
    new: record([id, field('ref', ['null', 'string', 'long'], { default: null })]),
    backward: 'compatible',
    forward: { path: 'ref', rule: UNION },
  },
  {
    name: 'union-branch-removed',
    old: record([id, field('ref', ['null', 'string', 'long'], { default: null })]),
    new: record([id, field('ref', ['null', 'string'], { default: null })]),
    backward: { path: 'ref', rule: UNION },
    forward: 'compatible',
  },
  {
    name: 'union-branches-reordered',
    old: record([id, field('ref', ['null', 'string', 'long'], { default: null })]),
    new: record([id, field('ref', ['null', 'long', 'string'], { default: null })]),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'non-union-to-union',
    old: record([id, field('note', 'string')]),
    new: record([id, field('note', ['null', 'string'], { default: null })]),
    backward: 'compatible',
    forward: { path: 'note', rule: UNION },
  },
  {
    name: 'promoted-into-a-union',
    old: record([id, field('amount', 'int')]),
    new: record([id, field('amount', ['null', 'long'], { default: null })]),
    backward: 'compatible',
    forward: { path: 'amount', rule: UNION },
  },
  {
    name: 'union-to-non-union',
    old: record([id, field('note', ['null', 'string'], { default: null })]),
    new: record([id, field('note', 'string')]),
    backward: { path: 'note', rule: UNION },
    forward: 'compatible',
  },
  {
    name: 'union-to-wider-non-union',
    old: record([id, field('amount', ['int', 'long'])]),
    new: record([id, field('amount', 'double')]),
    backward: 'compatible',
    forward: { path: 'amount', rule: UNION },
  },
  {
    name: 'union-branch-record-gains-field-without-default',
    old: record([id, field('line', ['null', item([sku])], { default: null })]),
    new: record([id, field('line', ['null', item([sku, field('qty', 'int')])], { default: null })]),
    backward: { path: 'line.qty', rule: ADDED },
    forward: 'compatible',
  },

  // Renames: fields and types, with and without aliases.
  {
    name: 'field-renamed-with-alias',
    old: record([id, field('customer', 'string')]),
    new: record([id, field('client', 'string', { aliases: ['customer'] })]),
    backward: 'compatible',
    forward: { path: 'customer', rule: REMOVED },
  },
  {
    name: 'field-renamed-with-alias-old-had-default',
    old: record([id, field('customer', 'string', { default: '' })]),
    new: record([id, field('client', 'string', { aliases: ['customer'] })]),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'field-renamed-without-alias',
    old: record([id, field('customer', 'string')]),
    new: record([id, field('client', 'string')]),
    backward: { path: 'client', rule: ADDED },
    forward: { path: 'customer', rule: REMOVED },
  },
  {
    name: 'record-renamed-with-alias',
    old: record([id]),
    new: record([id], { name: 'PurchaseOrder', aliases: [`${NS}.Order`] }),
    backward: 'compatible',
    forward: { path: '', rule: NAME },
  },
  {
    name: 'record-renamed-without-alias',
    old: record([id]),
    new: record([id], { name: 'PurchaseOrder' }),
    backward: { path: '', rule: NAME },
    forward: { path: '', rule: NAME },
  },
  {
    name: 'record-renamed-alias-only-on-old-schema',
    old: record([id], { aliases: [`${NS}.PurchaseOrder`] }),
    new: record([id], { name: 'PurchaseOrder' }),
    backward: { path: '', rule: NAME },
    forward: 'compatible',
  },
  {
    name: 'record-namespace-changed',
    old: record([id]),
    new: record([id], { namespace: 'esflow.corpus.v2' }),
    backward: { path: '', rule: NAME },
    forward: { path: '', rule: NAME },
    registryDisagrees: namespaceDisagreement('the record'),
  },
  {
    name: 'nested-record-renamed-with-alias',
    old: record([id, field('items', { type: 'array', items: item([sku]) })]),
    new: record([
      id,
      field('items', {
        type: 'array',
        items: item([sku], { name: 'OrderLine', aliases: ['Item'] }),
      }),
    ]),
    backward: 'compatible',
    forward: { path: 'items.[]', rule: NAME },
  },

  // Nested records, arrays and maps.
  {
    name: 'nested-field-added-without-default',
    old: record([id, field('items', { type: 'array', items: item([sku]) })]),
    new: record([id, field('items', { type: 'array', items: item([sku, field('qty', 'int')]) })]),
    backward: { path: 'items.[].qty', rule: ADDED },
    forward: 'compatible',
  },
  {
    name: 'nested-field-added-with-default',
    old: record([id, field('items', { type: 'array', items: item([sku]) })]),
    new: record([
      id,
      field('items', { type: 'array', items: item([sku, field('qty', 'int', { default: 1 })]) }),
    ]),
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'nested-field-removed-without-default',
    old: record([id, field('items', { type: 'array', items: item([sku, field('qty', 'int')]) })]),
    new: record([id, field('items', { type: 'array', items: item([sku]) })]),
    backward: 'compatible',
    forward: { path: 'items.[].qty', rule: REMOVED },
  },
  {
    name: 'array-items-promoted',
    old: record([id, field('scores', { type: 'array', items: 'int' })]),
    new: record([id, field('scores', { type: 'array', items: 'long' })]),
    backward: 'compatible',
    forward: { path: 'scores.[]', rule: TYPE },
  },
  {
    name: 'map-values-promoted',
    old: record([id, field('counts', { type: 'map', values: 'int' })]),
    new: record([id, field('counts', { type: 'map', values: 'long' })]),
    backward: 'compatible',
    forward: { path: 'counts.{}', rule: TYPE },
  },
  {
    name: 'map-value-record-field-removed-without-default',
    old: record([
      id,
      field('prices', {
        type: 'map',
        values: {
          type: 'record',
          name: 'Price',
          fields: [field('amount', 'long'), field('currency', 'string')],
        },
      }),
    ]),
    new: record([
      id,
      field('prices', {
        type: 'map',
        values: { type: 'record', name: 'Price', fields: [field('amount', 'long')] },
      }),
    ]),
    backward: 'compatible',
    forward: { path: 'prices.{}.currency', rule: REMOVED },
  },
  {
    name: 'array-to-map',
    old: record([id, field('tags', { type: 'array', items: 'string' })]),
    new: record([id, field('tags', { type: 'map', values: 'string' })]),
    backward: { path: 'tags', rule: TYPE },
    forward: { path: 'tags', rule: TYPE },
  },

  // Fixed.
  {
    name: 'fixed-size-changed',
    old: record([id, field('hash', { type: 'fixed', name: 'Hash', size: 16 })]),
    new: record([id, field('hash', { type: 'fixed', name: 'Hash', size: 32 })]),
    backward: { path: 'hash', rule: SIZE },
    forward: { path: 'hash', rule: SIZE },
  },
  {
    name: 'fixed-to-bytes',
    old: record([id, field('hash', { type: 'fixed', name: 'Hash', size: 16 })]),
    new: record([id, field('hash', 'bytes')]),
    backward: { path: 'hash', rule: TYPE },
    forward: { path: 'hash', rule: TYPE },
  },
  {
    name: 'fixed-renamed-without-alias',
    old: record([id, field('hash', { type: 'fixed', name: 'Hash', size: 16 })]),
    new: record([id, field('hash', { type: 'fixed', name: 'Digest', size: 16 })]),
    backward: { path: 'hash', rule: NAME },
    forward: { path: 'hash', rule: NAME },
  },

  // Named-type recursion.
  {
    name: 'recursive-record-field-added-with-default',
    old: {
      type: 'record',
      name: 'Node',
      namespace: NS,
      fields: [field('value', 'long'), field('next', ['null', 'Node'], { default: null })],
    },
    new: {
      type: 'record',
      name: 'Node',
      namespace: NS,
      fields: [
        field('value', 'long'),
        field('next', ['null', 'Node'], { default: null }),
        field('label', 'string', { default: '' }),
      ],
    },
    backward: 'compatible',
    forward: 'compatible',
  },
  {
    name: 'recursive-record-field-added-without-default',
    old: {
      type: 'record',
      name: 'Node',
      namespace: NS,
      fields: [field('value', 'int'), field('next', ['null', 'Node'], { default: null })],
    },
    new: {
      type: 'record',
      name: 'Node',
      namespace: NS,
      fields: [
        field('value', 'long'),
        field('next', ['null', 'Node'], { default: null }),
        field('label', 'string'),
      ],
    },
    backward: { path: 'label', rule: ADDED },
    forward: { path: 'value', rule: TYPE },
  },
];
