import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@esflow/core';
import { SchemaRegistry } from '@esflow/schemas';
import { ContractTestApi } from './test-api';

/**
 * What a factory gives {@link describeSchemaRegistryContract}: the registry to test and how to
 * dispose of it. The suite creates one before its tests and disposes of it after them; the tests
 * use fresh names, so the registry need not be empty.
 */
export interface SchemaRegistryUnderTest {
  readonly registry: SchemaRegistry;
  dispose(): Promise<void>;
}

const record = (name: string, fields: { name: string; type: unknown; default?: unknown }[]) =>
  JSON.stringify({ type: 'record', name, namespace: 'esflow.contract', fields });

/** What a registry adapter can do beyond the required port, declared per adapter. */
export interface SchemaRegistryCapabilities {
  /** `restore`: schemas put back under chosen ids (embedded; Apicurio through its import API). */
  readonly restore: boolean;
}

/**
 * The behaviour every schema registry adapter must have: Confluent's subjects, versions, global
 * ids and per-subject levels, with incompatible schemas refused; and, where declared, schemas
 * restored under their own ids. Runs against the embedded registry and against a real
 * Confluent-compatible registry (Apicurio) in the integration tier.
 */
export function describeSchemaRegistryContract(
  adapter: string,
  create: () => Promise<SchemaRegistryUnderTest>,
  api: ContractTestApi,
  capabilities: SchemaRegistryCapabilities = { restore: true },
): void {
  const { afterAll, beforeAll, describe, expect, it } = api;
  describe(`schema registry contract: ${adapter}`, () => {
    let subject: SchemaRegistryUnderTest;
    let registry: SchemaRegistry;
    beforeAll(async () => {
      subject = await create();
      registry = subject.registry;
    });
    afterAll(async () => subject.dispose());
    const fresh = () => `esflow.contract.S${randomUUID().replaceAll('-', '')}`;

    it('registers a new subject as version 1 and answers a repeat with the same version and id', async () => {
      const name = fresh();
      const schema = record('Placed', [{ name: 'a', type: 'string' }]);
      const first = await registry.register(name, schema);
      expect(first).toMatchObject({ subject: name, version: 1 });
      expect(first.id).toBeGreaterThan(0);
      expect(await registry.register(name, schema)).toMatchObject({ version: 1, id: first.id });
      expect(await registry.versions(name)).toEqual([1]);
    });

    it('shares one global id for the same schema across subjects, and resolves ids to schemas', async () => {
      const schema = record(`Shared${randomUUID().slice(0, 8).replaceAll('-', '')}`, [
        { name: 'x', type: 'int' },
      ]);
      const a = await registry.register(fresh(), schema);
      const b = await registry.register(fresh(), schema);
      expect(b.id).toBe(a.id);
      const text = await registry.schemaById(a.id);
      expect(JSON.parse(text)).toMatchObject({
        type: 'record',
        fields: [{ name: 'x', type: 'int' }],
      });
      await expect(registry.schemaById(2_000_000_000)).rejects.toMatchObject({
        code: ErrorCode.SchemaNotFound,
      });
    });

    it('reads versions back: latest, a given version, the list; nothing for an unknown subject', async () => {
      const name = fresh();
      await registry.setCompatibility(name, 'BACKWARD');
      await registry.register(name, record('Evolving', [{ name: 'a', type: 'string' }]));
      const v2 = await registry.register(
        name,
        record('Evolving', [
          { name: 'a', type: 'string' },
          { name: 'b', type: 'int', default: 0 },
        ]),
      );
      expect(v2.version).toBe(2);
      expect(await registry.latest(name)).toMatchObject({ version: 2, id: v2.id });
      expect(JSON.parse((await registry.version(name, 1))!.schema).fields).toHaveLength(1);
      expect(await registry.versions(name)).toEqual([1, 2]);
      const unknown = fresh();
      expect(await registry.latest(unknown)).toBeUndefined();
      expect(await registry.version(unknown, 1)).toBeUndefined();
      expect(await registry.versions(unknown)).toEqual([]);
    });

    it('keeps a per-subject compatibility level', async () => {
      const name = fresh();
      expect(await registry.compatibility(name)).toBeUndefined();
      await registry.setCompatibility(name, 'FULL_TRANSITIVE');
      expect(await registry.compatibility(name)).toBe('FULL_TRANSITIVE');
      await registry.setCompatibility(name, 'FORWARD');
      expect(await registry.compatibility(name)).toBe('FORWARD');
    });

    it('refuses a schema that breaks BACKWARD and registers nothing', async () => {
      const name = fresh();
      await registry.setCompatibility(name, 'BACKWARD');
      await registry.register(name, record('Order', [{ name: 'id', type: 'string' }]));
      const breaking = record('Order', [
        { name: 'id', type: 'string' },
        { name: 'currency', type: 'string' },
      ]);
      await expect(registry.register(name, breaking)).rejects.toMatchObject({
        code: ErrorCode.SchemaIncompatible,
      });
      expect(await registry.versions(name)).toEqual([1]);
      const compatible = record('Order', [
        { name: 'id', type: 'string' },
        { name: 'currency', type: 'string', default: 'EUR' },
      ]);
      expect((await registry.register(name, compatible)).version).toBe(2);
    });

    it('checks every version under BACKWARD_TRANSITIVE but only the latest under BACKWARD', async () => {
      const v1 = record('Trans', [{ name: 'a', type: 'int' }]);
      const v2 = record('Trans', [
        { name: 'a', type: 'int' },
        { name: 'b', type: 'string', default: 'x' },
      ]);
      const v3 = record('Trans', [
        { name: 'a', type: 'int' },
        { name: 'b', type: 'string' },
      ]); // reads v2, not v1
      const transitive = fresh();
      await registry.setCompatibility(transitive, 'BACKWARD_TRANSITIVE');
      await registry.register(transitive, v1);
      await registry.register(transitive, v2);
      await expect(registry.register(transitive, v3)).rejects.toMatchObject({
        code: ErrorCode.SchemaIncompatible,
      });
      const plain = fresh();
      await registry.setCompatibility(plain, 'BACKWARD');
      await registry.register(plain, v1);
      await registry.register(plain, v2);
      expect((await registry.register(plain, v3)).version).toBe(3);
    });

    it(
      capabilities.restore
        ? 'restores schemas under their own ids and versions, and leaves a taken id alone'
        : 'declares that it cannot restore schemas under chosen ids',
      async () => {
        if (!capabilities.restore) {
          expect(registry.restore).toBeUndefined();
          return;
        }
        const unique = randomUUID().replaceAll('-', '').slice(0, 12);
        const id = 1_000_000 + Math.floor(Math.random() * 1_000_000);
        const subject = fresh();
        const schema = record(`Restored${unique}`, [{ name: 'a', type: 'string' }]);
        await registry.restore!([{ subject, version: 1, id, schema }]);
        expect(JSON.parse(await registry.schemaById(id))).toMatchObject({
          fields: [{ name: 'a', type: 'string' }],
        });
        expect(await registry.version(subject, 1)).toMatchObject({ id, version: 1 });
        expect(await registry.register(subject, schema)).toMatchObject({ id, version: 1 });

        const taken = await registry.register(fresh(), record(`Taken${unique}`, []));
        await registry.restore!([
          { subject: fresh(), version: 1, id: taken.id, schema: record(`Other${unique}`, []) },
        ]);
        expect(await registry.schemaById(taken.id)).toContain(`Taken${unique}`);
      },
    );

    it('accepts anything under NONE', async () => {
      const name = fresh();
      await registry.setCompatibility(name, 'NONE');
      await registry.register(name, record('Free', [{ name: 'a', type: 'int' }]));
      expect(
        (await registry.register(name, record('Free', [{ name: 'z', type: 'string' }]))).version,
      ).toBe(2);
    });
  });
}
