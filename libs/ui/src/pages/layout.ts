import { html, SafeHtml } from '../html';

/** What a page's outer frame needs: its title, and for a live page what it polls. */
export interface PageFrame {
  readonly title: string;
  /** A JSON URL answering `{ revision }`: the page reloads its main part when it changes. */
  readonly live?: { readonly url: string; readonly revision: number };
}

/** The whole document: navigation, the credentials field, the page, one stylesheet, one script. */
export function page(frame: PageFrame, body: SafeHtml): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${frame.title} · esflow</title>
        <link rel="stylesheet" href="/ui/assets/esflow.css" />
        <script src="/ui/assets/esflow.js" defer></script>
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/ui">esflow</a>
          <a href="/ui" data-testid="nav-instances">Instances</a>
          <a href="/ui/workflows" data-testid="nav-workflows">Workflows</a>
          <a href="/ui/projections" data-testid="nav-projections">Projections</a>
          <a href="/docs">API</a>
          <label class="credentials"
            >API key or token
            <input
              id="credentials"
              type="password"
              autocomplete="off"
              placeholder="only with access control on"
          /></label>
        </header>
        <main
          ${frame.live
            ? html`data-live="${frame.live.url}" data-revision="${frame.live.revision}"`
            : ''}
        >
          ${body}
        </main>
      </body>
    </html>`.text;
}

/** A status as a coloured badge. */
export function statusBadge(status: string): SafeHtml {
  return html`<span class="badge status-${status}" data-testid="status">${status}</span>`;
}

/** A state value as text: the name, or the JSON of an object state. */
export function stateText(state: unknown): string {
  return typeof state === 'string' ? state : JSON.stringify(state);
}

/** A link to an instance's page. */
export function instanceHref(workflow: string, id: string): string {
  return `/ui/workflows/${encodeURIComponent(workflow)}/${encodeURIComponent(id)}`;
}
