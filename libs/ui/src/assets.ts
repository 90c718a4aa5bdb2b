/**
 * The UI's only assets, served from `/ui/assets/*` by esflow itself (no CDN): one stylesheet and
 * one script. The script only enhances: every page reads the same without it.
 */
export const STYLESHEET = `
:root { --ink:#1d2433; --muted:#5b6478; --line:#d5d9e2; --accent:#2f6fed; --current:#1f9d55; --visited:#b7d3ff; --bad:#c0392b; --bg:#f7f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header.top { display:flex; gap:18px; align-items:center; padding:10px 20px; background:#1d2433; color:#fff; }
header.top a { color:#fff; text-decoration:none; opacity:.85; } header.top a:hover { opacity:1; }
header.top .brand { font-weight:700; letter-spacing:.02em; opacity:1; }
header.top .credentials { margin-left:auto; display:flex; gap:6px; align-items:center; font-size:12px; }
header.top .credentials input { width:180px; padding:3px 6px; }
main { padding:18px 20px; max-width:1400px; }
h1 { font-size:20px; margin:4px 0 14px; } h2 { font-size:16px; margin:22px 0 8px; }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef0f4; font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); }
code, pre { font:12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { margin:4px 0 0; white-space:pre-wrap; word-break:break-word; background:#f2f4f8; padding:6px; border-radius:4px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; background:#e6e9ef; }
.status-running { background:#dbeafe; } .status-completed { background:#dcfce7; } .status-cancelled, .status-terminated { background:#f3e8d6; } .status-failed, .status-incident, .status-quarantined { background:#fde2e1; color:var(--bad); }
.grid { display:grid; grid-template-columns: minmax(0, 3fr) minmax(280px, 2fr); gap:20px; }
.panel { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 12px; margin-bottom:14px; }
.panel h2 { margin-top:0; }
form.filters { display:flex; flex-wrap:wrap; gap:10px; align-items:end; margin-bottom:12px; }
form label { display:flex; flex-direction:column; gap:2px; font-size:12px; color:var(--muted); }
input, select, textarea, button { font:inherit; padding:4px 6px; border:1px solid var(--line); border-radius:4px; background:#fff; color:var(--ink); }
button { background:var(--accent); color:#fff; border-color:var(--accent); cursor:pointer; }
button.danger { background:var(--bad); border-color:var(--bad); }
.actions { display:flex; gap:6px; flex-wrap:wrap; align-items:center; }
.pager { margin-top:10px; display:flex; gap:12px; }
.muted { color:var(--muted); } .error { color:var(--bad); } tr.failing td { background:#fff1f0; }
.result { margin-top:6px; font-size:13px; } .result.ok { color:var(--current); } .result.failed { color:var(--bad); white-space:pre-wrap; }
.chart { overflow:auto; background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px; }
svg.state-chart .state rect { fill:#fff; stroke:#8a93a6; stroke-width:1.2; }
svg.state-chart .state-compound > rect, svg.state-chart .state-parallel > rect { fill:#fafbfd; }
svg.state-chart .state-region > rect { stroke-dasharray:5 4; }
svg.state-chart .final-ring { fill:none !important; }
svg.state-chart .visited > rect { fill:var(--visited); }
svg.state-chart .current > rect { fill:#d9f5e4; stroke:var(--current); stroke-width:3; }
svg.state-chart text { font-size:12px; fill:var(--ink); }
svg.state-chart .transition path { fill:none; stroke:#7b8497; stroke-width:1.2; }
svg.state-chart .transition text { font-size:10.5px; fill:var(--muted); }
svg.state-chart marker path { fill:#7b8497; }
svg.state-chart .count rect { fill:var(--accent); stroke:none; } svg.state-chart .count text { fill:#fff; font-size:11px; font-weight:600; }
.timeline .event td:first-child { width:56px; color:var(--muted); }
fieldset { border:1px solid var(--line); border-radius:4px; margin:6px 0; }
.send-form .fields { display:flex; flex-direction:column; gap:6px; }
`;

/**
 * Progressive enhancement: credentials for the API (an API key or JWT kept in sessionStorage and
 * sent on every fetch), forms that call the REST API and show its problem details, and a poll
 * that swaps in the page when the instance it shows moved on.
 */
export const SCRIPT = `
(function () {
  'use strict';
  var KEY = 'esflow.credentials';
  function credentials() { try { return sessionStorage.getItem(KEY) || ''; } catch (e) { return ''; } }
  function headers(json) {
    var h = json ? { 'Content-Type': 'application/json' } : {};
    var c = credentials();
    if (c) { if (c.split('.').length === 3) h['Authorization'] = 'Bearer ' + c; else h['X-API-Key'] = c; }
    return h;
  }
  function show(form, ok, text) {
    var out = form.querySelector('.result');
    if (!out) { out = document.createElement('div'); form.appendChild(out); }
    out.className = 'result ' + (ok ? 'ok' : 'failed');
    out.setAttribute('data-testid', 'action-result');
    out.textContent = text;
  }
  function problemText(body, status) {
    if (!body || typeof body !== 'object') return 'HTTP ' + status;
    var lines = [(body.code || status) + ': ' + (body.detail || body.title || '')];
    (body.errors || []).forEach(function (e) { lines.push('  ' + (e.path || e.pointer || '') + ': ' + (e.message || e.detail || '')); });
    return lines.join('\\n');
  }
  function fieldValue(el) {
    var v = el.value;
    var kind = el.getAttribute('data-kind');
    if (v === '' ) return undefined;
    if (kind === 'integer' || kind === 'number') { var n = Number(v); return isNaN(n) ? v : n; }
    if (kind === 'boolean') return v === 'true';
    if (kind === 'json') { try { return JSON.parse(v); } catch (e) { return v; } }
    return v;
  }
  function bodyOf(form) {
    var shape = form.getAttribute('data-body');
    if (shape === 'none') return undefined;
    if (shape === 'send-event') {
      var type = form.querySelector('[name=type]').value;
      var payload = {};
      var set = form.querySelector('fieldset[data-event="' + type + '"]');
      if (set) set.querySelectorAll('[name^="field:"]').forEach(function (el) {
        var value = fieldValue(el);
        if (value !== undefined) payload[el.name.slice(6)] = value;
      });
      return { type: type, payload: payload };
    }
    var body = {};
    form.querySelectorAll('[name]').forEach(function (el) {
      if (el.name === 'type' && shape !== 'plain') return;
      var value = fieldValue(el);
      if (value !== undefined) body[el.name] = value;
    });
    return body;
  }
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form.hasAttribute('data-api')) return;
    event.preventDefault();
    var body = bodyOf(form);
    var button = form.querySelector('button');
    if (button) button.disabled = true;
    fetch(form.getAttribute('data-api'), {
      method: 'POST', headers: headers(true), credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.text().then(function (text) {
        var parsed; try { parsed = JSON.parse(text); } catch (e) { parsed = undefined; }
        if (response.ok) { show(form, true, 'done (' + response.status + ')'); setTimeout(refresh, 300); }
        else show(form, false, problemText(parsed, response.status));
      });
    }).catch(function (e) { show(form, false, String(e)); })
      .then(function () { if (button) button.disabled = false; });
  });
  function chooseEvent(select) {
    var form = select.form;
    form.querySelectorAll('fieldset[data-event]').forEach(function (set) { set.hidden = set.getAttribute('data-event') !== select.value; });
  }
  document.addEventListener('change', function (event) { if (event.target.matches && event.target.matches('select[name=type][data-chooses]')) chooseEvent(event.target); });
  function refresh() {
    fetch(location.href, { headers: headers(false), credentials: 'same-origin' }).then(function (r) { return r.text(); }).then(function (text) {
      var next = new DOMParser().parseFromString(text, 'text/html').querySelector('main');
      var main = document.querySelector('main');
      if (next && main) { main.replaceWith(next); init(); }
    });
  }
  var timer;
  function init() {
    // The API validates what a form sends (and says which field broke which rule); the
    // browser's own checks would stop a form at a hidden event's required field.
    document.querySelectorAll('form[data-api]').forEach(function (form) { form.noValidate = true; });
    document.querySelectorAll('select[name=type][data-chooses]').forEach(chooseEvent);
    var main = document.querySelector('main[data-live]');
    clearInterval(timer);
    if (!main) return;
    timer = setInterval(function () {
      fetch(main.getAttribute('data-live'), { headers: headers(false), credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : null; }).then(function (live) {
        if (live && String(live.revision) !== main.getAttribute('data-revision')) refresh();
      }).catch(function () {});
    }, 1500);
  }
  var input = document.querySelector('#credentials');
  if (input) {
    input.value = credentials();
    input.addEventListener('change', function () {
      var value = input.value.trim();
      try { sessionStorage.setItem(KEY, value); } catch (e) {}
      // The pages themselves are read with the cookie (a link cannot carry a header).
      document.cookie = 'esflow_ui_credentials=' + encodeURIComponent(value) + '; path=/ui; SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');
      location.reload();
    });
  }
  init();
})();
`;
