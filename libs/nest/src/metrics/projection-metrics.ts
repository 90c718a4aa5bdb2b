import { Gauge, Registry } from 'prom-client';
import { ProjectionStatus } from '@esflow/core';
import { ProjectionStatuses } from '../projections/projection-statuses';

/**
 * Registers the projections' metrics on `registry`, measured at each scrape from the read model
 * and the log (so the api and the projector report the same figures, whichever process runs
 * the projections), labelled by projection name:
 * - `esflow_projection_lag_events` and `esflow_projection_lag_seconds`: events of its sources
 *   after its checkpoint, and the age of the oldest of them;
 * - `esflow_projection_events_applied`: events its active generation has applied (it starts
 *   again from 0 when a rebuild swaps in);
 * - `esflow_projection_failing`: 1 while it is stopped on an error or has no live owner.
 */
export function registerProjectionMetrics(registry: Registry, statuses: ProjectionStatuses): void {
  const registers = [registry];
  // One read per scrape, shared by the four gauges (prom-client collects them one by one).
  let pending: ReturnType<ProjectionStatuses['list']> | undefined;
  const current = () => {
    pending ??= statuses.list().finally(() => {
      setImmediate(() => (pending = undefined));
    });
    return pending;
  };
  const gauge = (
    name: string,
    help: string,
    read: (status: Awaited<ReturnType<ProjectionStatuses['list']>>[number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['projection'],
      registers,
      async collect() {
        this.reset();
        for (const status of await current()) this.set({ projection: status.name }, read(status));
      },
    });
  gauge(
    'esflow_projection_lag_events',
    "Events of the projection's sources committed after its checkpoint",
    (status) => status.lag?.events ?? 0,
  );
  gauge(
    'esflow_projection_lag_seconds',
    'Age of the oldest event the projection has not applied yet (0 when caught up)',
    (status) => status.lag?.seconds ?? 0,
  );
  gauge(
    'esflow_projection_events_applied',
    "Events the projection's active generation has applied",
    (status) => ('eventsApplied' in status ? status.eventsApplied : 0),
  );
  gauge(
    'esflow_projection_failing',
    '1 while the projection is stopped (on an error, or with no projector reporting), else 0',
    (status) => (status.status === ProjectionStatus.Stopped ? 1 : 0),
  );
}
