import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Gauge, Registry } from 'prom-client';
import {
  COMMAND_QUEUE,
  ESFLOW_METRICS,
  EsflowMetrics,
  MESSAGE_CORRELATOR,
  MESSAGE_INDEX,
  ProjectionStatuses,
  registerMessageMetrics,
  registerProjectionMetrics,
  TIMER_INDEX,
} from '@esflow/nest';
import {
  COMMAND_STATUSES,
  CommandQueue,
  MessageCorrelator,
  MessageIndex,
  TIMER_STATUSES,
  TimerIndex,
} from '@esflow/core';

/**
 * Prometheus metrics of the api, on the application's one registry (`EsflowMetrics`: process
 * defaults, transitions, revision conflicts, appends and group commits, the instance cache;
 * `HttpMetricsMiddleware`: request latency by route), plus the timers by status (from the timer
 * index), the commands by status and the open incidents (from the command queue), the messages
 * (outcomes of `POST /messages` and of the operators' retries, correlation time, the index's
 * counts and oldest buffered message) and the projections' lag and progress.
 */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  private readonly registry: Registry;

  constructor(
    @Inject(ESFLOW_METRICS) metrics: EsflowMetrics,
    @Inject(TIMER_INDEX) timers: TimerIndex,
    @Inject(COMMAND_QUEUE) commands: CommandQueue,
    @Inject(MESSAGE_CORRELATOR) correlator: MessageCorrelator,
    @Inject(MESSAGE_INDEX) messages: MessageIndex,
    projections: ProjectionStatuses,
  ) {
    const registry = (this.registry = metrics.registry);
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
    registerProjectionMetrics(registry, projections);
  }

  @Get()
  @ApiOperation({
    operationId: 'getMetrics',
    summary:
      'Prometheus metrics: transitions, requests, the store, the cache, timers, commands, messages, projections',
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
