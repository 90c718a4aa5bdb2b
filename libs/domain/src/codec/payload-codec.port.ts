import { ValidationIssue } from '../errors/esflow-error';
import { SchemaReference } from '../workflow/event-metadata';

/** An encoded payload: the bytes to store, and the registered schema they were written with. */
export interface EncodedPayload {
  /** Bytes as stored and published (Confluent wire format: magic byte, schema id, Avro). */
  readonly data: Uint8Array;
  readonly schema: SchemaReference;
}

/**
 * Validates, encodes and decodes event payloads by schema name (the Avro record's full name,
 * e.g. `esflow.orderFulfillment.PaymentReceived`). Implemented by libs/schemas over Avro and a
 * schema registry.
 */
export interface PayloadCodec {
  hasSchema(schemaName: string): boolean;
  /** Every broken rule, each naming the field path; empty when the payload is valid. */
  validate(schemaName: string, payload: unknown): readonly ValidationIssue[];
  /** Encodes a valid payload under the schema's registered id. */
  encode(schemaName: string, payload: unknown): Promise<EncodedPayload>;
  /**
   * Decodes bytes written under any registered version of the schema into the current
   * (reader) version, by Avro schema resolution.
   */
  decode(schemaName: string, data: Uint8Array): Promise<Record<string, unknown>>;
  /**
   * The current (reader) Avro schema of `schemaName` as JSON, named types inlined, or undefined
   * when there is none. Optional: tools such as the debugger UI build forms from it.
   */
  schemaOf?(schemaName: string): unknown;
}
