import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMachine } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, FRAMEWORK_RECORD_TYPES as FRAMEWORK_RECORDS } from '@esflow/core';
import { CompatibilityLevel } from '../compatibility/compatibility-level';
import { CompatibilityRule } from '../compatibility/compatibility-rule';
import { GateRule } from './gate-failure';
import { emptyLock, formatLock, parseLock, withReleasedVersion } from './lock-file';
import { createRegistryHistory } from './registry-history';
import { evaluateGate, GateInput, SubjectStatus, subjectsToRegister } from './schema-gate';
import { releasedFromLock, runSchemaCheck, runSchemaRegister } from './schema-gate-runner';
import { checkWorkflowCoverage } from './workflow-coverage';
import { analyzeSchemaFiles, canonicalSchema, SchemaFile } from './working-tree';

/** A workflow `shop`: starts with OrderPlaced, accepts PaymentReceived, emits ShipGoods. */
const shop = defineWorkflow({
  name: 'shop',
  version: 1,
  machine: createMachine({
    id: 'shop',
    initial: 'open',
    states: { open: { on: { PaymentReceived: 'paid' } }, paid: { type: 'final' } },
  }),
  startEvent: 'OrderPlaced',
  commands: ['ShipGoods'],
});

type FieldSpec = { name: string; type: unknown; doc?: string; default?: unknown };

function recordFile(
  file: string,
  name: string,
  fields: FieldSpec[],
  namespace = 'esflow.shop',
): SchemaFile {
  const withDocs = fields.map((field) => ({ doc: `the ${field.name}`, ...field }));
  return {
    file,
    text: JSON.stringify({ type: 'record', name, namespace, fields: withDocs }),
  };
}

// A stand-in schema for each framework fact of @esflow/core: the gate requires them all.
const framework = FRAMEWORK_RECORDS.map((type) =>
  recordFile(`framework/${type}.avsc`, type, [{ name: 'id', type: 'string' }], 'esflow.framework'),
);

const shopFiles = (orderFields: FieldSpec[] = [{ name: 'orderId', type: 'string' }]) => [
  ...framework,
  recordFile('shop/OrderPlaced.avsc', 'OrderPlaced', [
    ...orderFields,
    { name: 'lines', type: { type: 'array', items: 'Line' } },
  ]),
  recordFile('shop/Line.avsc', 'Line', [
    { name: 'sku', type: 'string' },
    {
      name: 'kind',
      type: { type: 'enum', name: 'Kind', symbols: ['GOOD', 'SERVICE', 'OTHER'], default: 'OTHER' },
    },
  ]),
  recordFile('shop/PaymentReceived.avsc', 'PaymentReceived', [
    { name: 'paymentId', type: 'string' },
  ]),
  recordFile('shop/ShipGoods.avsc', 'ShipGoods', [{ name: 'orderId', type: 'string' }]),
];

describe('analyzeSchemaFiles', () => {
  it('expands each record into a self-contained schema with full names, keeping enum defaults', () => {
    const tree = analyzeSchemaFiles(shopFiles());
    expect(tree.failures).toEqual([]);
    const placed = tree.schemas.find((schema) => schema.subject === 'esflow.shop.OrderPlaced')!;
    const json = JSON.parse(placed.schema);
    expect(json.name).toBe('esflow.shop.OrderPlaced');
    expect(json.namespace).toBeUndefined();
    expect(json.fields[1].type.items).toMatchObject({
      name: 'esflow.shop.Line',
      fields: [
        { name: 'sku' },
        { name: 'kind', type: { name: 'esflow.shop.Kind', default: 'OTHER' } },
      ],
    });
    expect(placed.nestedNames).toEqual(['esflow.shop.Line', 'esflow.shop.Kind']);
  });

  it('defines a type once and references it by full name afterwards; qualifies aliases', () => {
    const tree = analyzeSchemaFiles([
      recordFile('a/Pair.avsc', 'Pair', [
        { name: 'left', type: 'Point' },
        { name: 'right', type: 'Point' },
      ]),
      {
        file: 'a/Point.avsc',
        text: JSON.stringify({
          type: 'record',
          name: 'Point',
          namespace: 'esflow.shop',
          aliases: ['Spot'],
          fields: [{ name: 'x', type: 'int', doc: 'x' }],
        }),
      },
    ]);
    expect(tree.failures).toEqual([]);
    const pair = JSON.parse(tree.schemas.find((s) => s.subject === 'esflow.shop.Pair')!.schema);
    expect(pair.fields[0].type).toMatchObject({
      name: 'esflow.shop.Point',
      aliases: ['esflow.shop.Spot'],
    });
    expect(pair.fields[1].type).toBe('esflow.shop.Point');
  });

  it('says which file is not JSON, not a named record, not valid Avro, or lacks a field doc', () => {
    const tree = analyzeSchemaFiles([
      { file: 'x/Broken.avsc', text: '{"type": "record",' },
      { file: 'x/Enum.avsc', text: '{"type": "enum", "name": "E", "symbols": ["A"]}' },
      recordFile('x/Unknown.avsc', 'Unknown', [{ name: 'a', type: 'esflow.shop.Missing' }]),
      recordFile('x/BadDefault.avsc', 'BadDefault', [{ name: 'n', type: 'int', default: 'one' }]),
      {
        file: 'x/NoDoc.avsc',
        text: JSON.stringify({
          type: 'record',
          name: 'NoDoc',
          namespace: 'esflow.shop',
          fields: [
            { name: 'documented', type: 'string', doc: 'yes' },
            {
              name: 'inner',
              doc: 'an inner record',
              type: { type: 'record', name: 'Inner', fields: [{ name: 'bare', type: 'int' }] },
            },
          ],
        }),
      },
    ]);
    expect(tree.failures.map((failure) => [failure.rule, failure.file, failure.field])).toEqual([
      [GateRule.InvalidJson, 'x/Broken.avsc', undefined],
      [GateRule.NotANamedRecord, 'x/Enum.avsc', undefined],
      [GateRule.FieldWithoutDoc, 'x/NoDoc.avsc', 'bare'],
      [GateRule.InvalidSchema, 'x/Unknown.avsc', undefined],
      [GateRule.InvalidSchema, 'x/BadDefault.avsc', undefined],
    ]);
    expect(tree.failures[2]!.message).toBe(
      'x/NoDoc.avsc: field `bare` of esflow.shop.Inner has no "doc"; say what it holds for the readers of this event',
    );
    expect(tree.failures[3]!.message).toContain('unknown type `esflow.shop.Missing`');
    expect(tree.schemas.map((schema) => schema.subject)).toEqual(['esflow.shop.NoDoc']);
  });

  it('refuses a full name defined by two files', () => {
    const tree = analyzeSchemaFiles([
      recordFile('a/Dup.avsc', 'Dup', [{ name: 'a', type: 'string' }]),
      recordFile('b/Dup.avsc', 'Dup', [{ name: 'b', type: 'string' }]),
    ]);
    expect(tree.failures).toEqual([
      expect.objectContaining({ rule: GateRule.DuplicateName, file: 'b/Dup.avsc' }),
    ]);
  });
});

describe('canonicalSchema', () => {
  it('ignores how names and primitives are written, but not docs or defaults', () => {
    const short = JSON.stringify({
      type: 'record',
      name: 'R',
      namespace: 'a.b',
      fields: [{ name: 'x', type: { type: 'string' }, doc: 'd' }],
    });
    const full = JSON.stringify({
      fields: [{ doc: 'd', type: 'string', name: 'x' }],
      name: 'a.b.R',
      type: 'record',
    });
    expect(canonicalSchema(short)).toBe(canonicalSchema(full));
    expect(canonicalSchema(short)).not.toBe(canonicalSchema(full.replace('"d"', '"other"')));
  });
});

describe('the lock file', () => {
  it('round-trips, sorted by subject, with the default level for new subjects', () => {
    let lock = emptyLock();
    lock = withReleasedVersion(lock, 'b.B', '{"type":"record","name":"b.B","fields":[]}');
    lock = withReleasedVersion(lock, 'a.A', '{"type":"record","name":"a.A","fields":[]}', 'FULL');
    lock = withReleasedVersion(lock, 'b.B', '{"type":"record","name":"b.B","fields":[]}');
    const text = formatLock(lock);
    expect(Object.keys(JSON.parse(text).subjects)).toEqual(['a.A', 'b.B']);
    const parsed = parseLock(text);
    expect(parsed).toEqual(lock);
    expect(parsed.subjects['b.B']).toMatchObject({
      level: CompatibilityLevel.BackwardTransitive,
      versions: [{ version: 1 }, { version: 2 }],
    });
    expect(releasedFromLock(parsed).get('a.A')?.level).toBe('FULL');
  });

  it('names what is wrong in a hand-edited lock file', () => {
    const bad = (subjects: unknown, extra: object = {}) =>
      JSON.stringify({ lockfileVersion: 1, subjects, ...extra });
    expect(() => parseLock('{', 'lock.json')).toThrow(/lock\.json: not valid JSON/);
    expect(() => parseLock('{}', 'lock.json')).toThrow(/lockfileVersion/);
    expect(() => parseLock(bad({}, { defaultLevel: 'SOMETIMES' }))).toThrow(
      /"defaultLevel" must be one of BACKWARD/,
    );
    expect(() => parseLock(bad({ 'a.A': { level: 'X', versions: [] } }))).toThrow(
      /subject a\.A: "level"/,
    );
    expect(() => parseLock(bad({ 'a.A': { versions: [{ version: 2, schema: '{}' }] } }))).toThrow(
      /subject a\.A: versions\[0\] must be \{ "version": 1/,
    );
  });
});

describe('evaluateGate', () => {
  const released = (files: SchemaFile[]) => {
    const tree = analyzeSchemaFiles(files);
    return new Map(
      tree.schemas.map((schema) => [
        schema.subject,
        {
          level: CompatibilityLevel.BackwardTransitive as CompatibilityLevel,
          versions: [{ version: 1, schema: schema.schema }],
        },
      ]),
    );
  };
  const input = (files: SchemaFile[], overrides: Partial<GateInput> = {}): GateInput => ({
    tree: analyzeSchemaFiles(files),
    released: released(shopFiles()),
    defaultLevel: CompatibilityLevel.BackwardTransitive,
    workflows: [shop],
    releasedSubjectsMustExist: true,
    ...overrides,
  });

  it('passes an unchanged tree and has nothing to register', () => {
    const report = evaluateGate(input(shopFiles()));
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(new Set(report.subjects.map((subject) => subject.status))).toEqual(
      new Set([SubjectStatus.Unchanged]),
    );
    expect(subjectsToRegister(report)).toEqual([]);
  });

  it('passes a compatible change and registers it as the next version', () => {
    const report = evaluateGate(
      input(
        shopFiles([
          { name: 'orderId', type: 'string' },
          { name: 'note', type: 'string', default: '' },
        ]),
      ),
    );
    expect(report.ok).toBe(true);
    expect(subjectsToRegister(report).map((subject) => [subject.subject, subject.status])).toEqual([
      ['esflow.shop.OrderPlaced', SubjectStatus.Changed],
    ]);
  });

  it('fails an incompatible change, naming subject, versions, field and rule', () => {
    const report = evaluateGate(
      input(
        shopFiles([
          { name: 'orderId', type: 'string' },
          { name: 'currency', type: 'string' },
        ]),
      ),
    );
    expect(report.ok).toBe(false);
    expect(report.failures).toEqual([
      expect.objectContaining({
        rule: CompatibilityRule.FieldAddedWithoutDefault,
        subject: 'esflow.shop.OrderPlaced',
        file: 'shop/OrderPlaced.avsc',
        field: 'currency',
        againstVersion: 1,
        direction: 'backward',
        message: expect.stringContaining(
          'esflow.shop.OrderPlaced: field `currency` was added without a default: code on v2 cannot read v1 events',
        ),
      }),
    ]);
    expect(report.subjects.find((s) => s.subject === 'esflow.shop.OrderPlaced')?.status).toBe(
      SubjectStatus.Incompatible,
    );
    expect(subjectsToRegister(report)).toEqual([]);
  });

  it("uses each subject's own level: NONE lets anything through, FORWARD checks the other way", () => {
    const breaking = shopFiles([{ name: 'currency', type: 'string' }]); // orderId removed, currency added
    const withLevel = (level: CompatibilityLevel) => {
      const map = released(shopFiles());
      map.set('esflow.shop.OrderPlaced', { ...map.get('esflow.shop.OrderPlaced')!, level });
      return evaluateGate(input(breaking, { released: map }));
    };
    expect(withLevel(CompatibilityLevel.None).ok).toBe(true);
    expect(withLevel(CompatibilityLevel.Forward).failures).toEqual([
      expect.objectContaining({
        rule: CompatibilityRule.FieldRemovedWithoutDefault,
        field: 'orderId',
      }),
    ]);
  });

  it('fails a released subject whose schema is gone, unless the history is a shared registry', () => {
    const withoutShipGoods = shopFiles().filter((file) => !file.file.endsWith('ShipGoods.avsc'));
    const report = evaluateGate(input(withoutShipGoods, { workflows: [] }));
    const rules = report.failures.map((failure) => [failure.rule, failure.subject]);
    expect(rules).toContainEqual([GateRule.SubjectRemoved, 'esflow.shop.ShipGoods']);
    const shared = evaluateGate(
      input(withoutShipGoods, { workflows: [], releasedSubjectsMustExist: false }),
    );
    expect(shared.failures.map((failure) => failure.rule)).not.toContain(GateRule.SubjectRemoved);
  });
});

describe('checkWorkflowCoverage', () => {
  it('passes when every event has a schema and every schema is an event or used inside one', () => {
    expect(checkWorkflowCoverage([shop], analyzeSchemaFiles(shopFiles()).schemas)).toEqual([]);
  });

  it('reports both directions: events without schemas and schemas of no workflow', () => {
    const files = [
      ...shopFiles().filter((file) => !/(PaymentReceived|CommandDispatched)/.test(file.file)),
      recordFile('shop/Stray.avsc', 'Stray', [{ name: 'a', type: 'string' }]),
      recordFile('other/Lost.avsc', 'Lost', [{ name: 'a', type: 'string' }], 'esflow.other'),
    ];
    const failures = checkWorkflowCoverage([shop], analyzeSchemaFiles(files).schemas);
    expect(failures.map((failure) => [failure.rule, failure.subject])).toEqual([
      [GateRule.EventWithoutSchema, 'esflow.shop.PaymentReceived'],
      [GateRule.EventWithoutSchema, 'esflow.framework.CommandDispatched'],
      [GateRule.SchemaWithoutWorkflow, 'esflow.shop.Stray'],
      [GateRule.SchemaWithoutWorkflow, 'esflow.other.Lost'],
    ]);
    expect(failures[0]!.message).toBe(
      'PaymentReceived is used by shop (an event it accepts) but has no schema: add PaymentReceived.avsc to its schema directory, defining the record esflow.shop.PaymentReceived',
    );
    expect(failures[2]!.message).toContain('shop neither starts with it, accepts it nor emits it');
    expect(failures[3]!.message).toContain('no workflow has the namespace esflow.other');
  });

  it("counts the output record of an invoked command as the workflow's, and requires it", () => {
    const invoking = defineWorkflow({
      name: 'shop',
      version: 1,
      machine: createMachine({
        id: 'shop',
        initial: 'open',
        states: {
          open: { on: { PaymentReceived: 'shipping' } },
          shipping: { invoke: { id: 'ship', src: 'shipGoods', onDone: 'done' } },
          done: { type: 'final' },
        },
      }),
      startEvent: 'OrderPlaced',
      invokes: { shipGoods: { command: 'ShipGoods', output: 'GoodsShipped' } },
    });
    const shipped = recordFile('shop/GoodsShipped.avsc', 'GoodsShipped', [
      { name: 'trackingId', type: 'string' },
    ]);
    const schemas = analyzeSchemaFiles([...shopFiles(), shipped]).schemas;
    expect(checkWorkflowCoverage([invoking], schemas)).toEqual([]);
    // Without the workflow's invoke, the same record belongs to nobody.
    expect(checkWorkflowCoverage([shop], schemas).map((failure) => failure.subject)).toEqual([
      'esflow.shop.GoodsShipped',
    ]);
    const missing = checkWorkflowCoverage([invoking], analyzeSchemaFiles(shopFiles()).schemas);
    expect(missing.map((failure) => [failure.rule, failure.message])).toEqual([
      [
        GateRule.EventWithoutSchema,
        expect.stringContaining('GoodsShipped is used by shop (the output of an actor it invokes)'),
      ],
    ]);
  });
});

describe('createRegistryHistory (Confluent REST API)', () => {
  interface Call {
    method: string;
    url: string;
    body?: unknown;
  }
  function fakeRegistry(routes: Record<string, [number, unknown]>) {
    const calls: Call[] = [];
    const fetchFn = (async (url: string, init: RequestInit) => {
      const path = url.replace('http://registry/apis/ccompat/v7', '');
      calls.push({
        method: init.method ?? 'GET',
        url: path,
        ...(init.body ? { body: JSON.parse(String(init.body)) } : {}),
      });
      const [status, body] = routes[`${init.method} ${path}`] ?? [404, { error_code: 40401 }];
      return new Response(body === undefined ? '' : JSON.stringify(body), { status });
    }) as unknown as typeof fetch;
    return { calls, history: createRegistryHistory('http://registry/apis/ccompat/v7/', fetchFn) };
  }

  it("reads versions and the subject's level (falling back to the global one)", async () => {
    const { history } = fakeRegistry({
      'GET /subjects/a.A/versions': [200, [2, 1]],
      'GET /subjects/a.A/versions/1': [200, { schema: '"string"' }],
      'GET /subjects/a.A/versions/2': [200, { schema: '"bytes"' }],
      'GET /config/a.A?defaultToGlobal=true': [404, { error_code: 40408 }],
      'GET /config': [200, { compatibilityLevel: 'FULL' }],
    });
    const released = await history.released(['a.A', 'b.B']);
    expect([...released.keys()]).toEqual(['a.A']);
    expect(released.get('a.A')).toEqual({
      level: 'FULL',
      versions: [
        { version: 1, schema: '"string"' },
        { version: 2, schema: '"bytes"' },
      ],
    });
  });

  it('gives a new subject its level before registering it', async () => {
    const { calls, history } = fakeRegistry({
      'PUT /config/a.A': [200, { compatibility: 'BACKWARD_TRANSITIVE' }],
      'POST /subjects/a.A/versions': [200, { id: 7 }],
      'POST /subjects/a.A': [200, { subject: 'a.A', version: 1, id: 7 }],
    });
    expect(await history.register('a.A', '"string"')).toEqual({
      subject: 'a.A',
      version: 1,
      id: 7,
    });
    expect(calls.map((call) => `${call.method} ${call.url}`)).toEqual([
      'GET /subjects/a.A/versions',
      'PUT /config/a.A',
      'POST /subjects/a.A/versions',
      'POST /subjects/a.A',
    ]);
    expect(calls[1]!.body).toEqual({ compatibility: 'BACKWARD_TRANSITIVE' });
  });

  it("reports the registry's refusal and an unreachable registry in words", async () => {
    const { history } = fakeRegistry({
      'GET /subjects/a.A/versions': [200, [1]],
      'POST /subjects/a.A/versions': [409, { error_code: 409, message: 'incompatible' }],
    });
    await expect(history.register('a.A', '"string"')).rejects.toThrow(
      /REGISTRY_REJECTED.*incompatible/,
    );
    const down = createRegistryHistory('http://127.0.0.1:1', (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch);
    await expect(down.released(['a.A'])).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('unreachable'),
    });
  });
});

describe('runSchemaCheck / runSchemaRegister (files)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  /** The workflow's own files; the runner reads the framework's schemas from @esflow/core. */
  const writeTree = (files: SchemaFile[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'esflow-gate-'));
    dirs.push(dir);
    for (const file of files.filter((f) => !f.file.startsWith('framework/'))) {
      mkdirSync(join(dir, file.file, '..'), { recursive: true });
      writeFileSync(join(dir, file.file), file.text);
    }
    return dir;
  };

  it('registers version 1 of everything, then versions only what changed', async () => {
    const dir = writeTree(shopFiles());
    const options = {
      schemaDirectories: [dir],
      lockFile: join(dir, 'schemas.lock.json'),
      workflows: [shop],
    };
    const first = await runSchemaRegister(options);
    expect(first.report.ok).toBe(true);
    // Every framework fact (from @esflow/core) and shop's four subjects:
    expect(first.registered.map((registered) => registered.subject).sort()).toEqual([
      ...FRAMEWORK_RECORDS.map((type) => `esflow.framework.${type}`).sort(),
      'esflow.shop.Line',
      'esflow.shop.OrderPlaced',
      'esflow.shop.PaymentReceived',
      'esflow.shop.ShipGoods',
    ]);
    expect((await runSchemaCheck(options)).report.ok).toBe(true);

    // The same directory, changed compatibly:
    const changed = shopFiles([
      { name: 'orderId', type: 'string' },
      { name: 'note', type: 'string', default: '' },
    ]);
    writeFileSync(
      join(dir, 'shop/OrderPlaced.avsc'),
      changed.find((f) => f.file === 'shop/OrderPlaced.avsc')!.text,
    );
    const second = await runSchemaRegister(options);
    expect(second.registered).toEqual([
      { subject: 'esflow.shop.OrderPlaced', version: 2, level: 'BACKWARD_TRANSITIVE' },
    ]);
    const lock = parseLock(readFileSync(options.lockFile, 'utf8'));
    expect(lock.subjects['esflow.shop.OrderPlaced']!.versions).toHaveLength(2);
    expect(lock.subjects['esflow.shop.Line']!.versions).toHaveLength(1);
  });

  it('registers nothing when the check fails', async () => {
    const dir = writeTree(shopFiles());
    const options = {
      schemaDirectories: [dir],
      lockFile: join(dir, 'schemas.lock.json'),
      workflows: [shop],
    };
    await runSchemaRegister(options);
    const before = readFileSync(options.lockFile, 'utf8');
    const breaking = shopFiles([{ name: 'orderId', type: 'int' }]);
    writeFileSync(
      join(dir, 'shop/OrderPlaced.avsc'),
      breaking.find((f) => f.file === 'shop/OrderPlaced.avsc')!.text,
    );
    const run = await runSchemaRegister(options);
    expect(run.report.ok).toBe(false);
    expect(run.registered).toEqual([]);
    expect(readFileSync(options.lockFile, 'utf8')).toBe(before);
  });
});
