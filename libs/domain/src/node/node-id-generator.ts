import { createHash, randomUUID } from 'node:crypto';
import { IdGenerator } from '../ports/id-generator.port';

/** esflow's UUIDv5 namespace (a fixed random UUID): deterministic ids never collide with others'. */
const ESFLOW_NAMESPACE = Buffer.from('3c1b6f0e9a8d4c2b8f6e1d2a7b9c0e4f', 'hex');

/** RFC 4122 version-5 UUID of `name` in esflow's namespace. */
export function uuidV5(name: string): string {
  const hash = createHash('sha1').update(ESFLOW_NAMESPACE).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The Node {@link IdGenerator}: random ids from `crypto.randomUUID`, deterministic ones by
 * {@link uuidV5}, so the same name gives the same id in every process and release.
 */
export const nodeIdGenerator: IdGenerator = {
  random: () => randomUUID(),
  deterministic: uuidV5,
};
