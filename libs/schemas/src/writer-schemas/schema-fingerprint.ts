import { createHash } from 'node:crypto';
import * as avro from 'avsc';

/**
 * The canonical text of an Avro schema: parsed and written back with full names and a fixed key
 * order, docs, defaults and aliases kept. Two texts of one schema (other whitespace, key order or
 * short names) have the same canonical text; a schema that differs in anything Avro keeps does not.
 */
export function canonicalSchema(schema: string): string {
  return JSON.stringify(
    avro.Type.forSchema(JSON.parse(schema) as avro.Schema).schema({ exportAttrs: true }),
  );
}

/**
 * The fingerprint esflow keeps beside each writer schema: `sha256:` and the SHA-256 of its
 * {@link canonicalSchema}. A text that is not an Avro schema (another client's JSON Schema or
 * Protobuf under the same id) gets `raw:` and the hash of the text, which no Avro schema matches.
 */
export function schemaFingerprint(schema: string): string {
  let canonical: string;
  try {
    canonical = canonicalSchema(schema);
  } catch {
    return `raw:${createHash('sha256').update(schema, 'utf8').digest('hex')}`;
  }
  return `sha256:${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}
