export * from './schema-catalog';
export * from './payload-validator';
export * from './wire-format';
export * from './avro-payload-codec';
export * from './registry/schema-registry.port';
export * from './registry/embedded-schema-registry';
