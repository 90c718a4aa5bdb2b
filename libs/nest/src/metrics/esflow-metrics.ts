import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EngineObserver, EventStore, WorkflowEngine } from '@esflow/core';

/** Latency buckets in seconds, from 0.5 ms (a cached send) to 5 s (a stalled store). */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** Appends carried by one group commit (the store batches at most 256 by default). */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/**
 * A counter that mirrors a monotonic figure read at scrape time (a store's or cache's own
 * count): each scrape adds what the figure grew by since the last one.
 */
export function mirroredCounter(
  registry: Registry,
  config: { readonly name: string; readonly help: string; readonly read: () => number },
): Counter {
  let last = 0;
  return new Counter({
    name: config.name,
    help: config.help,
    registers: [registry],
    collect() {
      const now = config.read();
      if (now > last) this.inc(now - last);
      last = Math.max(last, now);
    },
  });
}

/**
 * The Prometheus metrics of one esflow application, in one registry that its `/metrics`
 * endpoint renders and its own modules may add to (`registry`): the process defaults; every
 * transition by workflow, event type and outcome; lost races for a revision; the engine's
 * appends and the store's group commits; the instance cache. The api and the projector add their
 * own (timers, commands, messages, projections, the Kafka bridge) to the same registry.
 *
 * Guarantees: every label is bounded by what the application registers (workflow names, the
 * event types their definitions declare, outcomes, error codes, route templates), never an
 * instance id, a key or a caller's text; observing costs a counter increment on the request's
 * path and nothing else.
 */
export class EsflowMetrics {
  /** The application's registry: register more metrics on it with `registers: [registry]`. */
  readonly registry = new Registry();
  /** What the engine is built with: counts its transitions, conflicts and appends here. */
  readonly engineObserver: EngineObserver;

  constructor(store: EventStore) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const transitions = new Counter({
      name: 'esflow_transitions_total',
      help: 'Requests to move an instance (starts, events, timer fires, command outcomes, terminations) by workflow, event type and outcome: recorded, replayed (a repeat, nothing appended), rejected (with its code)',
      labelNames: ['workflow', 'event_type', 'outcome', 'code'],
      registers,
    });
    const conflicts = new Counter({
      name: 'esflow_revision_conflicts_total',
      help: "Appends that lost the race for an instance's revision, by workflow and resolution: retried (reloaded and decided again), returned (the answer was 409 REVISION_CONFLICT)",
      labelNames: ['workflow', 'resolution'],
      registers,
    });
    const appendDuration = new Histogram({
      name: 'esflow_store_append_duration_seconds',
      help: "How long the engine's appends took, from the call to durable (a group commit's wait included), by workflow",
      labelNames: ['workflow'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.engineObserver = {
      transition: ({ workflow, eventType, outcome, code }) =>
        transitions.inc({ workflow, event_type: eventType, outcome, code: code ?? 'none' }),
      revisionConflict: (workflow, resolution) => conflicts.inc({ workflow, resolution }),
      appended: (workflow, _events, durationMs) =>
        appendDuration.observe({ workflow }, durationMs / 1000),
    };
    this.observeStore(store);
  }

  /** The instance cache's figures of `engine` (made after this, with its observer). */
  observeEngine(engine: WorkflowEngine): void {
    const { registry } = this;
    new Gauge({
      name: 'esflow_instance_cache_instances',
      help: 'Instances kept rehydrated in memory',
      registers: [registry],
      collect() {
        this.set(engine.cacheStats().instances);
      },
    });
    new Gauge({
      name: 'esflow_instance_cache_bytes',
      help: 'Bytes of event data the instance cache holds (bounded by ESFLOW_INSTANCE_CACHE_BYTES)',
      registers: [registry],
      collect() {
        this.set(engine.cacheStats().bytes);
      },
    });
    mirroredCounter(registry, {
      name: 'esflow_instance_cache_hits_total',
      help: 'Looks at an instance answered from the instance cache (no read of its whole stream)',
      read: () => engine.cacheStats().hits,
    });
    mirroredCounter(registry, {
      name: 'esflow_instance_cache_misses_total',
      help: 'Loads of an instance that was not cached and replayed its stream (from a snapshot when one is kept)',
      read: () => engine.cacheStats().misses,
    });
  }

  /** The store's group-commit figures, where it has them (SQLite). */
  private observeStore(store: EventStore): void {
    const { registry } = this;
    const stats = store.stats?.bind(store);
    if (stats) {
      mirroredCounter(registry, {
        name: 'esflow_store_commits_total',
        help: 'Transactions (fsyncs) committed by the event store',
        read: () => stats().commits,
      });
      mirroredCounter(registry, {
        name: 'esflow_store_appends_total',
        help: 'Append requests committed by the event store',
        read: () => stats().appends,
      });
      mirroredCounter(registry, {
        name: 'esflow_store_events_total',
        help: 'Events written by the event store',
        read: () => stats().events,
      });
    }
    if (!store.observeCommits) return;
    const batch = new Histogram({
      name: 'esflow_store_commit_batch_appends',
      help: 'Appends carried by one group commit (one transaction, one fsync)',
      buckets: BATCH_BUCKETS,
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'esflow_store_commit_duration_seconds',
      help: 'How long one group commit took, fsync included',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    store.observeCommits((commit) => {
      batch.observe(commit.appends);
      duration.observe(commit.durationMs / 1000);
    });
  }
}
