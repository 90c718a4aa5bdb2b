import { resolve } from 'node:path';
import * as avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { KYC_ONBOARDING_SCHEMAS } from '@esflow/example-kyc-onboarding';
import { ORDER_FULFILLMENT_SCHEMAS } from '@esflow/example-order-fulfillment';
import { withFrameworkSchemas } from './framework-schemas';
import { readLockFile } from './gate/lock-file';
import { readFixture, releasedFixturesDir } from './gate/released-fixtures';
import { SchemaCatalog } from './schema-catalog';

// The repository's released versions: the framework's and the example workflows' schemas.
const LOCK_FILE = resolve(__dirname, '../../../schemas/avro/schemas.lock.json');
const lock = readLockFile(LOCK_FILE);
const catalog = SchemaCatalog.load(
  withFrameworkSchemas([ORDER_FULFILLMENT_SCHEMAS, KYC_ONBOARDING_SCHEMAS]),
);
const released = Object.entries(lock.subjects).flatMap(([subject, entry]) =>
  entry.versions.map((v) => ({ subject, version: v.version, schema: v.schema })),
);

describe('every released schema version', () => {
  it('is in the lock file (the repository has released versions)', () => {
    expect(released.length).toBeGreaterThanOrEqual(12);
    expect(
      released
        .filter((r) => r.subject === 'esflow.orderFulfillment.PaymentReceived')
        .map((r) => r.version),
    ).toEqual([1, 2]);
  });

  it.each(released.map((r) => [`${r.subject} v${r.version}`, r] as const))(
    '%s has a golden fixture that still encodes to the same bytes and decodes with the current schema',
    (_name, { subject, version, schema }) => {
      const fixture = readFixture(releasedFixturesDir(LOCK_FILE), subject, version);
      expect(
        fixture,
        `no fixture for ${subject} v${version}: run npm run schemas:register`,
      ).toBeDefined();
      const writer = avro.Type.forSchema(JSON.parse(schema) as avro.Schema);
      expect(writer.toBuffer(fixture!.payload).toString('hex')).toBe(fixture!.avroHex);
      const reader = catalog.get(subject)!.type;
      const decoded = reader.fromBuffer(
        Buffer.from(fixture!.avroHex, 'hex'),
        reader.createResolver(writer),
      ) as Record<string, unknown>;
      // Fields the writer had come through unchanged; fields added since read as their defaults.
      expect(JSON.parse(JSON.stringify(decoded))).toMatchObject(fixture!.payload);
      for (const field of (reader as avro.types.RecordType).fields)
        if (!(field.name in fixture!.payload))
          expect(decoded[field.name]).toEqual(field.defaultValue());
    },
  );
});
