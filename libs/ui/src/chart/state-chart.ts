import { toDirectedGraph } from '@xstate/graph';
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api';
import type { AnyStateMachine } from 'xstate';
import { html, SafeHtml } from '../html';

type DirectedNode = ReturnType<typeof toDirectedGraph>;

/** One state of a laid-out chart, in absolute coordinates. */
export interface ChartNode {
  /** The state node's id, e.g. `orderFulfillment.awaitingPayment`. */
  readonly id: string;
  /** Its key within its parent (what a state value names). */
  readonly key: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** `compound`, `parallel`, `final` or `atomic`. */
  readonly kind: string;
  /** Whether it is a region of a parallel state. */
  readonly region: boolean;
  readonly depth: number;
}

/** One transition of a laid-out chart: its event and its route as points. */
export interface ChartEdge {
  readonly source: string;
  readonly target: string;
  readonly event: string;
  readonly points: readonly { x: number; y: number }[];
  readonly label?: { x: number; y: number };
}

/** A machine laid out by ELK: every state node and transition, and the drawing's size. */
export interface StateChartLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly ChartNode[];
  readonly edges: readonly ChartEdge[];
}

const CHAR_WIDTH = 7.2;
const LEAF_HEIGHT = 34;

function eventLabel(text: string): string {
  if (text.startsWith('xstate.after.')) {
    const delay = text.slice('xstate.after.'.length).split('.')[0]!;
    return /^\d+$/.test(delay) ? `after ${delay} ms` : `after ${delay}`;
  }
  if (text.startsWith('xstate.done.actor.'))
    return `done: ${text.slice('xstate.done.actor.'.length)}`;
  if (text.startsWith('xstate.error.actor.'))
    return `error: ${text.slice('xstate.error.actor.'.length)}`;
  return text;
}

function kindOf(node: DirectedNode): string {
  const type = node.stateNode.type;
  return type === 'parallel' || type === 'final' || type === 'compound' ? type : 'atomic';
}

function toElk(node: DirectedNode, edges: ElkExtendedEdge[]): ElkNode {
  for (const edge of node.edges) {
    const text = eventLabel(edge.label.text);
    edges.push({
      id: `e${edges.length}`,
      sources: [edge.source.id],
      targets: [edge.target.id],
      labels: [{ text, width: text.length * CHAR_WIDTH * 0.9 + 6, height: 14 }],
    });
  }
  const key = node.stateNode.key;
  const children = node.children.map((child) => toElk(child, edges));
  return children.length === 0
    ? { id: node.id, width: Math.max(80, key.length * CHAR_WIDTH + 24), height: LEAF_HEIGHT }
    : {
        id: node.id,
        children,
        layoutOptions: {
          'elk.padding': '[top=30,left=14,bottom=14,right=14]',
          ...(node.stateNode.type === 'parallel' ? { 'elk.direction': 'RIGHT' } : {}),
        },
      };
}

/**
 * Lays `machine` out as a state chart: nodes and transitions from XState's own graph utilities
 * (`toDirectedGraph`), positions from ELK's layered algorithm with compound (nested and
 * parallel) states laid out as one hierarchy, in absolute coordinates. Deterministic for a given
 * machine, so callers cache it per definition version.
 */
export async function layoutStateChart(machine: AnyStateMachine): Promise<StateChartLayout> {
  const graph = toDirectedGraph(machine);
  const edges: ElkExtendedEdge[] = [];
  const root: ElkNode = {
    ...toElk(graph, edges),
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.json.shapeCoords': 'ROOT',
      'elk.json.edgeCoords': 'ROOT',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.spacing.nodeNodeBetweenLayers': '40',
      'elk.spacing.nodeNode': '30',
      'elk.padding': '[top=30,left=14,bottom=14,right=14]',
    },
    edges,
  };
  const laid = await new ELK().layout(root);
  const byId = new Map<string, DirectedNode>();
  const index = (node: DirectedNode) => {
    byId.set(node.id, node);
    node.children.forEach(index);
  };
  index(graph);
  const nodes: ChartNode[] = [];
  const collect = (node: ElkNode, depth: number) => {
    const state = byId.get(node.id)!;
    nodes.push({
      id: node.id,
      key: state.stateNode.key,
      x: node.x ?? 0,
      y: node.y ?? 0,
      width: node.width ?? 0,
      height: node.height ?? 0,
      kind: kindOf(state),
      region: state.stateNode.parent?.type === 'parallel',
      depth,
    });
    for (const child of node.children ?? []) collect(child, depth + 1);
  };
  for (const child of laid.children ?? []) collect(child, 0);
  const chartEdges: ChartEdge[] = (laid.edges ?? []).map((edge) => {
    const section = edge.sections?.[0];
    const label = edge.labels?.[0];
    return {
      source: edge.sources[0]!,
      target: edge.targets[0]!,
      event: label?.text ?? '',
      points: section ? [section.startPoint, ...(section.bendPoints ?? []), section.endPoint] : [],
      ...(label && label.x !== undefined && label.y !== undefined
        ? { label: { x: label.x, y: label.y } }
        : {}),
    };
  });
  return { width: laid.width ?? 0, height: laid.height ?? 0, nodes, edges: chartEdges };
}

/**
 * The state node ids a state value names, ancestors included: `{ shipping: 'packing' }` of
 * machine `m` is `m.shipping` and `m.shipping.packing`; parallel regions give every branch.
 */
export function activeStateIds(machineId: string, value: unknown): string[] {
  const ids: string[] = [];
  const walk = (prefix: string, current: unknown) => {
    if (typeof current === 'string') {
      ids.push(`${prefix}.${current}`);
      return;
    }
    if (current && typeof current === 'object')
      for (const [key, child] of Object.entries(current as Record<string, unknown>)) {
        ids.push(`${prefix}.${key}`);
        walk(`${prefix}.${key}`, child);
      }
  };
  walk(machineId, value);
  return ids;
}

/** How each state is marked when drawn: current, passed through, and instance counts. */
export interface ChartMarks {
  readonly current?: ReadonlySet<string>;
  readonly visited?: ReadonlySet<string>;
  readonly counts?: ReadonlyMap<string, number>;
}

/**
 * The chart as inline SVG (readable without JavaScript): states as rounded boxes (parallel
 * regions dashed, final states doubled), the current states with class `current`, the states
 * passed through with `visited`, and instance counts as badges. Every state carries
 * `data-state="<id>"`.
 */
export function renderStateChart(layout: StateChartLayout, marks: ChartMarks = {}): SafeHtml {
  const nodes = layout.nodes.map((node) => {
    const classes = [
      'state',
      `state-${node.kind}`,
      node.region ? 'state-region' : '',
      marks.current?.has(node.id) ? 'current' : '',
      !marks.current?.has(node.id) && marks.visited?.has(node.id) ? 'visited' : '',
    ]
      .filter(Boolean)
      .join(' ');
    const compound = node.kind === 'compound' || node.kind === 'parallel';
    const count = marks.counts?.get(node.id);
    return html`<g class="${classes}" data-state="${node.id}" data-testid="chart-state">
      <rect x="${node.x}" y="${node.y}" width="${node.width}" height="${node.height}" rx="8"></rect>
      ${node.kind === 'final'
        ? html`<rect
            class="final-ring"
            x="${node.x + 3}"
            y="${node.y + 3}"
            width="${node.width - 6}"
            height="${node.height - 6}"
            rx="6"
          ></rect>`
        : ''}
      <text
        x="${compound ? node.x + 10 : node.x + node.width / 2}"
        y="${compound ? node.y + 18 : node.y + node.height / 2 + 4}"
        text-anchor="${compound ? 'start' : 'middle'}"
        >${node.key}</text
      >
      ${count === undefined
        ? ''
        : html`<g class="count" data-testid="state-count" data-count="${count}"
            ><rect
              x="${node.x + node.width - 30}"
              y="${node.y - 9}"
              width="36"
              height="18"
              rx="9"
            ></rect
            ><text x="${node.x + node.width - 12}" y="${node.y + 4}" text-anchor="middle"
              >${count}</text
            ></g
          >`}
    </g>`;
  });
  const edges = layout.edges.map((edge) => {
    const d = edge.points
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`)
      .join(' ');
    return html`<g class="transition"
      ><path d="${d}" marker-end="url(#arrow)"></path>${edge.label
        ? html`<text x="${edge.label.x}" y="${edge.label.y + 10}">${edge.event}</text>`
        : ''}</g
    >`;
  });
  return html`<svg
    class="state-chart"
    data-testid="state-chart"
    role="img"
    aria-label="state chart"
    viewBox="-8 -12 ${layout.width + 16} ${layout.height + 24}"
    width="${layout.width + 16}"
    height="${layout.height + 24}"
  >
    <defs>
      <marker
        id="arrow"
        viewBox="0 0 10 10"
        refX="9"
        refY="5"
        markerWidth="7"
        markerHeight="7"
        orient="auto-start-reverse"
      >
        <path d="M0,0 L10,5 L0,10 z"></path>
      </marker>
    </defs>
    ${nodes}${edges}
  </svg>`;
}
