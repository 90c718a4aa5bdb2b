import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  builtInProjections,
  createMemoryEventStore,
  ErrorCode,
  EsflowError,
  EventStore,
} from '@esflow/core';
import { ORDER_FULFILLMENT_SCHEMAS } from '@esflow/example-order-fulfillment';
import { createEmbeddedSchemaRegistry } from '@esflow/sqlite';
import { AvroPayloadCodec } from '../avro-payload-codec';
import { withFrameworkSchemas } from '../framework-schemas';
import { SchemaRegistry } from '../registry/schema-registry.port';
import { SchemaCatalog } from '../schema-catalog';
import { unframe } from '../wire-format';
import { schemaFingerprint } from './schema-fingerprint';
import { WRITER_SCHEMA_STREAM } from './schema-ledger';
import { restoreKeptIds } from './writer-schemas';

const PAYMENT = 'esflow.orderFulfillment.PaymentReceived';
const temp: string[] = [];
afterAll(() => temp.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const current = SchemaCatalog.load(withFrameworkSchemas([ORDER_FULFILLMENT_SCHEMAS]));

/** orderFulfillment's schemas as they were before PaymentReceived gained `method` (its v1). */
function catalogAtPaymentV1(): SchemaCatalog {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-writer-schemas-'));
  temp.push(dir);
  cpSync(ORDER_FULFILLMENT_SCHEMAS, dir, { recursive: true });
  const file = join(dir, 'PaymentReceived.avsc');
  const schema = JSON.parse(readFileSync(file, 'utf8')) as { fields: { name: string }[] };
  schema.fields = schema.fields.filter((field) => field.name !== 'method');
  writeFileSync(file, JSON.stringify(schema));
  return SchemaCatalog.load(withFrameworkSchemas([dir]));
}

const embedded = () => createEmbeddedSchemaRegistry({ filename: ':memory:' });

/** A registry whose answers come from `target.current`, which a test swaps (wipe) or breaks. */
function switchable(first: SchemaRegistry): {
  registry: SchemaRegistry;
  target: { current: SchemaRegistry; down: boolean; wrong: boolean; calls: string[] };
} {
  const target = { current: first, down: false, wrong: false, calls: [] as string[] };
  const call =
    <K extends keyof SchemaRegistry>(key: K) =>
    (...args: unknown[]) => {
      target.calls.push(key);
      if (target.down)
        return Promise.reject(
          new EsflowError(ErrorCode.StoreUnavailable, 'the test registry refused the connection', {
            retriable: true,
          }),
        );
      if (target.wrong)
        return Promise.reject(
          new EsflowError(
            ErrorCode.InvalidConfiguration,
            'the test registry is not a Confluent-compatible schema registry API at that path',
          ),
        );
      return (target.current[key] as (...a: unknown[]) => Promise<unknown>)(...args);
    };
  const registry = {
    register: call('register'),
    schemaById: call('schemaById'),
    latest: call('latest'),
    version: call('version'),
    versions: call('versions'),
    setCompatibility: call('setCompatibility'),
    compatibility: call('compatibility'),
    restore: call('restore'),
    close: async () => {},
  } as SchemaRegistry;
  return { registry, target };
}

/** The embedded registry without its restore capability (a registry that cannot choose ids). */
function withoutRestore(registry: SchemaRegistry): SchemaRegistry {
  return { ...registry, restore: undefined };
}

const ledgerOf = async (store: EventStore) => store.readStream(WRITER_SCHEMA_STREAM);
const payment = (paymentId: string) => ({ paymentId, amountCents: 5 });

describe('writer schemas kept beside the events', () => {
  it('keeps every id it writes under once, before the first event, in a stream no workflow filter matches', async () => {
    const store = createMemoryEventStore();
    const registry = embedded();
    const codec = await AvroPayloadCodec.create({ catalog: current, registry, store });
    const ledger = await ledgerOf(store);
    expect(ledger).toHaveLength(current.names().length);
    const encoded = await codec.encode(PAYMENT, payment('p'));
    const kept = codec.writerSchemas.keptSchemas().get(unframe(encoded.data).schemaId)!;
    expect(kept).toMatchObject({ subject: PAYMENT, version: 1 });
    expect(kept.fingerprint).toBe(schemaFingerprint(current.get(PAYMENT)!.expanded));
    expect(kept.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);

    // Opening again, or twice at once (api and projector), keeps nothing twice.
    await Promise.all([
      AvroPayloadCodec.create({ catalog: current, registry, store }),
      AvroPayloadCodec.create({ catalog: current, registry, store }),
    ]);
    expect(await ledgerOf(store)).toHaveLength(ledger.length);

    // What projections (and the bridge: `<workflow>-` prefixes) read of the log never includes it.
    for (const projection of builtInProjections(['orderFulfillment', 'esflow', 'schemas']))
      expect(await store.readAll({ filter: projection.filter! })).toEqual([]);
  });

  it('reads events with the kept writer schema while the registry is down', async () => {
    const store = createMemoryEventStore();
    const { registry, target } = switchable(embedded());
    const v1 = await AvroPayloadCodec.create({ catalog: catalogAtPaymentV1(), registry, store });
    const old = await v1.encode(PAYMENT, payment('old'));
    const v2 = await AvroPayloadCodec.create({ catalog: current, registry, store });
    expect(unframe(old.data).schemaId).not.toBe(v2.writerSchemas.reference(PAYMENT)!.id);

    target.down = true;
    expect(await v2.decode(PAYMENT, old.data)).toEqual({ ...payment('old'), method: null });
    const fresh = await v2.encode(PAYMENT, { ...payment('new'), method: 'card' });
    expect(await v2.decode(PAYMENT, fresh.data)).toMatchObject({ method: 'card' });
    expect(await v2.writerSchemas.check()).toMatchObject({
      status: 'down',
      reason: 'the test registry refused the connection',
    });
  });

  it('puts the ids a wiped registry lost back under their own numbers at start-up', async () => {
    const store = createMemoryEventStore();
    const first = embedded();
    const before = await AvroPayloadCodec.create({ catalog: current, registry: first, store });
    const ids = [...before.writerSchemas.keptSchemas().keys()];

    const wiped = embedded();
    const after = await AvroPayloadCodec.create({ catalog: current, registry: wiped, store });
    expect(after.writerSchemas.status).toMatchObject({ status: 'up', restoredIds: ids });
    for (const [id, kept] of before.writerSchemas.keptSchemas())
      expect(schemaFingerprint(await wiped.schemaById(id))).toBe(kept.fingerprint);
    expect(after.writerSchemas.reference(PAYMENT)).toEqual(before.writerSchemas.reference(PAYMENT));
  });

  it('refuses to start when the registry answers a kept id with another schema, naming ids, subjects and the repair', async () => {
    const store = createMemoryEventStore();
    await AvroPayloadCodec.create({ catalog: current, registry: embedded(), store });
    const kept = await ledgerOf(store);

    // Wiped, and another client registered first: ids 1 and 2 now name its schemas.
    const shifted = embedded();
    for (const name of ['First', 'Second'])
      await shifted.register(
        `other.${name}`,
        JSON.stringify({ type: 'record', name, namespace: 'other', fields: [] }),
      );
    const failure = await AvroPayloadCodec.create({
      catalog: current,
      registry: shifted,
      store,
    }).then(
      () => undefined,
      (error: unknown) => error as EsflowError,
    );
    expect(failure?.code).toBe(ErrorCode.InvalidConfiguration);
    expect(failure?.message).toContain(
      'id 1 (esflow.framework.CommandCompleted v1) is now other.First',
    );
    expect(failure?.message).toContain(
      'id 2 (esflow.framework.CommandDispatched v1) is now other.Second',
    );
    expect(failure?.message).toContain('esflow schemas restore-ids');
    expect(failure?.message).toContain('IMPORT mode');
    expect(failure?.message).not.toContain('\n');
    // Nothing was written anywhere: no new kept ids, nothing registered or restored.
    expect(await ledgerOf(store)).toHaveLength(kept.length);
    await expect(shifted.schemaById(3)).rejects.toMatchObject({ code: ErrorCode.SchemaNotFound });

    // The repair: an empty registry, the ids restored, then esflow starts.
    const empty = embedded();
    const report = await restoreKeptIds(store, empty);
    expect(report).toMatchObject({ missing: [], mismatched: [] });
    expect(report.restored).toHaveLength(kept.length);
    const repaired = await AvroPayloadCodec.create({ catalog: current, registry: empty, store });
    expect(repaired.writerSchemas.status.status).toBe('up');
  });

  it('on a wiped registry that cannot take ids back: writes under the kept ids, registers nothing, reports down, and refuses a new schema', async () => {
    const store = createMemoryEventStore();
    const v1Catalog = catalogAtPaymentV1();
    const original = await AvroPayloadCodec.create({
      catalog: v1Catalog,
      registry: embedded(),
      store,
    });
    const wiped = embedded();
    const codec = await AvroPayloadCodec.create({
      catalog: v1Catalog,
      registry: withoutRestore(wiped),
      store,
    });
    expect(codec.writerSchemas.reference(PAYMENT)).toEqual(
      original.writerSchemas.reference(PAYMENT),
    );
    expect(await wiped.latest(PAYMENT)).toBeUndefined();
    const status = codec.writerSchemas.status;
    expect(status.status).toBe('down');
    expect(status.missingIds).toHaveLength(v1Catalog.names().length);
    expect(status.reason).toContain('lacks schema ids that esflow');
    // Ids are handed out in subject order; the reason names the first ten and counts the rest.
    expect(status.reason).toContain('1 (esflow.framework.CommandCompleted v1), 2 (');
    const tenth = [...v1Catalog.names()].sort()[9];
    expect(status.reason).toContain(`10 (${tenth} v1) and ${v1Catalog.names().length - 10} more`);

    // PaymentReceived v2 is new: the registry could hand it an id esflow's events already use.
    await expect(
      AvroPayloadCodec.create({ catalog: current, registry: withoutRestore(wiped), store }),
    ).rejects.toThrow(
      /does not register new schemas \(esflow\.orderFulfillment\.PaymentReceived\)/,
    );
    expect(await wiped.latest(PAYMENT)).toBeUndefined();
  });

  it('notices a registry wiped while running and refills it under the original ids; a kept id taken by another schema is reported', async () => {
    const store = createMemoryEventStore();
    const { registry, target } = switchable(embedded());
    const codec = await AvroPayloadCodec.create({ catalog: current, registry, store });
    const kept = codec.writerSchemas.keptSchemas();

    target.current = embedded();
    const refilled = await codec.writerSchemas.check();
    expect(refilled).toMatchObject({ status: 'up', restoredIds: [...kept.keys()] });
    for (const [id, schema] of kept)
      expect(schemaFingerprint(await target.current.schemaById(id))).toBe(schema.fingerprint);
    expect(await codec.writerSchemas.check()).toMatchObject({ status: 'up', restoredIds: [] });

    target.current = embedded();
    await target.current.register(
      'other.Intruder',
      JSON.stringify({ type: 'record', name: 'Intruder', fields: [] }),
    );
    const shifted = await codec.writerSchemas.check();
    expect(shifted).toMatchObject({ status: 'down', mismatchedIds: [1] });
    expect(shifted.reason).toContain('id 1 (esflow.framework.CommandCompleted v1) is now Intruder');
  });

  describe('start-up while the registry cannot be reached', () => {
    const failureOf = (opening: Promise<unknown>) =>
      opening.then(
        () => undefined,
        (error: unknown) => error as EsflowError,
      );

    it('starts when every current schema is kept: writes under the kept ids, reads with the kept schemas, reports down, and registers once the registry answers', async () => {
      const store = createMemoryEventStore();
      const { registry, target } = switchable(embedded());
      const before = await AvroPayloadCodec.create({ catalog: current, registry, store });
      const old = await before.encode(PAYMENT, { ...payment('old'), method: 'card' });
      const ledger = await ledgerOf(store);

      target.down = true;
      const codec = await AvroPayloadCodec.create({ catalog: current, registry, store });
      const schemas = codec.writerSchemas;
      expect(schemas.startedWithoutRegistry).toBe(true);
      expect(schemas.status).toEqual({
        status: 'down',
        reason: 'the test registry refused the connection',
        keptIds: ledger.length,
        restoredIds: [],
        missingIds: [],
        mismatchedIds: [],
      });
      for (const name of current.names())
        expect(schemas.reference(name), name).toEqual(before.writerSchemas.reference(name));
      expect(schemas.unregisteredSubjects).toHaveLength(current.names().length);
      const fresh = await codec.encode(PAYMENT, { ...payment('new'), method: 'card' });
      expect(unframe(fresh.data).schemaId).toBe(unframe(old.data).schemaId);
      expect(await codec.decode(PAYMENT, old.data)).toMatchObject({ paymentId: 'old' });
      expect(await codec.decode(PAYMENT, fresh.data)).toMatchObject({ paymentId: 'new' });
      expect(await schemas.check()).toMatchObject({ status: 'down' });
      expect(await ledgerOf(store), 'nothing kept without the registry').toHaveLength(
        ledger.length,
      );

      // Back, wiped meanwhile: the check puts every kept id back, then registers the schemas.
      target.current = embedded();
      target.down = false;
      target.calls.length = 0;
      expect(await schemas.check()).toMatchObject({
        status: 'up',
        restoredIds: [...before.writerSchemas.keptSchemas().keys()],
      });
      expect(target.calls.filter((call) => call === 'register')).toHaveLength(
        current.names().length,
      );
      expect(schemas.unregisteredSubjects).toEqual([]);
      for (const name of current.names()) {
        const { id, subject, version } = schemas.reference(name)!;
        expect(await target.current.latest(subject), name).toMatchObject({ id, version });
      }
      // Consumers resolve the ids of the events written meanwhile.
      expect(schemaFingerprint(await target.current.schemaById(unframe(fresh.data).schemaId))).toBe(
        schemaFingerprint(current.get(PAYMENT)!.expanded),
      );
      target.calls.length = 0;
      expect(await schemas.check()).toMatchObject({ status: 'up', restoredIds: [] });
      expect(target.calls, 'registered once').not.toContain('register');
      expect(await ledgerOf(store)).toHaveLength(ledger.length);
    });

    it('refuses to start when a current schema has no kept id, naming its subject', async () => {
      const store = createMemoryEventStore();
      const { registry, target } = switchable(embedded());
      await AvroPayloadCodec.create({ catalog: catalogAtPaymentV1(), registry, store });
      const ledger = await ledgerOf(store);

      // PaymentReceived v2 would need an id only the registry can hand out.
      target.down = true;
      const failure = await failureOf(
        AvroPayloadCodec.create({ catalog: current, registry, store }),
      );
      expect(failure).toMatchObject({ code: ErrorCode.StoreUnavailable, retriable: true });
      expect(failure?.message).toBe(
        `the test registry refused the connection. esflow needs it to start: ${PAYMENT} has no schema id kept in the event store yet, and only the registry can hand one out (once every current schema has a kept id, esflow starts without the registry)`,
      );
      expect(await ledgerOf(store)).toHaveLength(ledger.length);

      // Nothing kept at all: every subject needs it.
      const empty = await failureOf(
        AvroPayloadCodec.create({ catalog: current, registry, store: createMemoryEventStore() }),
      );
      expect(empty?.message).toMatch(
        /^the test registry refused the connection\. esflow needs it to start: esflow\.framework\.CommandCompleted, .* and \d+ more have no schema id kept/,
      );
      expect(empty?.message).not.toContain('\n');
    });

    it('still refuses a registry that answers wrongly, although every schema is kept', async () => {
      const store = createMemoryEventStore();
      const { registry, target } = switchable(embedded());
      await AvroPayloadCodec.create({ catalog: current, registry, store });
      target.wrong = true;
      const failure = await failureOf(
        AvroPayloadCodec.create({ catalog: current, registry, store }),
      );
      expect(failure).toMatchObject({
        code: ErrorCode.InvalidConfiguration,
        message: 'the test registry is not a Confluent-compatible schema registry API at that path',
      });
    });

    it('keeps the embedded registry as it is: its failures are not an outage', async () => {
      const store = createMemoryEventStore();
      const registry = embedded();
      await AvroPayloadCodec.create({ catalog: current, registry, store });
      await registry.close();
      await expect(AvroPayloadCodec.create({ catalog: current, registry, store })).rejects.toThrow(
        /database connection is not open/,
      );
    });
  });
});
