import { HistoryEntry, IndexedMessage, InstanceView } from '@esflow/core';
import { FormField, renderFormFields } from '../avro-form';
import { html, SafeHtml } from '../html';
import { instanceHref, stateText, statusBadge } from './layout';

/** Everything the instance page shows, read by the controller. */
export interface InstancePageData {
  readonly view: InstanceView;
  readonly chart: SafeHtml;
  /** One page of the timeline, newest first. */
  readonly events: readonly HistoryEntry[];
  readonly lastRevision: number;
  /** The revision of the next (older) timeline page, if any. */
  readonly olderFrom: number | null;
  readonly pageSize: number;
  readonly messages: readonly IndexedMessage[];
  /** The form fields of each event the current state accepts. */
  readonly accepted: readonly { readonly type: string; readonly fields: readonly FormField[] }[];
}

const api = (path: string) => path;

function timelineRow(entry: HistoryEntry): SafeHtml {
  const meta = entry.metadata as Record<string, unknown>;
  const schema = meta['schema'] as { subject?: string; version?: number } | undefined;
  return html`<tr
    class="event"
    data-testid="timeline-event"
    data-type="${entry.type}"
    data-revision="${entry.revision}"
  >
    <td>#${entry.revision}</td>
    <td>
      <strong>${entry.type}</strong> <span class="muted">${String(meta['category'] ?? '')}</span>
      <div class="muted">
        ${entry.recordedAt}${meta['actor']
          ? html` · by <span data-testid="event-actor">${String(meta['actor'])}</span>`
          : ''}
      </div>
      <div>
        <code>${stateText(meta['stateBefore'])}</code> →
        <code>${stateText(meta['stateAfter'])}</code> ${statusBadge(
          String(meta['statusAfter'] ?? ''),
        )}
      </div>
      <details>
        <summary>payload and metadata</summary>
        <pre data-testid="event-payload">${JSON.stringify(entry.data, null, 2)}</pre>
        <div class="muted">
          schema ${schema?.subject ?? '?'} v${schema?.version ?? '?'} · correlation
          ${String(meta['correlationId'] ?? '')} · causation ${String(meta['causationId'] ?? '')}
        </div>
      </details>
    </td>
  </tr>`;
}

function sendForm(data: InstancePageData): SafeHtml {
  const { view } = data;
  if (data.accepted.length === 0)
    return html`<p class="muted" data-testid="no-accepted-events">
      The instance accepts no event now.
    </p>`;
  return html`<form
    class="send-form"
    data-testid="send-event-form"
    data-api="${api(
      `/workflows/${encodeURIComponent(view.workflow)}/${encodeURIComponent(view.id)}/events`,
    )}"
    data-body="send-event"
  >
    <label
      >Event
      <select name="type" data-chooses>
        ${data.accepted.map((event) => html`<option>${event.type}</option>`)}
      </select></label
    >
    ${data.accepted.map(
      (event) =>
        html`<fieldset data-event="${event.type}">
          <legend>${event.type}</legend>
          <div class="fields">
            ${event.fields.length === 0
              ? html`<span class="muted">no fields</span>`
              : renderFormFields(event.fields)}
          </div>
        </fieldset>`,
    )}
    <button type="submit" data-testid="send-event-button">Send</button>
    <p class="muted">
      Sent through the REST API, validated against the event's Avro schema, and recorded with who
      sent it.
    </p>
  </form>`;
}

function operations(data: InstancePageData): SafeHtml {
  const { view } = data;
  const base = `/workflows/${encodeURIComponent(view.workflow)}/${encodeURIComponent(view.id)}`;
  return html` <div class="panel" data-testid="pending-timers">
      <h2>Pending timers (${view.pendingTimers.length})</h2>
      ${view.pendingTimers.length === 0
        ? html`<p class="muted">None.</p>`
        : html`<table>
            <tr>
              <th>Timer</th>
              <th>Delivers</th>
              <th>Due</th>
            </tr>
            ${view.pendingTimers.map(
              (timer) =>
                html`<tr data-testid="timer-row">
                  <td><code>${timer.timerId}</code></td>
                  <td>${timer.eventType}</td>
                  <td>${timer.dueAt}</td>
                </tr>`,
            )}
          </table>`}
    </div>
    <div class="panel" data-testid="in-flight-commands">
      <h2>Commands in flight (${view.inFlightCommands.length})</h2>
      ${view.inFlightCommands.length === 0
        ? html`<p class="muted">None.</p>`
        : html`<table>
            <tr>
              <th>Command</th>
              <th>Type</th>
              <th>Incident</th>
            </tr>
            ${view.inFlightCommands.map(
              (command) =>
                html`<tr data-testid="command-row">
                  <td><code>${command.commandId}</code></td>
                  <td>${command.commandType}</td>
                  <td>${command.incidentId ?? '—'}</td>
                </tr>`,
            )}
          </table>`}
    </div>
    <div class="panel" data-testid="incidents">
      <h2>Incidents (${view.incidents.length})</h2>
      ${view.incidents.length === 0
        ? html`<p class="muted">None.</p>`
        : view.incidents.map(
            (incident) =>
              html`<div data-testid="incident-row">
                <strong>${incident.commandType}</strong> after ${incident.attempts} attempts
                <code>${incident.incidentId}</code>
                <div class="actions">
                  <form
                    data-api="/incidents/${encodeURIComponent(incident.incidentId)}/retry"
                    data-body="none"
                  >
                    <button type="submit">Retry</button>
                  </form>
                  <form
                    data-api="/incidents/${encodeURIComponent(incident.incidentId)}/resolve"
                    data-body="fields"
                  >
                    <input name="note" placeholder="how it was settled" required /><button
                      type="submit"
                    >
                      Resolve
                    </button>
                  </form>
                </div>
              </div>`,
          )}
    </div>
    <div class="panel" data-testid="messages">
      <h2>Messages (${data.messages.length})</h2>
      ${data.messages.length === 0
        ? html`<p class="muted">None for this instance.</p>`
        : html`<table>
            <tr>
              <th>Message</th>
              <th>Status</th>
              <th></th>
            </tr>
            ${data.messages.map(
              (message) =>
                html`<tr data-testid="message-row">
                  <td>
                    ${message.name} <code>${message.correlationKey}</code>
                    <div class="muted">${message.reason ?? ''} ${message.detail ?? ''}</div>
                  </td>
                  <td>${statusBadge(message.status)}</td>
                  <td>
                    ${message.status === 'quarantined' || message.status === 'buffered'
                      ? html`<div class="actions">
                          <form
                            data-api="/messages/${encodeURIComponent(message.messageId)}/retry"
                            data-body="none"
                          >
                            <button type="submit">Retry</button>
                          </form>
                          <form
                            data-api="/messages/${encodeURIComponent(message.messageId)}/discard"
                            data-body="fields"
                          >
                            <input name="reason" placeholder="reason" required /><button
                              type="submit"
                              class="danger"
                            >
                              Discard
                            </button>
                          </form>
                        </div>`
                      : ''}
                  </td>
                </tr>`,
            )}
          </table>`}
    </div>
    <div class="panel">
      <h2>Send an event</h2>
      ${sendForm(data)}
    </div>
    ${view.status === 'running'
      ? html`<div class="panel">
          <h2>Terminate</h2>
          <form data-testid="terminate-form" data-api="${base}/terminate" data-body="fields">
            <label
              >Reason
              <input name="reason" required maxlength="2000" placeholder="why it is ended by hand"
            /></label>
            <button type="submit" class="danger" data-testid="terminate-button">Terminate</button>
            <p class="muted">
              Recorded as a fact with who did it; its timers are cancelled and its commands
              withdrawn.
            </p>
          </form>
        </div>`
      : ''}`;
}

/** An instance: its chart, status, operations and a page of its timeline. */
export function instancePage(data: InstancePageData): SafeHtml {
  const { view } = data;
  const self = instanceHref(view.workflow, view.id);
  const newest = data.events[0]?.revision ?? data.lastRevision;
  return html`<h1 data-testid="instance-title">${view.workflow} / ${view.id}</h1>
    <p>
      ${statusBadge(view.status)} state
      <code data-testid="instance-state">${stateText(view.state)}</code> · revision
      <span data-testid="instance-revision">${view.revision}</span> · definition v${view.version} ·
      <a href="/ui/workflows/${encodeURIComponent(view.workflow)}">workflow</a>
    </p>
    <div class="grid">
      <div>
        <div class="chart">${data.chart}</div>
        <h2>Timeline</h2>
        <p class="muted">
          Events
          ${data.events.length === 0
            ? ''
            : `#${data.events[data.events.length - 1]!.revision}–#${newest}`}
          of ${data.lastRevision + 1}, newest first.
        </p>
        <table class="timeline" data-testid="timeline">
          ${data.events.map(timelineRow)}
        </table>
        <div class="pager">
          ${newest < data.lastRevision
            ? html`<a href="${self}" data-testid="newest-page">Newest</a>`
            : ''}
          ${data.olderFrom !== null
            ? html`<a href="${self}?from=${data.olderFrom}" data-testid="older-page"
                >Older events →</a
              >`
            : ''}
        </div>
      </div>
      <div>${operations(data)}</div>
    </div>`;
}
