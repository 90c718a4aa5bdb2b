import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAMEWORK_RECORD_TYPES } from '@esflow/core';
import {
  checkCompatibility,
  CompatibilityLevel,
  CompatibilityRule,
  runSchemaCheck,
  runSchemaRegister,
} from '@esflow/schemas';
import {
  ORDER_FULFILLMENT_SCHEMAS,
  orderFulfillment,
  orderFulfillmentV2,
} from '@esflow/example-order-fulfillment';
// eslint-disable-next-line no-restricted-imports -- the corpus is @esflow/schemas' own test data, shared with its unit test
import { COMPATIBILITY_CORPUS } from '../../libs/schemas/src/compatibility/corpus';
import { SchemaRegistryServer, startSchemaRegistry } from '../support/infra/schema-registry.mjs';

/**
 * esflow's Avro compatibility checker against a real registry (Apicurio Registry's Confluent
 * API, whose checker is Avro Java 1.12's SchemaCompatibility): for every corpus pair and for
 * BACKWARD and FORWARD, both must give the corpus's verdict, except where the corpus documents
 * the registry's different answer (`registryDisagrees`), which must then be exactly that.
 */
let registry: SchemaRegistryServer;
const run = randomUUID().slice(0, 8);

beforeAll(async () => {
  registry = await startSchemaRegistry();
});
afterAll(async () => {
  await registry?.stop();
});

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

async function sr(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${registry.url}${path}`, {
    method,
    headers: { 'Content-Type': CONTENT_TYPE, Accept: CONTENT_TYPE },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const subjectPath = (subject: string) => encodeURIComponent(subject);

async function registerWithLevel(subject: string, level: string, schemas: object[]): Promise<void> {
  expect(
    (await sr('PUT', `/config/${subjectPath(subject)}`, { compatibility: level })).status,
  ).toBe(200);
  for (const schema of schemas) {
    const registered = await sr('POST', `/subjects/${subjectPath(subject)}/versions`, {
      schema: JSON.stringify(schema),
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(200);
  }
}

async function registryVerdict(subject: string, candidate: object, path = 'versions/latest') {
  const answer = await sr('POST', `/compatibility/subjects/${subjectPath(subject)}/${path}`, {
    schema: JSON.stringify(candidate),
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return (answer.body as { is_compatible: boolean }).is_compatible;
}

describe('the compatibility corpus against a real registry (Apicurio, Avro Java 1.12)', () => {
  const cases = COMPATIBILITY_CORPUS.flatMap((pair) =>
    (['BACKWARD', 'FORWARD'] as const).map((level) => [pair.name, level, pair] as const),
  );

  it.each(cases)('%s under %s', async (name, level, pair) => {
    const subject = `esflow.corpus.${run}.${name}.${level}`;
    await registerWithLevel(subject, level, [pair.old]);
    const registrySays = await registryVerdict(subject, pair.new);
    const ours = checkCompatibility(
      subject,
      JSON.stringify(pair.new),
      [{ version: 1, schema: JSON.stringify(pair.old) }],
      level,
    ).compatible;
    const expected = (level === 'BACKWARD' ? pair.backward : pair.forward) === 'compatible';
    expect(ours).toBe(expected);
    const documented = pair.registryDisagrees?.find((item) => item.level === level);
    if (documented) {
      // The registry still answers what the corpus says it does, and we still differ.
      expect({ registrySays, ours }).toEqual({
        registrySays: documented.registrySays,
        ours: !documented.registrySays,
      });
    } else {
      expect(registrySays, `registry and checker disagree on ${name} (${level})`).toBe(ours);
    }
  });
});

describe('transitive levels against a real registry', () => {
  const record = (fields: object[]) => ({
    type: 'record',
    name: 'Order',
    namespace: 'esflow.transitive',
    fields: [{ name: 'id', type: 'string' }, ...fields],
  });
  const v1 = record([]);
  const v2 = record([{ name: 'currency', type: 'string', default: 'EUR' }]);
  // Readable by v2's data (currency is there) but not v1's (no currency, and no default).
  const v3 = record([{ name: 'currency', type: 'string' }]);
  const released = [v1, v2].map((schema, index) => ({
    version: index + 1,
    schema: JSON.stringify(schema),
  }));

  it('BACKWARD_TRANSITIVE: v3 fits v2 but not v1; the registry refuses it, and so do we', async () => {
    const subject = `esflow.transitive.${run}.BackwardTransitive`;
    await registerWithLevel(subject, 'BACKWARD_TRANSITIVE', [v1, v2]);
    // Against the latest version alone, v3 is fine (both of us agree)...
    expect(await registryVerdict(subject, v3, 'versions/latest')).toBe(true);
    expect(
      checkCompatibility(subject, JSON.stringify(v3), released, CompatibilityLevel.Backward)
        .compatible,
    ).toBe(true);
    // ...against every version it is not: the registry's check of all versions, its refusal to
    // register, and our transitive check, which names v1 and the field.
    expect(await registryVerdict(subject, v3, 'versions')).toBe(false);
    const refused = await sr('POST', `/subjects/${subjectPath(subject)}/versions`, {
      schema: JSON.stringify(v3),
    });
    expect(refused.status).toBe(409);
    const ours = checkCompatibility(
      subject,
      JSON.stringify(v3),
      released,
      CompatibilityLevel.BackwardTransitive,
    );
    expect(ours.compatible).toBe(false);
    expect(ours.issues).toEqual([
      expect.objectContaining({
        againstVersion: 1,
        direction: 'backward',
        path: 'currency',
        rule: CompatibilityRule.FieldAddedWithoutDefault,
        message: expect.stringContaining('code on v3 cannot read v1 events'),
      }),
    ]);
  });

  it('FORWARD_TRANSITIVE: dropping a field v1 requires fails against v1 only', async () => {
    const subject = `esflow.transitive.${run}.ForwardTransitive`;
    const f1 = record([{ name: 'currency', type: 'string' }]);
    const f2 = record([
      { name: 'currency', type: 'string' },
      { name: 'note', type: 'string' },
    ]);
    const f3 = record([{ name: 'note', type: 'string' }]); // drops currency, required by v1 and v2
    await registerWithLevel(subject, 'FORWARD_TRANSITIVE', [f1, f2]);
    const fReleased = [f1, f2].map((schema, index) => ({
      version: index + 1,
      schema: JSON.stringify(schema),
    }));
    const ours = checkCompatibility(
      subject,
      JSON.stringify(f3),
      fReleased,
      CompatibilityLevel.ForwardTransitive,
    );
    expect(ours.issues.map((issue) => [issue.againstVersion, issue.rule, issue.path])).toEqual([
      [1, CompatibilityRule.FieldRemovedWithoutDefault, 'currency'],
      [2, CompatibilityRule.FieldRemovedWithoutDefault, 'currency'],
    ]);
    expect(await registryVerdict(subject, f3, 'versions')).toBe(false);
    expect(
      (
        await sr('POST', `/subjects/${subjectPath(subject)}/versions`, {
          schema: JSON.stringify(f3),
        })
      ).status,
    ).toBe(409);
  });
});

describe('the CI gate with --registry against a real registry', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'esflow-gate-registry-'));
    cpSync(ORDER_FULFILLMENT_SCHEMAS, join(dir, 'orderFulfillment'), { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const options = () => ({
    schemaDirectories: [dir],
    lockFile: join(dir, 'schemas.lock.json'),
    registryUrl: registry.url,
    workflows: [orderFulfillment, orderFulfillmentV2],
  });

  it('registers every subject as BACKWARD_TRANSITIVE version 1, then finds nothing changed', async () => {
    const first = await runSchemaRegister(options());
    expect(first.report.failures).toEqual([]);
    // orderFulfillment's thirteen subjects (v1's ten, v2's three) and every framework fact.
    expect(first.registered.length).toBe(13 + FRAMEWORK_RECORD_TYPES.length);
    expect(first.registered.map((item) => item.subject)).toEqual(
      expect.arrayContaining([
        'esflow.framework.TimerScheduled',
        'esflow.framework.TimerCancelled',
        'esflow.framework.TimerFired',
      ]),
    );
    expect(new Set(first.registered.map((item) => `${item.version} ${item.level}`))).toEqual(
      new Set(['1 BACKWARD_TRANSITIVE']),
    );
    const config = await sr('GET', `/config/${subjectPath('esflow.orderFulfillment.OrderPlaced')}`);
    expect(config.body).toMatchObject({ compatibilityLevel: 'BACKWARD_TRANSITIVE' });
    const check = await runSchemaCheck(options());
    expect(check.report.ok).toBe(true);
    expect(new Set(check.report.subjects.map((subject) => subject.status))).toEqual(
      new Set(['unchanged']),
    );
  });

  it('fails an incompatible change with the registry as the history, naming the field', async () => {
    const file = join(dir, 'orderFulfillment/OrderPlaced.avsc');
    const original = readFileSync(file, 'utf8');
    const schema = JSON.parse(original);
    schema.fields.push({ name: 'channel', type: 'string', doc: 'Sales channel.' });
    writeFileSync(file, JSON.stringify(schema, null, 2));
    try {
      const check = await runSchemaCheck(options());
      expect(check.report.ok).toBe(false);
      expect(check.report.failures).toEqual([
        expect.objectContaining({
          rule: CompatibilityRule.FieldAddedWithoutDefault,
          subject: 'esflow.orderFulfillment.OrderPlaced',
          field: 'channel',
          againstVersion: 1,
        }),
      ]);
      // The registry agrees about the self-contained schema the gate would register.
      const candidate = check.report.subjects.find(
        (subject) => subject.subject === 'esflow.orderFulfillment.OrderPlaced',
      )!.schema!;
      expect(
        await registryVerdict(
          'esflow.orderFulfillment.OrderPlaced',
          JSON.parse(candidate),
          'versions',
        ),
      ).toBe(false);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('registers a compatible change as version 2 in the registry', async () => {
    const file = join(dir, 'orderFulfillment/PaymentReceived.avsc');
    const schema = JSON.parse(readFileSync(file, 'utf8'));
    schema.fields.push({
      name: 'note',
      type: ['null', 'string'],
      default: null,
      doc: 'Free text.',
    });
    writeFileSync(file, JSON.stringify(schema, null, 2));
    const second = await runSchemaRegister(options());
    expect(second.report.failures).toEqual([]);
    expect(second.registered).toEqual([
      {
        subject: 'esflow.orderFulfillment.PaymentReceived',
        version: 2,
        level: 'BACKWARD_TRANSITIVE',
      },
    ]);
    const versions = await sr(
      'GET',
      `/subjects/${subjectPath('esflow.orderFulfillment.PaymentReceived')}/versions`,
    );
    expect(versions.body).toEqual([1, 2]);
  });
});
