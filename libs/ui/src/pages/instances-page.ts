import { InstanceSummary } from '@esflow/core';
import { html, SafeHtml } from '../html';
import { instanceHref, stateText, statusBadge } from './layout';

/** The filters of the instance list, as its GET form sends them. */
export interface InstanceFilters {
  readonly workflow?: string;
  readonly state?: string;
  readonly status?: string;
  readonly idPrefix?: string;
  /** ISO 8601 or `datetime-local`: only instances updated at or after it. */
  readonly updatedSince?: string;
  readonly after?: string;
}

const STATUSES = ['running', 'completed', 'cancelled', 'failed', 'terminated'];

/** The instance list: a filter form (works without JavaScript), the rows and the next page. */
export function instancesPage(
  workflows: readonly string[],
  filters: InstanceFilters,
  items: readonly InstanceSummary[],
  next: string | null,
): SafeHtml {
  const query = (after: string) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries({ ...filters, after }))
      if (value) params.set(key, value);
    return `/ui?${params.toString()}`;
  };
  return html`<h1>Instances</h1>
    <form class="filters" method="get" action="/ui" data-testid="instance-filters">
      <label
        >Workflow
        <select name="workflow">
          <option value="">(all)</option>
          ${workflows.map(
            (name) =>
              html`<option ${name === filters.workflow ? html`selected` : ''}>${name}</option>`,
          )}
        </select></label
      >
      <label
        >State <input name="state" value="${filters.state ?? ''}" placeholder="awaitingPayment"
      /></label>
      <label
        >Status
        <select name="status">
          <option value="">(any)</option>
          ${STATUSES.map(
            (status) =>
              html`<option ${status === filters.status ? html`selected` : ''}>${status}</option>`,
          )}
        </select></label
      >
      <label>Id starts with <input name="idPrefix" value="${filters.idPrefix ?? ''}" /></label>
      <label
        >Updated since
        <input
          name="updatedSince"
          type="datetime-local"
          step="1"
          value="${filters.updatedSince ?? ''}"
      /></label>
      <button type="submit" data-testid="search-button">Search</button>
    </form>
    <table data-testid="instances">
      <thead>
        <tr>
          <th>Workflow</th>
          <th>Id</th>
          <th>Version</th>
          <th>State</th>
          <th>Status</th>
          <th>Revision</th>
          <th>Updated</th>
        </tr>
      </thead>
      <tbody>
        ${items.length === 0
          ? html`<tr>
              <td colspan="7" class="muted" data-testid="no-instances">No instance matches.</td>
            </tr>`
          : items.map(
              (item) =>
                html`<tr data-testid="instance-row" data-id="${item.id}">
                  <td>${item.workflow}</td>
                  <td><a href="${instanceHref(item.workflow, item.id)}">${item.id}</a></td>
                  <td>v${item.version}</td>
                  <td><code>${stateText(item.state)}</code></td>
                  <td>${statusBadge(item.status)}</td>
                  <td>${item.revision}</td>
                  <td>${item.updatedAt}</td>
                </tr>`,
            )}
      </tbody>
    </table>
    <div class="pager">
      ${next
        ? html`<a href="${query(next)}" data-testid="next-page">Next page →</a>`
        : html`<span class="muted">Last page</span>`}
    </div>
    <p class="muted">
      The list is read from the instances read model, which follows the streams with a small lag.
    </p>`;
}
