import type { EsflowEventMetadata } from '@esflow/core';

// The SQLite store's compact form of an event's JSON metadata. Most of what esflow records beside
// an event repeats what its stream already says (the workflow, the instance, the correlation id),
// names one of a few values (a state, a schema, a status) or is a UUID, a hash or a time written
// out as text. So an event's metadata is stored as: the id of its shape (the list of its keys,
// kept once in the store's dictionary), then one tagged value per key — "as in the stream's
// base" (the first event's metadata, kept once per stream), "this event's id", a dictionary
// entry, 16 bytes of UUID, a time as milliseconds from the record time, and so on; whatever fits
// none of those is kept as text. Decoding gives back exactly the JSON value that was encoded: the
// same keys in the same order, the same values.
//
// The codec itself is pure: it reaches the dictionary through the two functions it is given, so
// it runs the same on the commit thread and on the reading thread. It loads nothing but Node.

/** What a dictionary entry names: a metadata value, a shape (its keys, in order), or an event type. */
export const DictionaryKind = { Value: 0, Shape: 1, EventType: 2 } as const;
export type DictionaryKind = (typeof DictionaryKind)[keyof typeof DictionaryKind];

/**
 * The top-level keys whose values are interned in the dictionary: each takes one of a bounded
 * set of values (a definition's states, its schemas, the statuses), so the dictionary stays
 * small however many events are stored. Values of any other key are never interned.
 */
const INTERNED_KEYS: ReadonlySet<string> = new Set([
  'category',
  'workflow',
  'schema',
  'stateBefore',
  'stateAfter',
  'statusAfter',
  // The metadata of the registry's WriterSchemaKept events.
  'contentType',
] satisfies (keyof EsflowEventMetadata | 'contentType')[]);

/** The JSON value a metadata key holds. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The stream's base (its first event's metadata) with each value's JSON text, for comparison. */
export interface MetadataBase {
  readonly values: JsonObject;
  readonly texts: ReadonlyMap<string, string>;
}

/** Makes the {@link MetadataBase} of a stream whose first event's metadata is `values`. */
export function metadataBase(values: JsonObject): MetadataBase {
  const texts = new Map<string, string>();
  for (const key of Object.keys(values))
    if (isObjectLike(values[key])) texts.set(key, JSON.stringify(values[key]));
  return { values, texts };
}

/** What the encoder needs to know besides the metadata. */
export interface EncodeContext {
  readonly eventId: string;
  /** The event's record time (ms): times are stored relative to it. */
  readonly recordedAt: number;
  /** The stream's base; absent when encoding the base itself. */
  readonly base?: MetadataBase;
  /** The dictionary id of `json` (a value's JSON text, or a shape's keys as a JSON array). */
  readonly intern: (kind: DictionaryKind, json: string) => number;
}

/** What the decoder needs to know besides the bytes. */
export interface DecodeContext {
  readonly eventId: string;
  readonly recordedAt: number;
  readonly base?: JsonObject;
  /** The value of a dictionary entry (a shape's entry: its keys). Throws when it is unknown. */
  readonly lookup: (id: number) => unknown;
}

const Tag = {
  Null: 0,
  True: 1,
  False: 2,
  /** As in the stream's base. */
  Base: 3,
  /** This event's own id. */
  Self: 4,
  /** A dictionary entry (varint id). */
  Dictionary: 5,
  /** A canonical lowercase UUID: 16 bytes. */
  Uuid: 6,
  /** An ISO-8601 UTC time with milliseconds: zig-zag varint ms from the record time. */
  Time: 7,
  /** A string: varint byte length, UTF-8. */
  String: 8,
  /** An integer of magnitude up to 2^52: zig-zag varint. */
  Integer: 9,
  /** Lowercase hex of 8 bytes or more: varint byte length, the bytes. */
  Hex: 10,
  /** Anything else (a fraction, an array): varint byte length, its JSON text. */
  Json: 11,
  /** An object: varint shape id, then one value per key. */
  Object: 12,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX = /^(?:[0-9a-f]{2}){8,}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The 16 bytes of a canonical lowercase UUID, or undefined for any other string. */
export function uuidBytes(value: string): Buffer | undefined {
  return UUID.test(value) ? Buffer.from(value.replace(/-/g, ''), 'hex') : undefined;
}

const HEX_PAIRS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** The canonical text of a UUID's 16 bytes (a table of hex pairs: reads make many of these). */
export function uuidText(bytes: Uint8Array): string {
  const h = (i: number) => HEX_PAIRS[bytes[i]!]!;
  return (
    h(0) +
    h(1) +
    h(2) +
    h(3) +
    '-' +
    h(4) +
    h(5) +
    '-' +
    h(6) +
    h(7) +
    '-' +
    h(8) +
    h(9) +
    '-' +
    h(10) +
    h(11) +
    h(12) +
    h(13) +
    h(14) +
    h(15)
  );
}

/** An integer whose zig-zag form (twice its magnitude) is still exact in a double. */
const fitsZigzag = (value: number) => Number.isInteger(value) && Math.abs(value) <= 2 ** 52;

function isObjectLike(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

class ByteWriter {
  private bytes = Buffer.allocUnsafe(256);
  private length = 0;

  private room(needed: number): void {
    if (this.length + needed <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + needed));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  byte(value: number): void {
    this.room(1);
    this.bytes[this.length++] = value;
  }

  /** An unsigned integer up to 2^53, seven bits a byte (LEB128). */
  varint(value: number): void {
    this.room(8);
    while (value >= 0x80) {
      this.bytes[this.length++] = value % 0x80 | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.bytes[this.length++] = value;
  }

  /** An integer up to 2^52 in magnitude, small ones in few bytes whatever the sign. */
  zigzag(value: number): void {
    this.varint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  text(value: string): void {
    const size = Buffer.byteLength(value);
    this.varint(size);
    this.room(size);
    this.length += this.bytes.write(value, this.length, 'utf8');
  }

  result(): Buffer {
    return Buffer.from(this.bytes.subarray(0, this.length));
  }
}

class ByteReader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.offset >= this.bytes.length) throw new Error('compact metadata ends early');
    return this.bytes[this.offset++]!;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }

  zigzag(): number {
    const value = this.varint();
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }

  raw(size: number): Uint8Array {
    if (this.offset + size > this.bytes.length) throw new Error('compact metadata ends early');
    const slice = this.bytes.subarray(this.offset, this.offset + size);
    this.offset += size;
    return slice;
  }

  text(): string {
    const slice = this.raw(this.varint());
    return Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength).toString('utf8');
  }

  done(): boolean {
    return this.offset === this.bytes.length;
  }
}

/**
 * The compact form of `metadata`, a JSON object as `JSON.parse` gives it. Interns what it needs
 * in the dictionary through `context.intern`.
 */
export function encodeMetadata(metadata: JsonObject, context: EncodeContext): Buffer {
  const out = new ByteWriter();
  const base = context.base;
  const keys = Object.keys(metadata);
  out.varint(context.intern(DictionaryKind.Shape, JSON.stringify(keys)));
  for (const key of keys) {
    const value = metadata[key]!;
    if (base && Object.hasOwn(base.values, key)) {
      const baseValue = base.values[key];
      const same = isObjectLike(value)
        ? base.texts.get(key) === JSON.stringify(value)
        : baseValue === value && !Object.is(value, -0);
      if (same) {
        out.byte(Tag.Base);
        continue;
      }
    }
    if (INTERNED_KEYS.has(key)) {
      out.byte(Tag.Dictionary);
      out.varint(context.intern(DictionaryKind.Value, JSON.stringify(value)));
      continue;
    }
    encodeValue(out, value, context);
  }
  return out.result();
}

function encodeValue(out: ByteWriter, value: JsonValue, context: EncodeContext): void {
  if (value === null) return out.byte(Tag.Null);
  if (value === true) return out.byte(Tag.True);
  if (value === false) return out.byte(Tag.False);
  if (typeof value === 'number') {
    if (fitsZigzag(value) && !Object.is(value, -0)) {
      out.byte(Tag.Integer);
      return out.zigzag(value);
    }
    out.byte(Tag.Json);
    return out.text(JSON.stringify(value));
  }
  if (typeof value === 'string') return encodeString(out, value, context);
  if (Array.isArray(value)) {
    out.byte(Tag.Json);
    return out.text(JSON.stringify(value));
  }
  const keys = Object.keys(value);
  out.byte(Tag.Object);
  out.varint(context.intern(DictionaryKind.Shape, JSON.stringify(keys)));
  for (const key of keys) encodeValue(out, value[key]!, context);
}

function encodeString(out: ByteWriter, value: string, context: EncodeContext): void {
  if (value === context.eventId) return out.byte(Tag.Self);
  const uuid = uuidBytes(value);
  if (uuid) {
    out.byte(Tag.Uuid);
    return out.raw(uuid);
  }
  if (ISO_TIME.test(value)) {
    const time = Date.parse(value);
    // Only a time that prints back as the same text (a valid date, in range).
    if (fitsZigzag(time - context.recordedAt) && new Date(time).toISOString() === value) {
      out.byte(Tag.Time);
      return out.zigzag(time - context.recordedAt);
    }
  }
  if (HEX.test(value)) {
    out.byte(Tag.Hex);
    out.varint(value.length / 2);
    return out.raw(Buffer.from(value, 'hex'));
  }
  out.byte(Tag.String);
  out.text(value);
}

/** The JSON object `bytes` (from {@link encodeMetadata}) stands for. */
export function decodeMetadata(bytes: Uint8Array, context: DecodeContext): JsonObject {
  const input = new ByteReader(bytes);
  const keys = shapeKeys(context.lookup(input.varint()));
  const metadata: JsonObject = {};
  for (const key of keys) {
    const tag = input.byte();
    if (tag === Tag.Base) {
      const base = context.base;
      if (!base || !Object.hasOwn(base, key))
        throw new Error(`compact metadata: no base value for ${key}`);
      setKey(metadata, key, copyJson(base[key]!));
    } else setKey(metadata, key, decodeValue(input, tag, context));
  }
  if (!input.done()) throw new Error('compact metadata: bytes left over');
  return metadata;
}

function decodeValue(input: ByteReader, tag: number, context: DecodeContext): JsonValue {
  switch (tag) {
    case Tag.Null:
      return null;
    case Tag.True:
      return true;
    case Tag.False:
      return false;
    case Tag.Self:
      return context.eventId;
    case Tag.Dictionary:
      return copyJson(context.lookup(input.varint()) as JsonValue);
    case Tag.Uuid:
      return uuidText(input.raw(16));
    case Tag.Time:
      return new Date(context.recordedAt + input.zigzag()).toISOString();
    case Tag.String:
      return input.text();
    case Tag.Integer:
      return input.zigzag();
    case Tag.Hex: {
      const slice = input.raw(input.varint());
      return Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength).toString('hex');
    }
    case Tag.Json:
      return JSON.parse(input.text()) as JsonValue;
    case Tag.Object: {
      const keys = shapeKeys(context.lookup(input.varint()));
      const value: JsonObject = {};
      for (const key of keys) setKey(value, key, decodeValue(input, input.byte(), context));
      return value;
    }
    default:
      throw new Error(`compact metadata: unknown tag ${tag}`);
  }
}

function shapeKeys(entry: unknown): readonly string[] {
  if (!Array.isArray(entry)) throw new Error('compact metadata: a shape entry is not a key list');
  return entry as string[];
}

/** A fresh copy of a JSON value, so that no two decoded events share an object. */
function copyJson(value: JsonValue): JsonValue {
  if (!isObjectLike(value)) return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) setKey(copy, key, copyJson(value[key]!));
  return copy;
}

/** `object[key] = value`, also for the key `__proto__` (which JSON.parse makes an own key). */
function setKey(object: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else object[key] = value;
}
