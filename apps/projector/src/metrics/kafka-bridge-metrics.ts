import { Gauge, Histogram, Registry } from 'prom-client';
import { BridgeTransaction, KafkaBridge, KafkaBridgeState } from '@esflow/kafka';
import { mirroredCounter } from '@esflow/nest';

/**
 * `esflow_kafka_bridge_transaction_duration_seconds{outcome}`: how long each of the bridge's
 * Kafka transactions took (its produce requests and the commit), by `committed` or `failed`;
 * the bridge reports each one to the listener this returns.
 */
export function kafkaBridgeTransactionMetrics(
  registry: Registry,
): (transaction: BridgeTransaction) => void {
  const duration = new Histogram({
    name: 'esflow_kafka_bridge_transaction_duration_seconds',
    help: "How long each of the Kafka bridge's transactions took (produce requests and commit), by outcome: committed, failed",
    labelNames: ['outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (transaction) =>
    duration.observe(
      { outcome: transaction.committed ? 'committed' : 'failed' },
      transaction.durationMs / 1000,
    );
}

/**
 * The Kafka bridge's status as metrics, read at each scrape: its lag behind the store (events
 * and the oldest one's age), the events and transactions this process committed, and its state
 * (`esflow_kafka_bridge_state{state}` is 1 for the current one, 0 for the others).
 */
export function registerKafkaBridgeMetrics(registry: Registry, bridge: KafkaBridge): void {
  const registers = [registry];
  new Gauge({
    name: 'esflow_kafka_bridge_lag_events',
    help: 'Events of the workflow streams committed to the store and not yet to Kafka',
    registers,
    collect() {
      this.set(bridge.status().lag.events);
    },
  });
  new Gauge({
    name: 'esflow_kafka_bridge_lag_seconds',
    help: 'Age of the oldest event not yet committed to Kafka (0 when caught up)',
    registers,
    collect() {
      this.set(bridge.status().lag.seconds);
    },
  });
  mirroredCounter(registry, {
    name: 'esflow_kafka_bridge_published_events_total',
    help: 'Events this process committed to Kafka (exactly once, in store order)',
    read: () => bridge.status().publishedEvents,
  });
  mirroredCounter(registry, {
    name: 'esflow_kafka_bridge_transactions_total',
    help: 'Kafka transactions (batches of events plus their checkpoint) this process committed',
    read: () => bridge.status().transactions,
  });
  new Gauge({
    name: 'esflow_kafka_bridge_state',
    help: "1 for the bridge's current state (running, catchingUp, retrying, stopped, fenced), 0 for the others",
    labelNames: ['state'],
    registers,
    collect() {
      const { status } = bridge.status();
      for (const state of Object.values(KafkaBridgeState))
        if (state !== KafkaBridgeState.Disabled) this.set({ state }, state === status ? 1 : 0);
    },
  });
}
