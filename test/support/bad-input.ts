import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'avsc';
import * as fc from 'fast-check';
import { EsflowFeature } from '@esflow/core';

/**
 * Generators of bad requests for the bad-input suite, driven by the shipped workflows' own Avro
 * schemas: for every field of every event schema, values of the wrong type, missing required
 * fields, unknown fields and oversized values, plus bad envelopes, bodies, content types, ids,
 * headers and queries. Every request generated is one the api must refuse with a 4xx.
 */

type AvroSchema =
  | string
  | AvroSchema[]
  | { readonly type: string; readonly [key: string]: unknown };

interface AvroField {
  readonly name: string;
  readonly type: AvroSchema;
  readonly default?: unknown;
}

/** One workflow's event schemas, by event type, with named types resolvable. */
export interface WorkflowSchemas {
  readonly workflow: string;
  readonly startEvent: string;
  readonly inputEvents: readonly string[];
  /** Record schemas by event type (the record's name). */
  readonly events: ReadonlyMap<string, AvroSchema>;
  /** Every named type by full and short name, for references such as `OrderItem`. */
  readonly named: ReadonlyMap<string, AvroSchema>;
}

/** Reads the `.avsc` files of each feature's schema directory. */
export function schemasOf(features: readonly EsflowFeature[]): WorkflowSchemas[] {
  return features.flatMap((feature) => {
    const named = new Map<string, AvroSchema>();
    for (const dir of feature.schemas)
      for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
        f.endsWith('.avsc'),
      )) {
        const schema = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
          name: string;
          namespace?: string;
          type: string;
        };
        named.set(schema.name, schema);
        if (schema.namespace) named.set(`${schema.namespace}.${schema.name}`, schema);
      }
    return feature.workflows.map((definition) => ({
      workflow: definition.name,
      startEvent: definition.startEvent,
      inputEvents: definition.inputEvents,
      events: new Map(
        [definition.startEvent, ...definition.inputEvents]
          .filter((type) => named.has(type))
          .map((type) => [type, named.get(type)!]),
      ),
      named,
    }));
  });
}

const PRIMITIVES = new Set([
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'string',
  'bytes',
]);

function resolveSchema(schema: AvroSchema, named: ReadonlyMap<string, AvroSchema>): AvroSchema {
  if (typeof schema === 'string' && !PRIMITIVES.has(schema)) {
    const found = named.get(schema);
    if (!found) throw new Error(`unknown Avro type ${schema}`);
    return found;
  }
  return schema;
}

const registries = new WeakMap<ReadonlyMap<string, AvroSchema>, Record<string, Type>>();

/** An avsc registry of the workflow's named types (parsed in whatever order their references allow). */
function registryOf(named: ReadonlyMap<string, AvroSchema>): Record<string, Type> {
  const known = registries.get(named);
  if (known) return known;
  const registry: Record<string, Type> = {};
  let pending = [...new Set(named.values())];
  while (pending.length > 0) {
    const left = pending.filter((schema) => {
      try {
        Type.forSchema(schema as never, { registry });
        return false;
      } catch {
        return true; // refers to a type not parsed yet
      }
    });
    if (left.length === pending.length) Type.forSchema(left[0] as never, { registry }); // throws the real reason
    pending = left;
  }
  registries.set(named, registry);
  return registry;
}

/** An avsc type for `schema`, with the workflow's named types registered. */
function avroType(schema: AvroSchema, named: ReadonlyMap<string, AvroSchema>): Type {
  const registry = registryOf(named);
  if (typeof schema === 'object' && !Array.isArray(schema) && typeof schema['name'] === 'string') {
    const name = schema['name'];
    const namespace = typeof schema['namespace'] === 'string' ? `${schema['namespace']}.` : '';
    const known = registry[`${namespace}${name}`] ?? registry[name];
    if (known) return known;
  }
  return Type.forSchema(schema as never, { registry: { ...registry } });
}

/** A small valid value of `schema` (the base that one mutation then breaks). */
export function sampleOf(schema: AvroSchema, named: ReadonlyMap<string, AvroSchema>): unknown {
  const resolved = resolveSchema(schema, named);
  if (Array.isArray(resolved)) return sampleOf(resolved.find((s) => s !== 'null') ?? 'null', named);
  if (typeof resolved === 'string')
    return {
      null: null,
      boolean: true,
      int: 1,
      long: 1,
      float: 1.5,
      double: 1.5,
      string: 's1',
      bytes: 'b',
    }[resolved];
  switch (resolved.type) {
    case 'record':
      return Object.fromEntries(
        (resolved['fields'] as AvroField[]).map((field) => [
          field.name,
          sampleOf(field.type, named),
        ]),
      );
    case 'array':
      return [sampleOf(resolved['items'] as AvroSchema, named)];
    case 'map':
      return {};
    case 'enum':
      return (resolved['symbols'] as string[])[0];
    default:
      return sampleOf(resolved.type, named);
  }
}

/** A place in a payload: the path to a field, its schema and whether it may be left out. */
interface FieldSlot {
  readonly path: readonly (string | number)[];
  readonly schema: AvroSchema;
  readonly optional: boolean;
  /** The record holding the field (to add an unknown field beside it). */
  readonly parentPath: readonly (string | number)[];
}

/** Every field of a record schema, nested records and arrays of records included. */
function slotsOf(
  schema: AvroSchema,
  named: ReadonlyMap<string, AvroSchema>,
  path: readonly (string | number)[] = [],
): FieldSlot[] {
  const resolved = resolveSchema(schema, named);
  if (typeof resolved !== 'object' || Array.isArray(resolved)) return [];
  if (resolved.type === 'array')
    return slotsOf(resolved['items'] as AvroSchema, named, [...path, 0]);
  if (resolved.type !== 'record') return [];
  return (resolved['fields'] as AvroField[]).flatMap((field) => [
    {
      path: [...path, field.name],
      schema: field.type,
      optional: field.default !== undefined,
      parentPath: path,
    },
    ...slotsOf(field.type, named, [...path, field.name]),
  ]);
}

const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null');

/** Values of every JSON kind, some at the edges of what numbers and strings can carry. */
const anyJson = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 60, -(2 ** 63), 1e300),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.integer(), { maxKeys: 3 }),
);

/** A JSON value the field's Avro type does not accept (after a JSON round trip, as the api sees it). */
function wrongValueFor(schema: AvroSchema, named: ReadonlyMap<string, AvroSchema>) {
  const type = avroType(schema, named);
  return anyJson.filter((value) => !type.isValid(roundTrip(value)));
}

function setAt(target: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(target) ? [...target] : { ...(target as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head!] = setAt(copy[head!], rest, value);
  return copy;
}

function deleteAt(target: unknown, path: readonly (string | number)[]): unknown {
  const parent = path.slice(0, -1);
  const key = path.at(-1)!;
  const holder = parent.reduce<unknown>(
    (value, step) => (value as Record<string | number, unknown>)[step],
    target,
  ) as Record<string | number, unknown>;
  const { [key]: _removed, ...rest } = holder;
  return setAt(target, parent, rest);
}

/** A mutated payload of `eventType` that its schema refuses, and what the mutation was. */
export interface BrokenPayload {
  readonly payload: unknown;
  readonly mutation: string;
}

/** Payloads of one event schema, each broken in exactly one place. */
export function brokenPayload(
  schemas: WorkflowSchemas,
  eventType: string,
): fc.Arbitrary<BrokenPayload> {
  const schema = schemas.events.get(eventType)!;
  const base = sampleOf(schema, schemas.named);
  const slots = slotsOf(schema, schemas.named);
  const wrongType = fc.constantFrom(...slots).chain((slot) =>
    wrongValueFor(slot.schema, schemas.named).map((value) => ({
      payload: setAt(base, slot.path, value),
      mutation: `${slot.path.join('.')} = ${JSON.stringify(value)?.slice(0, 60)}`,
    })),
  );
  const required = slots.filter((slot) => !slot.optional);
  const missing = fc.constantFrom(...required).map((slot) => ({
    payload: deleteAt(base, slot.path),
    mutation: `${slot.path.join('.')} missing`,
  }));
  const parents = [...new Set(slots.map((slot) => JSON.stringify(slot.parentPath)))].map(
    (p) => JSON.parse(p) as (string | number)[],
  );
  const unknownField = fc
    .tuple(fc.constantFrom(...parents), fc.stringMatching(/^[a-z][A-Za-z0-9]{0,10}$/), anyJson)
    .filter(
      ([parent, name]) => !slots.some((s) => s.path.join('.') === [...parent, name].join('.')),
    )
    .map(([parent, name, value]) => ({
      payload: setAt(base, [...parent, name], value),
      mutation: `unknown field ${[...parent, name].join('.')}`,
    }));
  const stringSlots = slots.filter(
    (slot) => resolveSchema(slot.schema, schemas.named) === 'string',
  );
  const broken = [wrongType, unknownField];
  if (required.length > 0) broken.push(missing);
  if (stringSlots.length > 0)
    broken.push(
      fc
        .tuple(fc.constantFrom(...stringSlots), fc.constantFrom('\ud800', '\udfff', 'a\udc00b'))
        .map(([slot, text]) => ({
          payload: setAt(base, slot.path, text),
          mutation: `${slot.path.join('.')} holds a lone surrogate`,
        })),
      // Over the per-event size limit the test runs with (64 KB), under the body limit.
      fc.constantFrom(...stringSlots).map((slot) => ({
        payload: setAt(base, slot.path, 'x'.repeat(80 * 1024)),
        mutation: `${slot.path.join('.')} is 80 KB`,
      })),
    );
  return fc.oneof(...broken);
}

/** Path segments that are not usable ids: too long, empty, dots, or characters outside the id set. */
export const badId = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => /[^A-Za-z0-9._:-]/.test(s)),
  fc.constantFrom('.', '..', 'x'.repeat(201), '%00', '%ZZ', 'a%2Fb', ' '),
);

/** Bodies that are not JSON at all. */
export const notJsonText = fc
  .oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('{', '{"input":', '[1,', 'nul', '{"a":1,}', "{'a':1}", '\u0000', '{"a":1}{'),
  )
  .filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  });

/** JSON that is not a JSON object (a body must be one). */
export const notAnObject = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 10 }),
  fc.array(fc.integer(), { maxLength: 3 }),
);

/** Content types a browser form or a `text/plain` fetch can send, and other non-JSON ones. */
export const notJsonContentType = fc.constantFrom(
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/jsonx',
  'json',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
);

/** Header values that are not a revision (If-Match) — visible ASCII, so fetch can send them. */
export const badIfMatch = fc
  .stringMatching(/^[\x21-\x7e]{1,20}$/)
  .filter((value) => value !== '*' && !/^(?:W\/)?"?\d{1,15}"?$/.test(value));

/** Idempotency keys over the 255-character limit. */
export const badIdempotencyKey = fc.integer({ min: 256, max: 400 }).map((n) => 'k'.repeat(n));

/** Query strings of GET /workflows that are refused: bad limit, status, waitFor, unknown keys. */
export const badListQuery = fc.oneof(
  fc
    .oneof(
      fc.constantFrom('0x10', '1e1', ' 5', '5.0', '-1', '0', '1001', '', 'ten', '99999'),
      fc
        .string({ maxLength: 6 })
        .filter((s) => !/^\d{1,4}$/.test(s) || Number(s) < 1 || Number(s) > 1000),
    )
    .map((limit) => `limit=${encodeURIComponent(limit)}`),
  fc
    .string({ minLength: 1, maxLength: 10 })
    .filter((s) => !['running', 'completed', 'cancelled', 'failed', 'terminated'].includes(s))
    .map((status) => `status=${encodeURIComponent(status)}`),
  fc
    .string({ maxLength: 12 })
    .filter((s) => !/^[A-Za-z0-9._:-]{1,200}@\d{1,15}$/.test(s))
    .map((waitFor) => `workflow=orderFulfillment&waitFor=${encodeURIComponent(waitFor)}`),
  fc
    .stringMatching(/^[a-z]{1,8}$/)
    .filter((key) => !['workflow', 'state', 'status', 'limit', 'after', 'waitfor'].includes(key))
    .map((key) => `${key}=1`),
  fc.constantFrom('limit=1&limit=2', 'status=running&status=failed'),
);

/** Bodies of `POST /workflows/{workflow}/{id}/terminate` that are refused: no usable reason. */
export const badTerminateBody = fc.oneof(
  notAnObject,
  fc.constant({}),
  fc
    .oneof(
      fc.constantFrom('', ' ', '\n\t', 'r'.repeat(2001), null),
      fc.integer(),
      fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
    )
    .map((reason) => ({ reason })),
  fc
    .stringMatching(/^[a-z]{1,8}$/)
    .filter((key) => key !== 'reason')
    .map((key) => ({ reason: 'an operator decision', [key]: 1 })),
);

/** The fields of a migration's body, besides the batch's `filter`. */
const MIGRATION_FIELDS = [
  'toVersion',
  'stateMapping',
  'contextPatch',
  'unmappable',
  'dryRun',
  'reason',
];

/** `toVersion` values that are not a positive 32-bit whole number. */
const badVersion = fc.oneof(
  fc.integer({ max: 0 }),
  fc.constantFrom(1.5, 2 ** 31, 1e300, '2', 'v2', null, true, [2], { version: 2 }),
);

/** One field of a migration, of a type or value it does not take. */
const badMigrationField = fc.oneof(
  fc
    .oneof(
      notAnObject,
      fc.constantFrom({ awaitingPayment: 7 }, { awaitingPayment: '' }, { awaitingPayment: ' ' }),
      fc.constant({ '': 'awaitingPayment' }),
      fc.constant(
        Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`s${i}`, 'awaitingPayment'])),
      ),
    )
    .map((stateMapping) => ({ stateMapping })),
  notAnObject.map((contextPatch) => ({ contextPatch })),
  fc
    .oneof(
      fc.string({ maxLength: 8 }).filter((s) => s !== 'refuse' && s !== 'cancel'),
      fc.constantFrom('CANCEL', 'Refuse', null, 1, true),
    )
    .map((unmappable) => ({ unmappable })),
  fc
    .oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.constantFrom(null, [true], {}))
    .map((dryRun) => ({ dryRun })),
  fc
    .oneof(fc.integer(), fc.constantFrom(null, ['why'], {}, 'r'.repeat(2001)))
    .map((reason) => ({ reason })),
);

/**
 * Bodies of `POST /workflows/{workflow}/{id}/migrate` that are refused by an api that registers
 * one version of each workflow (v1): broken (400), or well formed, to a version that is not
 * registered or the instance's own (422 MIGRATION_REFUSED). None of them writes anything.
 */
export const badMigrateBody = fc.oneof(
  notAnObject,
  fc.constant({}),
  badVersion.map((toVersion) => ({ toVersion })),
  badMigrationField.map((field) => ({ toVersion: 2, ...field })),
  fc
    .stringMatching(/^[a-z]{1,8}$/)
    .filter((key) => !MIGRATION_FIELDS.includes(key))
    .map((key) => ({ toVersion: 2, [key]: 1 })),
  fc.record(
    {
      toVersion: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      dryRun: fc.boolean(),
      unmappable: fc.constantFrom('refuse', 'cancel'),
      stateMapping: fc.constantFrom({}, { awaitingPayment: 'awaitingPayment' }),
      contextPatch: fc.constantFrom({}, { note: 'x' }),
      reason: fc.string({ maxLength: 20 }),
    },
    { requiredKeys: ['toVersion'] },
  ),
);

/**
 * Bodies of `POST /workflows/{workflow}/migrations` that are refused by an api that registers one
 * version (v1) of each workflow: broken (400), or well formed, to a version that is not
 * registered or is `filter.fromVersion` (422 MIGRATION_REFUSED). A good batch from another
 * version to v1 would start (202): never generated.
 */
export const badMigrationBatchBody = fc.oneof(
  notAnObject,
  fc.constant({}),
  fc.constant({ toVersion: 1 }),
  fc
    .oneof(
      notAnObject,
      fc.constant({}),
      badVersion.map((fromVersion) => ({ fromVersion })),
      fc
        .oneof(
          fc.constantFrom('', ' ', '{', '{"shipping":', 'a..b', '.a', 'a.', 7, null, ['x']),
          fc.string({ maxLength: 6 }).map((s) => `{${s}`),
        )
        .filter((state) => typeof state !== 'string' || !isJsonObjectText(state))
        .map((state) => ({ fromVersion: 2, state })),
      fc
        .constantFrom('', 7, null, 'i'.repeat(201))
        .map((idPrefix) => ({ fromVersion: 2, idPrefix })),
      fc
        .stringMatching(/^[a-z]{1,8}$/)
        .filter((key) => !['fromVersion', 'state', 'idPrefix'].includes(key))
        .map((key) => ({ fromVersion: 2, [key]: 1 })),
    )
    .map((filter) => ({ filter, toVersion: 1 })),
  badVersion.map((toVersion) => ({ filter: { fromVersion: 2 }, toVersion })),
  badMigrationField.map((field) => ({ filter: { fromVersion: 2 }, toVersion: 1, ...field })),
  fc
    .stringMatching(/^[a-z]{1,8}$/)
    .filter((key) => ![...MIGRATION_FIELDS, 'filter'].includes(key))
    .map((key) => ({ filter: { fromVersion: 2 }, toVersion: 1, [key]: 1 })),
  fc
    .tuple(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 2, max: 2 ** 31 - 1 }))
    .map(([fromVersion, toVersion]) => ({ filter: { fromVersion }, toVersion, dryRun: true })),
  fc
    .integer({ min: 1, max: 2 ** 31 - 1 })
    .map((version) => ({ filter: { fromVersion: version }, toVersion: version })),
);

/** Text that parses as a JSON object (a state value a filter takes). */
function isJsonObjectText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
