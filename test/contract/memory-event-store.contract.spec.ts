import { createMemoryEventStore } from '@esflow/eventstore-memory';
import { describeEventStoreContract } from './event-store.contract';

describeEventStoreContract('memory', async () => {
  const store = createMemoryEventStore();
  return { store, dispose: () => store.close() };
});
