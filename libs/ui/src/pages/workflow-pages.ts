import { DefinitionVersionUse, ProcessorStatus } from '@esflow/core';
import { PROCESSOR_REPORT_INTERVAL_MS } from '@esflow/nest';
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

/**
 * The projections: status, position, lag, errors, and rebuild / retry / skip; then the other
 * processors (the Kafka bridge among them) as the projectors reported them.
 */
export function projectionsPage(
  rows: readonly ProjectionStatusRow[],
  processors: readonly ReportedProcessor[],
  now: Date,
): SafeHtml {
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
    <h2>Processors</h2>
    ${processorsTable(processors, now)}`;
}

/** A processor of another process, as its last report to the read model has it. */
export interface ReportedProcessor {
  readonly owner: string;
  readonly reportedAt: string;
  readonly status: ProcessorStatus;
}

/**
 * The processors other than projections (the Kafka bridge, the timer service, the command
 * dispatcher, the message correlation service, the inbound consumer), as each projector last
 * reported them: a report older than three report intervals is marked silent, its figures
 * those of its last word.
 */
function processorsTable(processors: readonly ReportedProcessor[], now: Date): SafeHtml {
  if (processors.length === 0)
    return html`<p class="muted" data-testid="no-processors">
      No projector has reported yet: start one (<code>npm run start:projector</code>, or
      <code>npm start</code>, which runs both) and its Kafka bridge, timer service, command
      dispatcher and message correlation appear here.
    </p>`;
  return html`<table data-testid="processors">
    <thead>
      <tr>
        <th>Processor</th>
        <th>State</th>
        <th>Position</th>
        <th>Lag</th>
        <th>Error</th>
        <th>Reported by</th>
      </tr>
    </thead>
    <tbody>
      ${processors.map(({ owner, reportedAt, status }) => {
        const silentMs = now.getTime() - Date.parse(reportedAt);
        const silent = silentMs > 3 * PROCESSOR_REPORT_INTERVAL_MS;
        return html`<tr
          data-testid="processor-row"
          data-name="${status.name}"
          data-kind="${status.kind}"
          class="${status.failing ? 'failing' : ''}"
        >
          <td><strong>${status.name}</strong> <span class="muted">${status.kind}</span></td>
          <td>
            <span class="badge" data-testid="processor-state">${status.state}</span>
            ${silent ? html`<span class="badge" data-testid="processor-silent">silent</span>` : ''}
          </td>
          <td><code>${status.position ?? '—'}</code></td>
          <td>
            ${status.lag ? `${status.lag.events} events, ${status.lag.seconds.toFixed(1)} s` : '—'}
          </td>
          <td>
            ${status.lastError
              ? html`<pre class="error">${status.lastError.code}: ${status.lastError.message}</pre>`
              : ''}
          </td>
          <td>
            <code>${owner}</code><br /><span class="muted"
              >${reportedAt} (${Math.max(0, Math.round(silentMs / 1000))} s ago)</span
            >
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}
