import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { EVENT_STORE } from '@esflow/nest';
import { EventStore, StoreWriteStats } from '@esflow/core';

/** Prometheus metrics: process defaults plus the store's group-commit counters. */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  private readonly registry = new Registry();

  constructor(@Inject(EVENT_STORE) store: EventStore) {
    collectDefaultMetrics({ register: this.registry });
    const stats = store.stats?.bind(store);
    if (stats) {
      const gauge = (name: string, help: string, pick: (s: StoreWriteStats) => number) =>
        new Gauge({
          name,
          help,
          registers: [this.registry],
          collect() {
            this.set(pick(stats()));
          },
        });
      gauge(
        'esflow_store_commits_total',
        'Transactions (fsyncs) committed by the event store',
        (s) => s.commits,
      );
      gauge(
        'esflow_store_appends_total',
        'Append requests committed by the event store',
        (s) => s.appends,
      );
      gauge('esflow_store_events_total', 'Events written by the event store', (s) => s.events);
    }
  }

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
