import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

/**
 * The PostgreSQL the suites use: ESFLOW_TEST_POSTGRES_URL, or the server these machines run on
 * 127.0.0.1:5432 (trust auth, database `test`). Each caller gets a schema of its own.
 */
export const TEST_POSTGRES_URL =
  process.env['ESFLOW_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export function uniqueSchema(prefix = 'esflow_test'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
