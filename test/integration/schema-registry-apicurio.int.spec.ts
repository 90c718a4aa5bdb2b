import { createConfluentHttpRegistry } from '@esflow/schemas';
import * as vitest from 'vitest';
import { startSchemaRegistry } from '../support/infra/schema-registry.mjs';
import { describeSchemaRegistryContract } from '@esflow/testing';

// A real Confluent-compatible registry (Apicurio Registry, installed by Maven), started here.
describeSchemaRegistryContract(
  'Confluent-compatible HTTP (Apicurio Registry)',
  async () => {
    const server = await startSchemaRegistry();
    const registry = createConfluentHttpRegistry({ url: server.url });
    return {
      registry,
      dispose: async () => {
        await registry.close();
        await server.stop();
      },
    };
  },
  vitest,
);
