import { ErrorCode, EsflowError } from '@esflow/core';

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, then the Avro binary. */
export const MAGIC_BYTE = 0;
/** Bytes before the Avro binary in the wire format: the magic byte and the 4-byte schema id. */
export const HEADER_LENGTH = 5;

/**
 * Prefixes Avro binary with the Confluent header for `schemaId`. Pure; the inverse of
 * {@link unframe}.
 */
export function frame(schemaId: number, avroPayload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + avroPayload.length);
  out[0] = MAGIC_BYTE;
  new DataView(out.buffer).setUint32(1, schemaId, false);
  out.set(avroPayload, HEADER_LENGTH);
  return out;
}

/**
 * Splits Confluent-framed bytes into the schema id and the Avro binary (a view, not a copy). Throws
 * CORRUPT_EVENT when the data is shorter than the header or the magic byte is not 0.
 */
export function unframe(data: Uint8Array): { schemaId: number; payload: Uint8Array } {
  if (data.length < HEADER_LENGTH || data[0] !== MAGIC_BYTE)
    throw new EsflowError(
      ErrorCode.CorruptEvent,
      'data is not in the Confluent wire format (magic byte 0 + schema id)',
    );
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { schemaId: view.getUint32(1, false), payload: data.subarray(HEADER_LENGTH) };
}
