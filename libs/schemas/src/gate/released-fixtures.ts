import * as avro from 'avsc';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SchemaLock } from './lock-file';

/** A golden fixture: a payload and its Avro binary under one released schema version. */
export interface ReleasedFixture {
  readonly subject: string;
  readonly version: number;
  readonly payload: Record<string, unknown>;
  /** The Avro binary (no wire-format header), hex. */
  readonly avroHex: string;
}

/** Fixtures live beside the lock file, in `fixtures/`. */
export function releasedFixturesDir(lockFile: string): string {
  return join(dirname(lockFile), 'fixtures');
}

export function fixturePath(dir: string, subject: string, version: number): string {
  return join(dir, `${subject}.v${version}.json`);
}

/** A deterministic example value for a type (no randomness: fixtures are committed). */
export function sampleValue(type: avro.Type, name = 'value'): unknown {
  switch (type.typeName) {
    case 'record':
    case 'error':
      return Object.fromEntries(
        (type as avro.types.RecordType).fields.map((field) => [
          field.name,
          sampleValue(field.type, field.name),
        ]),
      );
    case 'string':
      return `${name}-example`;
    case 'int':
      return 7;
    case 'long':
      return 4999;
    case 'float':
    case 'double':
      return 1.5;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'enum':
      return (type as avro.types.EnumType).symbols[0];
    case 'array':
      return [sampleValue((type as avro.types.ArrayType).itemsType, name)];
    case 'map':
      return { key: sampleValue((type as avro.types.MapType).valuesType, name) };
    default: {
      if (type.typeName.startsWith('union')) {
        const branches = (type as avro.types.UnwrappedUnionType).types;
        const branch = branches.find((b) => b.typeName !== 'null') ?? branches[0]!;
        return sampleValue(branch, name);
      }
      throw new Error(
        `no sample for Avro type ${type.typeName} (${name}); write this fixture by hand`,
      );
    }
  }
}

/** Writes a fixture for every released version that has none yet; returns the files written. */
export function writeMissingFixtures(lock: SchemaLock, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [subject, entry] of Object.entries(lock.subjects)) {
    for (const { version, schema } of entry.versions) {
      const path = fixturePath(dir, subject, version);
      if (existsSync(path)) continue;
      const type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema);
      const payload = sampleValue(type) as Record<string, unknown>;
      const fixture: ReleasedFixture = {
        subject,
        version,
        payload,
        avroHex: type.toBuffer(payload).toString('hex'),
      };
      writeFileSync(path, `${JSON.stringify(fixture, null, 2)}\n`);
      written.push(path);
    }
  }
  return written;
}

/**
 * The golden fixture of one released version in `dir` (`<subject>.v<version>.json`), or undefined
 * when there is none. Parsed, not validated.
 */
export function readFixture(
  dir: string,
  subject: string,
  version: number,
): ReleasedFixture | undefined {
  const path = fixturePath(dir, subject, version);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ReleasedFixture) : undefined;
}
