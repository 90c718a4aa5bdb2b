import { createPostgresReadModelStore } from '@esflow/postgres';
import * as vitest from 'vitest';
import { dropSchema, TEST_POSTGRES_URL, uniqueSchema } from '../support/postgres';
import { describeReadModelStoreContract } from '@esflow/testing';

// A real PostgreSQL server (see test/support/postgres.ts for which one).
describeReadModelStoreContract(
  'postgresql',
  async () => {
    const schema = uniqueSchema();
    const store = createPostgresReadModelStore({ connectionString: TEST_POSTGRES_URL, schema });
    return {
      store,
      dispose: async () => {
        await store.close();
        await dropSchema(schema);
      },
    };
  },
  vitest,
);
