import * as avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { checkCompatibility } from './check-compatibility';
import { CompatibilityLevel } from './compatibility-level';
import { CompatibilityRule } from './compatibility-rule';
import { COMPATIBILITY_CORPUS, CorpusPair, Verdict } from './corpus';
import { readerCanRead } from './reader-can-read';

const subject = 'esflow.corpus.Order';

function verdictOf(pair: CorpusPair, level: CompatibilityLevel) {
  return checkCompatibility(
    subject,
    JSON.stringify(pair.new),
    [{ version: 1, schema: JSON.stringify(pair.old) }],
    level,
  );
}

function expectVerdict(report: ReturnType<typeof checkCompatibility>, expected: Verdict): void {
  if (expected === 'compatible') {
    expect(report.issues).toEqual([]);
    expect(report.compatible).toBe(true);
    return;
  }
  expect(report.compatible).toBe(false);
  expect(report.issues[0]).toMatchObject({ path: expected.path, rule: expected.rule });
  // The message names the field (or the top-level type), both versions and the rule.
  const message = report.issues[0]!.message;
  expect(message).toContain(expected.path === '' ? 'the top-level type' : `\`${expected.path}\``);
  expect(message).toContain(subject);
  expect(message).toMatch(/v1\b/);
  expect(message).toMatch(/v2\b/);
  expect(message).toContain(expected.rule);
}

describe('the compatibility corpus', () => {
  it('has at least 30 uniquely named pairs', () => {
    expect(COMPATIBILITY_CORPUS.length).toBeGreaterThanOrEqual(30);
    const names = COMPATIBILITY_CORPUS.map((pair) => pair.name);
    expect(new Set(names).size).toBe(names.length);
  });

  describe.each(COMPATIBILITY_CORPUS.map((pair) => [pair.name, pair] as const))('%s', (_, pair) => {
    it('BACKWARD: the new schema reads old data as expected', () => {
      expectVerdict(verdictOf(pair, CompatibilityLevel.Backward), pair.backward);
    });

    it('FORWARD: the old schema reads new data as expected', () => {
      expectVerdict(verdictOf(pair, CompatibilityLevel.Forward), pair.forward);
    });

    it('FULL holds exactly when BACKWARD and FORWARD both do', () => {
      const full = verdictOf(pair, CompatibilityLevel.Full);
      expect(full.compatible).toBe(pair.backward === 'compatible' && pair.forward === 'compatible');
      expect(new Set(full.issues.map((issue) => issue.direction))).toEqual(
        new Set([
          ...(pair.backward === 'compatible' ? [] : ['backward']),
          ...(pair.forward === 'compatible' ? [] : ['forward']),
        ]),
      );
    });

    it("agrees with avsc, esflow's runtime decoder, in both directions", () => {
      const oldType = avro.Type.forSchema(pair.old as avro.Schema);
      const newType = avro.Type.forSchema(pair.new as avro.Schema);
      const resolves = (reader: avro.Type, writer: avro.Type) => {
        try {
          reader.createResolver(writer);
          return true;
        } catch {
          return false;
        }
      };
      expect(resolves(newType, oldType)).toBe(pair.backward === 'compatible');
      expect(resolves(oldType, newType)).toBe(pair.forward === 'compatible');
    });
  });
});

const order = (fields: object[], extra: object = {}) =>
  JSON.stringify({ type: 'record', name: 'Order', namespace: 'esflow.corpus', fields, ...extra });

describe('checkCompatibility', () => {
  const v1 = order([{ name: 'id', type: 'string' }]);
  const v2 = order([
    { name: 'id', type: 'string' },
    { name: 'currency', type: 'string', default: 'EUR' },
  ]);
  // Fits v2 (currency exists there) but not v1 (no currency, no default).
  const v3 = order([
    { name: 'id', type: 'string' },
    { name: 'currency', type: 'string' },
  ]);
  const released = [
    { version: 1, schema: v1 },
    { version: 2, schema: v2 },
  ];

  it('BACKWARD checks the latest version only; BACKWARD_TRANSITIVE checks every one', () => {
    expect(checkCompatibility(subject, v3, released, CompatibilityLevel.Backward).compatible).toBe(
      true,
    );
    const transitive = checkCompatibility(
      subject,
      v3,
      released,
      CompatibilityLevel.BackwardTransitive,
    );
    expect(transitive.compatible).toBe(false);
    expect(transitive.issues).toEqual([
      {
        subject,
        againstVersion: 1,
        direction: 'backward',
        path: 'currency',
        rule: CompatibilityRule.FieldAddedWithoutDefault,
        message: expect.stringContaining(
          'field `currency` was added without a default: code on v3 cannot read v1 events',
        ),
      },
    ]);
  });

  it('FORWARD_TRANSITIVE asks every released version to read the candidate', () => {
    const dropsCurrency = order([{ name: 'id', type: 'string' }]);
    const withRequired = [
      { version: 1, schema: v1 },
      { version: 2, schema: v3 },
    ];
    const report = checkCompatibility(
      subject,
      dropsCurrency,
      withRequired,
      CompatibilityLevel.ForwardTransitive,
    );
    expect(report.issues.map((issue) => [issue.againstVersion, issue.rule, issue.path])).toEqual([
      [2, CompatibilityRule.FieldRemovedWithoutDefault, 'currency'],
    ]);
    expect(report.issues[0]!.message).toContain(
      'field `currency` was removed, but v2 declares it without a default: code on v2 cannot read v3 events',
    );
  });

  it('NONE checks nothing, and a subject without released versions is compatible', () => {
    expect(checkCompatibility(subject, v3, released, CompatibilityLevel.None)).toEqual({
      compatible: true,
      issues: [],
    });
    expect(checkCompatibility(subject, v3, [], CompatibilityLevel.FullTransitive).compatible).toBe(
      true,
    );
  });

  it('uses the latest version by number, whatever the order given', () => {
    const report = checkCompatibility(
      subject,
      v3,
      [...released].reverse(),
      CompatibilityLevel.Backward,
    );
    expect(report.compatible).toBe(true);
  });

  it('throws INVALID_DEFINITION for a schema that is not Avro', () => {
    expect(() =>
      checkCompatibility(subject, '{"type":"record"}', released, CompatibilityLevel.Backward),
    ).toThrow(expect.objectContaining({ code: 'INVALID_DEFINITION' }));
  });
});

describe('readerCanRead', () => {
  it('reports every break, each with its path', () => {
    const writer = order([
      { name: 'qty', type: 'long' },
      { name: 'tags', type: { type: 'array', items: 'string' } },
    ]);
    const reader = order([
      { name: 'qty', type: 'int' },
      { name: 'tags', type: { type: 'array', items: 'int' } },
      { name: 'currency', type: 'string' },
    ]);
    expect(readerCanRead(reader, writer).map((issue) => [issue.path, issue.rule])).toEqual([
      ['qty', CompatibilityRule.TypeMismatch],
      ['tags.[]', CompatibilityRule.TypeMismatch],
      ['currency', CompatibilityRule.FieldAddedWithoutDefault],
    ]);
  });

  it('names the missing enum symbols', () => {
    const status = (symbols: string[]) =>
      order([{ name: 'status', type: { type: 'enum', name: 'Status', symbols } }]);
    const [issue] = readerCanRead(status(['A']), status(['A', 'B', 'C']));
    expect(issue).toMatchObject({ rule: CompatibilityRule.EnumSymbolMissing, names: ['B', 'C'] });
    expect(issue!.message).toContain('B, C');
  });

  it('refuses a reader field whose aliases match several writer fields', () => {
    const writer = order([
      { name: 'a', type: 'string' },
      { name: 'b', type: 'string' },
    ]);
    const reader = order([{ name: 'a', type: 'string', aliases: ['b'] }]);
    expect(readerCanRead(reader, writer)).toEqual([
      expect.objectContaining({ path: 'a', rule: CompatibilityRule.FieldAliasAmbiguous }),
    ]);
  });

  it('terminates on mutually recursive named types and still finds breaks inside them', () => {
    const tree = (leafType: string) =>
      order([
        {
          name: 'root',
          type: {
            type: 'record',
            name: 'Branch',
            fields: [
              { name: 'leaf', type: leafType },
              {
                name: 'children',
                type: {
                  type: 'array',
                  items: {
                    type: 'record',
                    name: 'Twig',
                    fields: [{ name: 'parent', type: ['null', 'Branch'], default: null }],
                  },
                },
              },
            ],
          },
        },
      ]);
    expect(readerCanRead(tree('long'), tree('int'))).toEqual([]);
    expect(readerCanRead(tree('int'), tree('long')).map((issue) => issue.path)).toEqual([
      'root.leaf',
    ]);
  });

  it('reads logical types as their underlying type', () => {
    const ts = order([{ name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } }]);
    const plain = order([{ name: 'at', type: 'long' }]);
    expect(readerCanRead(ts, plain)).toEqual([]);
    expect(readerCanRead(plain, ts)).toEqual([]);
  });
});
