import { Controller, Get, Header, Inject } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { InboundMessageConsumer, KafkaBridge } from '@esflow/kafka';
import { KAFKA_INBOUND } from '../kafka-inbound/kafka-inbound.module';
import { KAFKA_BRIDGE } from '../kafka-bridge/kafka-bridge.module';
import {
  ESFLOW_METRICS,
  ESFLOW_RUNTIME,
  EsflowMetrics,
  EsflowRuntime,
  ProjectionStatuses,
  ProjectorService,
  registerMessageMetrics,
  registerProjectionMetrics,
} from '@esflow/nest';
import { registerKafkaBridgeMetrics } from './kafka-bridge-metrics';

/**
 * Prometheus metrics of the projector, on the application's one registry (`EsflowMetrics`:
 * process defaults, the transitions and appends its timer fires and command outcomes make, the
 * store's group commits); the projections' lag and progress; the Kafka bridge's lag, published
 * events and transaction time (when Kafka is configured); the timer service's work — timers
 * indexed by what happened to them (scheduled, fired, cancelled, superseded), fire attempts by
 * outcome, failed attempts, and how late the fired ones were; and the command dispatcher's —
 * command facts indexed (dispatched, completed, retried, incidents...), in-process attempts by
 * command type and outcome, and how long the handlers took; and the messages the correlation
 * service and the inbound consumer settled (see `registerMessageMetrics`). Labels are bounded:
 * command types, outcomes and reasons, never ids.
 */
@Controller('metrics')
export class ProjectorMetricsController {
  private readonly registry: Registry;

  constructor(
    projector: ProjectorService,
    projections: ProjectionStatuses,
    @Inject(ESFLOW_METRICS) metrics: EsflowMetrics,
    @Inject(ESFLOW_RUNTIME) runtime: EsflowRuntime,
    @Inject(KAFKA_INBOUND) inbound: InboundMessageConsumer | null,
    @Inject(KAFKA_BRIDGE) bridge: KafkaBridge | null,
  ) {
    this.registry = metrics.registry;
    const registers = [this.registry];
    registerProjectionMetrics(this.registry, projections);
    if (bridge) registerKafkaBridgeMetrics(this.registry, bridge);
    const indexed = new Counter({
      name: 'esflow_timers_indexed_total',
      help: 'Timer facts the timer service indexed: scheduled, fired, cancelled, superseded (an event won the race)',
      labelNames: ['change'],
      registers,
    });
    const attempts = new Counter({
      name: 'esflow_timer_fires_total',
      help: 'Fire attempts by outcome: fired, alreadyFired (recorded before), notPending (cancelled or superseded)',
      labelNames: ['outcome'],
      registers,
    });
    const failures = new Counter({
      name: 'esflow_timer_fire_failures_total',
      help: 'Fire attempts that failed and will be tried again after a back-off',
      registers,
    });
    const lateness = new Histogram({
      name: 'esflow_timer_lateness_seconds',
      help: 'How long after its due time each timer fired',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    projector.observeTimers({
      indexed: (change) =>
        indexed.inc({ change: change.kind === 'scheduled' ? 'scheduled' : change.status }),
      fired: (_timer, outcome, latenessMs) => {
        attempts.inc({ outcome });
        if (latenessMs !== null) lateness.observe(latenessMs / 1000);
      },
      failed: () => failures.inc(),
    });
    this.observeCommands(projector, registers);
    registerMessageMetrics(this.registry, {
      correlator: runtime.messages,
      index: runtime.messageIndex,
    });
    if (inbound) this.observeInbound(inbound, registers);
  }

  private observeInbound(inbound: InboundMessageConsumer, registers: Registry[]): void {
    new Gauge({
      name: 'esflow_inbound_consumer_lag_events',
      help: "Records on the inbound topics' assigned partitions not committed yet (high watermark - committed offset)",
      registers,
      collect() {
        this.set(inbound.status().lag?.events ?? 0);
      },
    });
    new Gauge({
      name: 'esflow_inbound_records',
      help: 'Inbound Kafka records since start: received, quarantined (unreadable or rejected), skipped (no mapping), duplicates (redelivered), committed',
      labelNames: ['kind'],
      registers,
      collect() {
        const stats = inbound.stats();
        for (const kind of [
          'received',
          'quarantined',
          'skipped',
          'duplicates',
          'committed',
        ] as const)
          this.set({ kind }, stats[kind]);
      },
    });
  }

  private observeCommands(projector: ProjectorService, registers: Registry[]): void {
    const indexed = new Counter({
      name: 'esflow_commands_indexed_total',
      help: 'Command facts the dispatcher indexed: dispatched, completed, failed (error delivered), withdrawn, incident, retried (by an operator), resolved (by hand)',
      labelNames: ['change'],
      registers,
    });
    const attempts = new Counter({
      name: 'esflow_command_attempts_total',
      help: 'In-process handler attempts by command type and outcome: completed, retrying (failed, tried again after a back-off), gaveUp (the last one failed: error delivered or incident)',
      labelNames: ['command_type', 'outcome'],
      registers,
    });
    const duration = new Histogram({
      name: 'esflow_command_handler_duration_seconds',
      help: 'How long each in-process handler attempt took, by command type',
      labelNames: ['command_type'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    projector.observeCommands({
      indexed: (change) => indexed.inc({ change: change.kind }),
      attempted: (command, outcome, durationMs) => {
        attempts.inc({ command_type: command.commandType, outcome });
        duration.observe({ command_type: command.commandType }, durationMs / 1000);
      },
    });
  }

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
