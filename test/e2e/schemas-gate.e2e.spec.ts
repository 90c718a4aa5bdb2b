import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/** The built CLI (`npm test` builds first), run as CI runs it, in a project of its own. */
const root = resolve(__dirname, '../..');
const cli = join(root, 'apps/cli/dist/main.js');
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A project with copies of the examples' schemas, the repository's lock file and fixtures, and
 * an esflow.config.js registering the example workflows (both versions of orderFulfillment)
 * with the copied schema directories.
 */
function schemaCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-schemas-gate-'));
  dirs.push(dir);
  cpSync(join(root, 'examples/order-fulfillment/schemas'), join(dir, 'orderFulfillment'), {
    recursive: true,
  });
  cpSync(join(root, 'examples/kyc-onboarding/schemas'), join(dir, 'kycOnboarding'), {
    recursive: true,
  });
  cpSync(join(root, 'schemas/avro'), dir, { recursive: true });
  const fromRepo = (name: string) => JSON.stringify(require.resolve(name, { paths: [root] }));
  writeFileSync(
    join(dir, 'esflow.config.js'),
    `const { join } = require('node:path');
const { defineFeature } = require(${fromRepo('@esflow/core')});
const { orderFulfillment, orderFulfillmentV2 } = require(${fromRepo('@esflow/example-order-fulfillment')});
const { kycOnboarding } = require(${fromRepo('@esflow/example-kyc-onboarding')});
module.exports = {
  features: [
    defineFeature({
      workflows: [orderFulfillment, orderFulfillmentV2],
      schemas: join(__dirname, 'orderFulfillment'),
    }),
    defineFeature({ workflows: [kycOnboarding], schemas: join(__dirname, 'kycOnboarding') }),
  ],
  lockFile: 'schemas.lock.json',
};
`,
  );
  return dir;
}

function esflowIn(
  cwd: string,
  ...args: string[]
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface AvscJson {
  fields: { name: string; type: unknown; doc?: string; default?: unknown }[];
}
interface LockJson {
  subjects: Record<string, { versions: unknown[] }>;
}

function editJson<T>(path: string, edit: (json: T) => void): void {
  const json = JSON.parse(readFileSync(path, 'utf8')) as T;
  edit(json);
  writeFileSync(path, JSON.stringify(json, null, 2));
}

describe('esflow schemas check (the built CLI)', () => {
  it("passes on the repository's schemas (its esflow.config.js), with a summary table", () => {
    const run = esflowIn(root, 'schemas', 'check');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/subject\s+│ versions released │ level\s+│ status/);
    expect(run.stdout).toMatch(
      /esflow\.orderFulfillment\.OrderPlaced\s+│ v1\.\.v2 \(2\)\s+│ BACKWARD_TRANSITIVE │ unchanged/,
    );
    expect(run.stdout).toMatch(
      /esflow\.kycOnboarding\.UserCreated\s+│ v1\.\.v2 \(2\)\s+│ BACKWARD_TRANSITIVE │ unchanged/,
    );
    expect(run.stdout).toMatch(
      /esflow\.framework\.TimerScheduled\s+│ v1\s+│ BACKWARD_TRANSITIVE │ unchanged/,
    );
    expect(run.stdout).toContain('schemas check passed: 39 subjects');
  });

  it('fails a field added without a default, naming subject, versions, field and rule', () => {
    const dir = schemaCopy();
    editJson<AvscJson>(join(dir, 'orderFulfillment/OrderPlaced.avsc'), (schema) =>
      schema.fields.push({ name: 'channel', type: 'string', doc: 'Sales channel.' }),
    );
    const run = esflowIn(dir, 'schemas', 'check');
    expect(run.status).toBe(1);
    // OrderPlaced has two released versions (v2 added paymentWindowSeconds): v3 reads neither.
    expect(run.stderr).toContain(
      'esflow.orderFulfillment.OrderPlaced: field `channel` was added without a default: code on v3 cannot read v1 events',
    );
    expect(run.stderr).toContain(
      'esflow.orderFulfillment.OrderPlaced: field `channel` was added without a default: code on v3 cannot read v2 events',
    );
    expect(run.stderr).toContain('[FIELD_ADDED_WITHOUT_DEFAULT, BACKWARD_TRANSITIVE]');
    expect(run.stdout).toMatch(
      /esflow\.orderFulfillment\.OrderPlaced\s+│ v1\.\.v2 \(2\)\s+│.*│ INCOMPATIBLE/,
    );
  });

  it('fails a field without a doc, naming the file and the field', () => {
    const dir = schemaCopy();
    editJson<AvscJson>(join(dir, 'orderFulfillment/PaymentReceived.avsc'), (schema) =>
      schema.fields.push({ name: 'note', type: ['null', 'string'], default: null }),
    );
    const run = esflowIn(dir, 'schemas', 'check');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'orderFulfillment/PaymentReceived.avsc: field `note` of esflow.orderFulfillment.PaymentReceived has no "doc"',
    );
    expect(run.stderr).toContain('[FIELD_WITHOUT_DOC]');
  });

  it('fails an event the machine accepts that has no schema', () => {
    const dir = schemaCopy();
    unlinkSync(join(dir, 'orderFulfillment/GoodsFetched.avsc'));
    editJson<LockJson>(join(dir, 'schemas.lock.json'), (lock) => {
      delete lock.subjects['esflow.orderFulfillment.GoodsFetched'];
    });
    const run = esflowIn(dir, 'schemas', 'check');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'GoodsFetched is used by orderFulfillment (an event it accepts) but has no schema: add GoodsFetched.avsc to its schema directory, defining the record esflow.orderFulfillment.GoodsFetched',
    );
    expect(run.stderr).toContain('[EVENT_WITHOUT_SCHEMA]');
  });

  it('fails a schema no workflow uses, and a released schema that disappeared', () => {
    const dir = schemaCopy();
    writeFileSync(
      join(dir, 'orderFulfillment/OrderArchived.avsc'),
      JSON.stringify({
        type: 'record',
        name: 'OrderArchived',
        namespace: 'esflow.orderFulfillment',
        fields: [{ name: 'orderId', type: 'string', doc: 'The order.' }],
      }),
    );
    unlinkSync(join(dir, 'orderFulfillment/PaymentRefunded.avsc'));
    const run = esflowIn(dir, 'schemas', 'check');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'esflow.orderFulfillment.OrderArchived is not an event of any workflow',
    );
    expect(run.stderr).toContain(
      'esflow.orderFulfillment.PaymentRefunded has released versions (v1) but no .avsc defines it any more',
    );
  });

  it('says what is wrong with an unreadable lock file, without a stack trace', () => {
    const dir = schemaCopy();
    writeFileSync(join(dir, 'schemas.lock.json'), '{"lockfileVersion": 1, "subjects": []}');
    const run = esflowIn(dir, 'schemas', 'check');
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `esflow: ${join(dir, 'schemas.lock.json')}: "subjects" must be an object\n`,
    );
  });
});

describe('esflow schemas register (the built CLI)', () => {
  it('releases a compatible change as the next version in the lock file, and only that', () => {
    const dir = schemaCopy();
    const lockFile = join(dir, 'custom.lock.json');
    cpSync(join(dir, 'schemas.lock.json'), lockFile);
    editJson<AvscJson>(join(dir, 'orderFulfillment/OrderPlaced.avsc'), (schema) =>
      schema.fields.push({
        name: 'channel',
        type: 'string',
        default: 'web',
        doc: 'Sales channel.',
      }),
    );
    const check = esflowIn(dir, 'schemas', 'check', '--lock', lockFile);
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(
      /OrderPlaced\s+│ v1\.\.v2 \(2\)\s+│.*│ changed, compatible: registers as v3/,
    );

    const register = esflowIn(dir, 'schemas', 'register', '--lock', lockFile);
    expect(register.status).toBe(0);
    expect(register.stdout).toMatch(
      /esflow\.orderFulfillment\.OrderPlaced\s+│ v3\s+│ BACKWARD_TRANSITIVE/,
    );
    expect(register.stdout).toContain('registered 1 schema versions');
    const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as LockJson;
    expect(lock.subjects['esflow.orderFulfillment.OrderPlaced']?.versions).toHaveLength(3);
    // Subjects that did not change keep exactly the versions they had.
    const released = JSON.parse(readFileSync(join(dir, 'schemas.lock.json'), 'utf8')) as LockJson;
    expect(lock.subjects['esflow.orderFulfillment.PaymentReceived']?.versions).toEqual(
      released.subjects['esflow.orderFulfillment.PaymentReceived']?.versions,
    );

    const again = esflowIn(dir, 'schemas', 'check', '--lock', lockFile);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/OrderPlaced\s+│ v1\.\.v3 \(3\)\s+│.*│ unchanged/);
  });

  it('registers nothing when the check fails', () => {
    const dir = schemaCopy();
    const before = readFileSync(join(dir, 'schemas.lock.json'), 'utf8');
    editJson<AvscJson>(join(dir, 'orderFulfillment/OrderPlaced.avsc'), (schema) => {
      schema.fields.find((field) => field.name === 'amountCents')!.type = 'int';
    });
    const run = esflowIn(dir, 'schemas', 'register');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('field `amountCents` is long in v1 but int in v3');
    expect(run.stderr).toContain('field `amountCents` is long in v2 but int in v3');
    expect(run.stderr).toContain('nothing was registered');
    expect(readFileSync(join(dir, 'schemas.lock.json'), 'utf8')).toBe(before);
  });
});
