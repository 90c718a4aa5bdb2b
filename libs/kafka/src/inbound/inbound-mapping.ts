/**
 * The pure half of the inbound consumer: which {@link InboundMessageMapping} a record falls
 * under, and what message (or what problem, in words) its decoded value makes. No Kafka client,
 * no registry, no I/O: everything here is decided by its arguments.
 */
import {
  ErrorCode,
  EsflowError,
  InboundMessageMapping,
  IncomingMessage,
  MessageSource,
} from '@esflow/core';

/** A record after decoding, in plain types: where it was, its headers and its JSON-safe value. */
export interface DecodedInboundRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The decoded value, already made JSON-safe (see {@link toJsonSafe}). */
  readonly value: unknown;
  /** The type the record was matched by: its Avro record's full name, or its type header. */
  readonly sourceEventType: string;
}

/** A mapping chosen for a record, and the source event type it was chosen by. */
export interface MappingMatch {
  readonly mapping: InboundMessageMapping;
  readonly sourceEventType: string;
}

/**
 * The declared mappings, checked and indexed by topic. Matching prefers a mapping whose type
 * header names the record's type, then one naming its Avro record by full name, then by short
 * name; among equals, the first declared.
 */
export interface InboundMappingIndex {
  /** Every topic a mapping reads, each once, in declaration order. */
  readonly topics: readonly string[];
  /** The mapping whose `typeHeader` carries its `sourceEventType` in `headers`, if any. */
  byHeader(topic: string, headers: Readonly<Record<string, string>>): MappingMatch | undefined;
  /** The mapping naming Avro record `recordName` (full or short name), if any. */
  byRecordName(topic: string, recordName: string): MappingMatch | undefined;
  /** Whether some mapping of `topic` is matched by Avro record name (so the schema is needed). */
  matchesByRecordName(topic: string): boolean;
  /**
   * The header names the mappings of `topic` take source event ids from (`header:<name>`), in
   * declaration order: where the id of a record that cannot be decoded is looked for.
   */
  idHeaders(topic: string): readonly string[];
}

/** What {@link readPath} found: the value, or what stood in the way, in words. */
export type PathRead =
  | { readonly found: true; readonly value: unknown }
  | { readonly found: false; readonly problem: string };

/** What {@link toIncomingMessage} made of a record. */
export type MappedRecord =
  | { readonly ok: true; readonly message: IncomingMessage }
  | {
      readonly ok: false;
      /** Every problem found, in words, separated by `; `. */
      readonly problem: string;
      /** The key, when it could be read (empty otherwise): kept with the quarantined record. */
      readonly correlationKey: string;
      /** The source event id, when it could be read; else {@link fallbackMessageId}. */
      readonly messageId: string;
    };

const HEADER_PREFIX = 'header:';

/** The last segment of a dotted Avro full name (`com.acme.PaymentCaptured` → `PaymentCaptured`). */
export function shortName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

/** The message id of a record whose own id cannot be read: `kafka:<topic>:<partition>:<offset>`. */
export function fallbackMessageId(topic: string, partition: number, offset: string): string {
  return `kafka:${topic}:${partition}:${offset}`;
}

function invalidMapping(index: number, mapping: InboundMessageMapping, problem: string): never {
  throw new EsflowError(
    ErrorCode.InvalidConfiguration,
    `inbound mapping #${index + 1} (${mapping.topic || '?'} ${mapping.sourceEventType || '?'} → ${mapping.message || '?'}): ${problem}`,
  );
}

function checkPath(index: number, mapping: InboundMessageMapping, what: string, path: string) {
  if (typeof path !== 'string' || path.length === 0 || path.split('.').some((s) => s === ''))
    invalidMapping(index, mapping, `${what} '${String(path)}' is not a dot path (a.b.c)`);
}

function checkMapping(index: number, mapping: InboundMessageMapping): void {
  for (const field of ['topic', 'sourceEventType', 'message'] as const)
    if (typeof mapping[field] !== 'string' || mapping[field].length === 0)
      invalidMapping(index, mapping, `${field} must be a non-empty string`);
  if (mapping.typeHeader !== undefined && mapping.typeHeader.length === 0)
    invalidMapping(index, mapping, 'typeHeader, when given, must be a non-empty header name');
  checkPath(index, mapping, 'correlationKeyPath', mapping.correlationKeyPath);
  if (typeof mapping.sourceEventId !== 'string')
    invalidMapping(index, mapping, 'sourceEventId must be header:<name> or a dot path');
  if (mapping.sourceEventId.startsWith(HEADER_PREFIX)) {
    if (mapping.sourceEventId.length === HEADER_PREFIX.length)
      invalidMapping(index, mapping, `sourceEventId '${mapping.sourceEventId}' names no header`);
  } else checkPath(index, mapping, 'sourceEventId', mapping.sourceEventId);
  if (typeof mapping.payload !== 'object' || mapping.payload === null)
    invalidMapping(index, mapping, 'payload must map field names to dot paths');
  for (const [field, path] of Object.entries(mapping.payload))
    checkPath(index, mapping, `payload field '${field}'`, path);
  if (
    mapping.ttlSeconds !== undefined &&
    !(Number.isSafeInteger(mapping.ttlSeconds) && mapping.ttlSeconds > 0)
  )
    invalidMapping(index, mapping, 'ttlSeconds, when given, must be a positive whole number');
}

/**
 * Checks `mappings` and indexes them by topic. Throws an INVALID_CONFIGURATION
 * {@link EsflowError} naming the mapping and the problem for an empty topic, type or message
 * name, a path that is not a dot path, a `header:` with no name, a ttl that is not a positive whole
 * number, or two mappings of one topic matched by the same type (the same header and value, or
 * the same record name): a record must become one message, because its source event id is the
 * message id.
 */
export function indexInboundMappings(
  mappings: readonly InboundMessageMapping[],
): InboundMappingIndex {
  const byTopic = new Map<string, InboundMessageMapping[]>();
  const seen = new Map<string, number>();
  mappings.forEach((mapping, index) => {
    checkMapping(index, mapping);
    const matchKey = `${mapping.topic}\u0000${mapping.typeHeader ?? ''}\u0000${mapping.sourceEventType}`;
    const earlier = seen.get(matchKey);
    if (earlier !== undefined)
      invalidMapping(
        index,
        mapping,
        `mapping #${earlier + 1} already maps ${mapping.sourceEventType} on ${mapping.topic}`,
      );
    seen.set(matchKey, index);
    byTopic.set(mapping.topic, [...(byTopic.get(mapping.topic) ?? []), mapping]);
  });
  const of = (topic: string) => byTopic.get(topic) ?? [];
  const headerMapped = (topic: string) => of(topic).filter((m) => m.typeHeader !== undefined);
  const nameMapped = (topic: string) => of(topic).filter((m) => m.typeHeader === undefined);

  return {
    topics: [...byTopic.keys()],
    byHeader(topic, headers) {
      const mapping = headerMapped(topic).find((m) => headers[m.typeHeader!] === m.sourceEventType);
      return mapping && { mapping, sourceEventType: mapping.sourceEventType };
    },
    byRecordName(topic, recordName) {
      const candidates = nameMapped(topic);
      const mapping =
        candidates.find((m) => m.sourceEventType === recordName) ??
        candidates.find(
          (m) => !m.sourceEventType.includes('.') && m.sourceEventType === shortName(recordName),
        );
      return mapping && { mapping, sourceEventType: recordName };
    },
    matchesByRecordName: (topic) => nameMapped(topic).length > 0,
    idHeaders: (topic) => [
      ...new Set(
        of(topic)
          .filter((m) => m.sourceEventId.startsWith(HEADER_PREFIX))
          .map((m) => m.sourceEventId.slice(HEADER_PREFIX.length)),
      ),
    ],
  };
}

/** How a value is named in a problem: `a string`, `null`, `a record`, ... */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return value.length === 0 ? 'an empty string' : 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return `${value}`;
    case 'object':
      return 'a record';
    default:
      return `a ${typeof value}`;
  }
}

/**
 * Reads dot path `path` (`order.id`; `items.0.sku` indexes an array) out of `value`, following
 * own fields only. When it cannot, says where it stopped: `path 'order.id': 'order' is missing`,
 * or `... 'order' is a string, not a record`.
 */
export function readPath(value: unknown, path: string): PathRead {
  const segments = path.split('.');
  let current = value;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const upTo = segments.slice(0, i).join('.');
    const container = i === 0 ? 'the value' : `'${upTo}'`;
    if (current === null || typeof current !== 'object')
      return {
        found: false,
        problem: `path '${path}': ${container} is ${describeValue(current)}, not a record`,
      };
    if (!Object.hasOwn(current, segment))
      return {
        found: false,
        problem: `path '${path}': '${segments.slice(0, i + 1).join('.')}' is missing`,
      };
    current = (current as Record<string, unknown>)[segment];
  }
  return { found: true, value: current };
}

/** A key or an id as text: a non-empty string as it is, a finite number in decimal. */
function asText(read: PathRead, what: string): { text: string } | { problem: string } {
  if (!read.found) return { problem: `${what}: ${read.problem}` };
  const { value } = read;
  if (typeof value === 'string' && value.length > 0) return { text: value };
  if (typeof value === 'number' && Number.isFinite(value))
    return { text: Number.isInteger(value) ? BigInt(value).toString() : String(value) };
  return { problem: `${what} is ${describeValue(value)}, not a non-empty string or a number` };
}

function readHeader(headers: Readonly<Record<string, string>>, name: string): PathRead {
  return Object.hasOwn(headers, name)
    ? { found: true, value: headers[name] }
    : { found: false, problem: `header '${name}' is missing` };
}

/** Reads a mapping's `sourceEventId` (`header:<name>` or a path) from a record. */
export function readSourceEventId(
  sourceEventId: string,
  headers: Readonly<Record<string, string>>,
  value: unknown,
): PathRead {
  return sourceEventId.startsWith(HEADER_PREFIX)
    ? readHeader(headers, sourceEventId.slice(HEADER_PREFIX.length))
    : readPath(value, sourceEventId);
}

const isLongLike = (value: object): value is { low: number; high: number; unsigned: boolean } =>
  typeof (value as { low?: unknown }).low === 'number' &&
  typeof (value as { high?: unknown }).high === 'number' &&
  typeof (value as { unsigned?: unknown }).unsigned === 'boolean';

const integerToJson = (value: bigint): number | string =>
  value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();

/**
 * A decoded Avro value made JSON-safe, so that it survives `JSON.stringify` unchanged:
 * bytes (Buffer, Uint8Array) become base64 text; a long (bigint, or a Long with `low`, `high`,
 * `unsigned`) becomes a number when it is a safe integer, else its decimal text; a non-finite
 * double its text (`NaN`); a Date its ISO-8601 instant; records (avsc's classes too), maps and
 * arrays are copied field by field; `undefined` becomes null.
 */
export function toJsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return integerToJson(value);
    case 'object':
      break;
    default:
      return String(value);
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (value instanceof Map)
    return Object.fromEntries([...value].map(([k, v]) => [String(k), toJsonSafe(v)]));
  if (isLongLike(value)) {
    const bits = (BigInt(value.high) << 32n) | BigInt(value.low >>> 0);
    return integerToJson(value.unsigned ? BigInt.asUintN(64, bits) : BigInt.asIntN(64, bits));
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .map(([key, field]) => [key, toJsonSafe(field)]),
  );
}

/**
 * The message `mapping` makes of `record`: its name, the correlation key and source event id
 * (each a non-empty string, or a number as its decimal text), the payload fields from their paths,
 * the mapping's ttl, and where the record was. When something cannot be read, every problem is
 * given in words (`correlation key: path 'order.id': 'order' is missing`), with the key and id
 * that could be read, for quarantining the record.
 */
export function toIncomingMessage(
  mapping: InboundMessageMapping,
  record: DecodedInboundRecord,
): MappedRecord {
  const problems: string[] = [];
  const key = asText(readPath(record.value, mapping.correlationKeyPath), 'correlation key');
  if ('problem' in key) problems.push(key.problem);
  const id = asText(
    readSourceEventId(mapping.sourceEventId, record.headers, record.value),
    `source event id (${mapping.sourceEventId})`,
  );
  if ('problem' in id) problems.push(id.problem);
  const payload: Record<string, unknown> = {};
  for (const [field, path] of Object.entries(mapping.payload)) {
    const read = readPath(record.value, path);
    if (read.found) payload[field] = read.value;
    else problems.push(`payload field '${field}': ${read.problem}`);
  }
  const correlationKey = 'text' in key ? key.text : '';
  const messageId =
    'text' in id ? id.text : fallbackMessageId(record.topic, record.partition, record.offset);
  if (problems.length > 0)
    return { ok: false, problem: problems.join('; '), correlationKey, messageId };
  const source: MessageSource = {
    kind: 'kafka',
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    sourceEventType: record.sourceEventType,
  };
  return {
    ok: true,
    message: {
      name: mapping.message,
      correlationKey,
      messageId,
      payload,
      ...(mapping.ttlSeconds === undefined ? {} : { ttlSeconds: mapping.ttlSeconds }),
      source,
    },
  };
}
