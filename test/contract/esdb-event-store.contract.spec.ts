import { describe, it } from 'vitest';
import * as vitest from 'vitest';
import { createEsdbEventStore } from '@esflow/eventstoredb';
import { startEsdbWireDouble } from '../doubles/esdb/esdb-wire-double';
import { describeEventStoreContract } from '@esflow/testing';

// Always: the adapter over the real client and the real gRPC protocol, against the wire double
// (a TEST DOUBLE of EventStoreDB's protocol, see test/doubles/esdb/README.md; not EventStoreDB).
describeEventStoreContract(
  'eventstoredb adapter against the esdb-wire-double',
  async () => {
    const double = await startEsdbWireDouble();
    const store = createEsdbEventStore({ connectionString: double.connectionString });
    return {
      store,
      dispose: async () => {
        await store.close();
        await double.stop();
      },
    };
  },
  vitest,
  // EventStoreDB has no count of $all: lag and rebuild totals are counted by reading there.
  { countEvents: false, findEvent: false, readStreamStarts: false },
);

// Whenever a real server is given (e.g. `docker compose up -d` and
// ESDB_CONNECTION_STRING=esdb://localhost:2113?tls=false), the same suite runs against it.
const realServer = process.env['ESDB_CONNECTION_STRING'];
if (realServer) {
  describeEventStoreContract(
    `eventstoredb adapter against ${realServer}`,
    async () => {
      const store = createEsdbEventStore({ connectionString: realServer });
      return { store, dispose: () => store.close() };
    },
    vitest,
    { countEvents: false, findEvent: false, readStreamStarts: false },
  );
} else {
  const reason =
    'ESDB_CONNECTION_STRING not set: the contract suite ran against the wire double only';
  describe('event store contract: eventstoredb adapter against a real EventStoreDB server', () => {
    console.info(reason);
    it.skipIf(!realServer)(reason, () => undefined);
  });
}
