import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { SCRIPT, STYLESHEET } from './assets';
import { formFieldsOf, renderFormFields } from './avro-form';
import { activeStateIds, layoutStateChart, renderStateChart } from './chart/state-chart';
import { escapeHtml, html, raw } from './html';
import { instancesPage } from './pages/instances-page';
import { page } from './pages/layout';

const nested = createMachine({
  id: 'shop',
  initial: 'open',
  states: {
    open: {
      type: 'parallel',
      states: {
        payment: { initial: 'due', states: { due: { on: { Paid: 'paid' } }, paid: {} } },
        goods: {
          initial: 'picking',
          states: { picking: { on: { Picked: 'packed' } }, packed: {} },
        },
      },
      on: { Close: 'closed' },
    },
    closed: { type: 'final' },
  },
});

describe('html', () => {
  it('escapes every interpolation unless it is markup made by html or raw', () => {
    const name = '<script>alert("x")</script>&\'';
    const out = html`<p title="${name}">${name}${html`<b>${name}</b>`}${raw('<i>ok</i>')}</p>`.text;
    expect(out).not.toContain('<script>');
    expect(out).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    expect(out).toContain('<b>&lt;script&gt;');
    expect(out).toContain('<i>ok</i>');
    expect(escapeHtml('a&b')).toBe('a&amp;b');
  });

  it('renders nothing for null, undefined and false, and joins arrays', () => {
    expect(html`${null}${undefined}${false}${['a', html`<br />`, 1]}`.text).toBe('a<br />1');
  });
});

describe('state chart', () => {
  it('names a state value and its ancestors, every parallel branch included', () => {
    expect(activeStateIds('shop', { open: { payment: 'due', goods: 'packed' } }).sort()).toEqual(
      [
        'shop.open',
        'shop.open.goods',
        'shop.open.goods.packed',
        'shop.open.payment',
        'shop.open.payment.due',
      ].sort(),
    );
    expect(activeStateIds('shop', 'closed')).toEqual(['shop.closed']);
  });

  it('lays nested and parallel states out inside their parents, and marks current and visited', async () => {
    const layout = await layoutStateChart(nested);
    const byId = new Map(layout.nodes.map((node) => [node.id, node]));
    expect([...byId.keys()].sort()).toEqual(
      [
        'shop.closed',
        'shop.open',
        'shop.open.goods',
        'shop.open.goods.packed',
        'shop.open.goods.picking',
        'shop.open.payment',
        'shop.open.payment.due',
        'shop.open.payment.paid',
      ].sort(),
    );
    const open = byId.get('shop.open')!;
    const due = byId.get('shop.open.payment.due')!;
    expect(open.kind).toBe('parallel');
    expect(byId.get('shop.open.payment')!.region).toBe(true);
    expect(byId.get('shop.closed')!.kind).toBe('final');
    // A child lies inside its parent's box (absolute coordinates).
    expect(due.x).toBeGreaterThanOrEqual(open.x);
    expect(due.y + due.height).toBeLessThanOrEqual(open.y + open.height);
    expect(layout.edges.map((edge) => edge.event).sort()).toEqual(['Close', 'Paid', 'Picked']);
    expect(layout.edges.every((edge) => edge.points.length >= 2)).toBe(true);

    const svg = renderStateChart(layout, {
      current: new Set(activeStateIds('shop', { open: { payment: 'paid', goods: 'picking' } })),
      visited: new Set(['shop.open.payment.due']),
      counts: new Map([['shop.closed', 3]]),
    }).text;
    expect(svg).toMatch(/class="state state-atomic current" data-state="shop.open.payment.paid"/);
    expect(svg).toMatch(/class="state state-atomic visited" data-state="shop.open.payment.due"/);
    expect(svg).not.toMatch(/current[^"]*" data-state="shop.closed"/);
    expect(svg).toContain('data-count="3"');
  });
});

describe('send-event form from an Avro schema', () => {
  const schema = {
    type: 'record',
    name: 'PaymentReceived',
    fields: [
      { name: 'paymentId', type: 'string' },
      { name: 'amountCents', type: 'long' },
      { name: 'rate', type: 'double' },
      { name: 'captured', type: 'boolean' },
      { name: 'method', type: { type: 'enum', name: 'M', symbols: ['card', 'sepa'] } },
      { name: 'note', type: ['null', 'string'], default: null },
      { name: 'lines', type: { type: 'array', items: 'string' } },
      { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
    ],
  };

  it('maps each field to an input of its kind, optional when nullable or defaulted', () => {
    expect(formFieldsOf(schema).map((f) => [f.name, f.input, f.required])).toEqual([
      ['paymentId', 'text', true],
      ['amountCents', 'integer', true],
      ['rate', 'number', true],
      ['captured', 'boolean', true],
      ['method', 'enum', true],
      ['note', 'text', false],
      ['lines', 'json', true],
      ['id', 'text', true],
    ]);
    expect(formFieldsOf({ type: 'string' })).toEqual([]);
    const inputs = renderFormFields(formFieldsOf(schema)).text;
    expect(inputs).toMatch(/name="field:amountCents"\s+data-kind="integer"/);
    expect(inputs).toContain('<option>sepa</option>');
    expect(inputs).toMatch(/name="field:lines"\s+data-kind="json"/);
  });
});

describe('offline', () => {
  it('refers to no other host from any page or asset', () => {
    const rendered = [
      page({ title: 'x' }, instancesPage(['orderFulfillment'], {}, [], null)),
      STYLESHEET,
      SCRIPT,
    ].join('\n');
    expect(rendered).not.toMatch(/https?:\/\//);
    expect(rendered).not.toMatch(/(src|href)="\/\//);
    expect(rendered).not.toMatch(/@import|url\((?!#)/);
  });
});
