import { ErrorCode, EsflowError, EventStore } from '@esflow/domain';

export interface EsdbEventStoreOptions {
  /** `esdb://host:2113?tls=false` or `esdb+discover://…` */
  readonly connectionString: string;
}

/** The EventStoreDB adapter (issue 4): being written; selecting it fails loudly until then. */
export function createEsdbEventStore(options: EsdbEventStoreOptions): EventStore {
  throw new EsflowError(
    ErrorCode.InvalidConfiguration,
    `ESDB_CONNECTION_STRING is set (${options.connectionString}) but the EventStoreDB adapter is not available in this build`,
  );
}
