import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import {
  COMMAND_QUEUE,
  EVENT_STORE,
  MESSAGE_CORRELATOR,
  MESSAGE_INDEX,
  registerMessageMetrics,
  TIMER_INDEX,
  WORKFLOW_ENGINE,
} from '@esflow/nest';
import {
  COMMAND_STATUSES,
  CommandQueue,
  EventStore,
  MessageCorrelator,
  MessageIndex,
  TIMER_STATUSES,
  TimerIndex,
  WorkflowEngine,
} from '@esflow/core';

/**
 * Prometheus metrics: process defaults, the instance cache, the store's group-commit counters,
 * the timers by status (from the timer index), the commands by status and the open
 * incidents (from the command queue), and the messages: outcomes of `POST /messages` and of the
 * operators' retries, correlation time, and the index's counts and oldest buffered message.
 */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  private readonly registry = new Registry();

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(WORKFLOW_ENGINE) engine: WorkflowEngine,
    @Inject(TIMER_INDEX) timers: TimerIndex,
    @Inject(COMMAND_QUEUE) commands: CommandQueue,
    @Inject(MESSAGE_CORRELATOR) correlator: MessageCorrelator,
    @Inject(MESSAGE_INDEX) messages: MessageIndex,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const registry = this.registry;
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    gauge(
      'esflow_instance_cache_instances',
      'Instances kept rehydrated in memory',
      () => engine.cacheStats().instances,
    );
    gauge(
      'esflow_instance_cache_bytes',
      'Bytes of event data the instance cache holds (bounded by ESFLOW_INSTANCE_CACHE_BYTES)',
      () => engine.cacheStats().bytes,
    );
    new Gauge({
      name: 'esflow_timers',
      help: 'Timers in the timer index by status: pending, fired, cancelled, superseded (an event won the race)',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const counts = await timers.counts();
        for (const status of TIMER_STATUSES) this.set({ status }, counts[status]);
      },
    });
    new Gauge({
      name: 'esflow_commands',
      help: 'Commands in the command queue by status: pending, leased, completed, incident, resolved, failed, withdrawn',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const counts = await commands.counts();
        for (const status of COMMAND_STATUSES) this.set({ status }, counts[status]);
      },
    });
    new Gauge({
      name: 'esflow_incidents_open',
      help: 'Commands that failed for good and wait for an operator (retry or resolve)',
      registers: [registry],
      async collect() {
        this.set((await commands.counts()).incident);
      },
    });
    registerMessageMetrics(registry, { correlator, index: messages });
    const stats = store.stats?.bind(store);
    if (stats) {
      gauge(
        'esflow_store_commits_total',
        'Transactions (fsyncs) committed by the event store',
        () => stats().commits,
      );
      gauge(
        'esflow_store_appends_total',
        'Append requests committed by the event store',
        () => stats().appends,
      );
      gauge('esflow_store_events_total', 'Events written by the event store', () => stats().events);
    }
  }

  @Get()
  @ApiOperation({
    operationId: 'getMetrics',
    summary: 'Prometheus metrics: process defaults, the instance cache, the store group commits',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'The Prometheus text exposition format (`text/plain; version=0.0.4`)',
    schema: { type: 'string', example: 'esflow_store_commits_total 42\n' },
  })
  @Header('Content-Type', 'text/plain; version=0.0.4')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
