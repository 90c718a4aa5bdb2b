import { DefinitionVersionUse } from '@esflow/core';
import { html, SafeHtml } from '../html';

/** The registered workflows, with their versions and instance totals. */
export function workflowsPage(
  workflows: readonly {
    readonly name: string;
    readonly versions: readonly number[];
    readonly total: number;
  }[],
): SafeHtml {
  return html`<h1>Workflows</h1>
    <table>
      <thead>
        <tr>
          <th>Workflow</th>
          <th>Versions registered</th>
          <th>Instances</th>
        </tr>
      </thead>
      <tbody>
        ${workflows.map(
          (workflow) =>
            html`<tr data-testid="workflow-row">
              <td>
                <a href="/ui/workflows/${encodeURIComponent(workflow.name)}">${workflow.name}</a>
              </td>
              <td>${workflow.versions.map((v) => `v${v}`).join(', ')}</td>
              <td>${workflow.total}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

/** One workflow: its chart with the instances per state drawn on it, and the versions in use. */
export function workflowPage(
  name: string,
  chart: SafeHtml,
  byState: readonly { readonly state: string; readonly count: number }[],
  versions: readonly DefinitionVersionUse[],
  registered: readonly number[],
): SafeHtml {
  return html`<h1 data-testid="workflow-title">${name}</h1>
    <p><a href="/ui?workflow=${encodeURIComponent(name)}">Its instances →</a></p>
    <div class="chart">${chart}</div>
    <div class="grid">
      <div>
        <h2>Instances per state</h2>
        <table data-testid="state-counts">
          <tr>
            <th>State</th>
            <th>Instances</th>
          </tr>
          ${byState.map(
            (row) =>
              html`<tr>
                <td>
                  <a
                    href="/ui?workflow=${encodeURIComponent(name)}&amp;state=${encodeURIComponent(
                      row.state,
                    )}"
                    ><code>${row.state}</code></a
                  >
                </td>
                <td>${row.count}</td>
              </tr>`,
          )}
        </table>
      </div>
      <div>
        <h2>Definition versions</h2>
        <table data-testid="definition-versions">
          <tr>
            <th>Version</th>
            <th>Registered here</th>
            <th>Instances started</th>
            <th>Running</th>
          </tr>
          ${versions.map(
            (use) =>
              html`<tr data-testid="version-row">
                <td>v${use.version}</td>
                <td>
                  ${registered.includes(use.version) ? 'yes' : html`<span class="error">no</span>`}
                </td>
                <td>${use.instances}</td>
                <td>${use.running}</td>
              </tr>`,
          )}${registered
            .filter((version) => !versions.some((use) => use.version === version))
            .map(
              (version) =>
                html`<tr data-testid="version-row">
                  <td>v${version}</td>
                  <td>yes</td>
                  <td>0</td>
                  <td>0</td>
                </tr>`,
            )}
        </table>
      </div>
    </div>`;
}

/** One projection's status as {@link ProjectionStatuses} reports it. */
export type ProjectionStatusRow = Record<string, unknown> & {
  readonly name: string;
  readonly status: string;
};

/** The projections: status, position, lag, errors, and rebuild / retry / skip. */
export function projectionsPage(rows: readonly ProjectionStatusRow[]): SafeHtml {
  return html`<h1>Projections</h1>
    <table data-testid="projections">
      <thead>
        <tr>
          <th>Projection</th>
          <th>Status</th>
          <th>Position</th>
          <th>Applied</th>
          <th>Lag</th>
          <th>Error / rebuild</th>
          <th>Actions</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map((row) => {
          const lag = row['lag'] as { events: number; seconds: number } | null;
          const rebuild = row['rebuild'] as { applied?: number } | undefined;
          const error = row['error'];
          const base = `/projections/${encodeURIComponent(row.name)}`;
          return html`<tr data-testid="projection-row" data-name="${row.name}">
            <td>
              <strong>${row.name}</strong>
              <span class="muted">v${String(row['version'] ?? '')}</span>
            </td>
            <td><span class="badge" data-testid="projection-status">${row.status}</span></td>
            <td><code>${String(row['position'] ?? '—')}</code></td>
            <td>${String(row['eventsApplied'] ?? 0)}</td>
            <td>${lag ? `${lag.events} events, ${lag.seconds.toFixed(1)} s` : '—'}</td>
            <td>
              ${error
                ? html`<pre class="error">
${typeof error === 'string' ? error : JSON.stringify(error, null, 2)}</pre
                  >`
                : ''}${rebuild
                ? html`<div data-testid="rebuild-progress">
                    rebuilding: ${rebuild.applied ?? 0} events applied
                  </div>`
                : ''}
            </td>
            <td>
              <div class="actions">
                <form data-api="${base}/rebuild" data-body="none">
                  <button type="submit" data-testid="rebuild-button">Rebuild</button>
                </form>
                ${error && typeof error === 'object'
                  ? html`<form data-api="${base}/retry" data-body="none">
                        <button type="submit">Retry</button>
                      </form>
                      <form data-api="${base}/skip" data-body="none">
                        <button type="submit" class="danger">Skip</button>
                      </form>`
                  : ''}
              </div>
            </td>
          </tr>`;
        })}
      </tbody>
    </table>
    <h2>Kafka bridge</h2>
    <p class="muted" data-testid="kafka-bridge">
      The bridge runs in the projector process (with KAFKA_BROKERS set): its status, position, lag
      and errors are on the projector's <code>GET /status</code> and <code>/health/ready</code>, and
      its figures on the projector's <code>/metrics</code>.
    </p>`;
}
