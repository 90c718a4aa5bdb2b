import { ErrorCode, EsflowError } from '@esflow/core';

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, then the Avro binary. */
export const MAGIC_BYTE = 0;
export const HEADER_LENGTH = 5;

export function frame(schemaId: number, avroPayload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + avroPayload.length);
  out[0] = MAGIC_BYTE;
  new DataView(out.buffer).setUint32(1, schemaId, false);
  out.set(avroPayload, HEADER_LENGTH);
  return out;
}

export function unframe(data: Uint8Array): { schemaId: number; payload: Uint8Array } {
  if (data.length < HEADER_LENGTH || data[0] !== MAGIC_BYTE)
    throw new EsflowError(
      ErrorCode.CorruptEvent,
      'data is not in the Confluent wire format (magic byte 0 + schema id)',
    );
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { schemaId: view.getUint32(1, false), payload: data.subarray(HEADER_LENGTH) };
}
