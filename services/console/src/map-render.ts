import Graph from 'graphology';
import Sigma from 'sigma';
import type { MapData, MapNode } from './graph-data.js';

/**
 * The service map on WebGL (sigma + graphology). Positions come from a grouped layout computed in
 * one pass (clusters apart, namespaces inside them, workloads inside those on a sunflower spiral):
 * no force simulation, so 500 workloads and 5,000 edges are placed in milliseconds and the same
 * data always gives the same picture.
 */
export type Selection = { kind: 'node'; id: string } | { kind: 'edge'; source: string; target: string } | null;

export interface MapController {
  sigma: Sigma;
  graph: Graph;
  select(sel: Selection): void;
  /** highlights the nodes whose label or group matches; returns how many */
  search(q: string): number;
  destroy(): void;
}

const GOLDEN = Math.PI * (3 - Math.sqrt(5));
/** workloads of a namespace apart enough for their labels, namespaces apart by their largest */
const WORKLOAD_SPACING = 1.8;
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
export const SPECIAL_COLORS = { internet: '#222222', unattributed: '#999999' } as const;

export function clusterColor(clusters: string[], c: string | null): string {
  const i = c === null ? -1 : clusters.indexOf(c);
  return i < 0 ? SPECIAL_COLORS.unattributed : PALETTE[i % PALETTE.length]!;
}

function spiral(i: number, spacing: number): [number, number] {
  const r = spacing * Math.sqrt(i + 0.5);
  return [r * Math.cos(i * GOLDEN), r * Math.sin(i * GOLDEN)];
}

/** Positions of every node: x, y in layout units. */
export function layout(nodes: MapNode[]): Map<string, [number, number]> {
  const pos = new Map<string, [number, number]>();
  const byCluster = new Map<string, Map<string, MapNode[]>>();
  for (const n of nodes) {
    if (n.kind !== 'workload') continue;
    const c = byCluster.get(n.cluster!) ?? new Map<string, MapNode[]>();
    byCluster.set(n.cluster!, c);
    const k = n.namespace ?? '';
    c.set(k, [...(c.get(k) ?? []), n]);
  }
  // a namespace's radius grows with the square root of its workloads; namespaces are spread by the largest
  const clusters = [...byCluster.keys()].sort();
  const clusterRadius = new Map<string, number>();
  const local = new Map<string, [number, number]>();
  for (const c of clusters) {
    const spaces = [...byCluster.get(c)!.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
    const nsR = Math.max(...spaces.map(([, ws]) => WORKLOAD_SPACING * Math.sqrt(ws.length + 0.5))) + 1;
    let cr = 0;
    spaces.forEach(([, ws], i) => {
      const [cx, cy] = spaces.length === 1 ? [0, 0] : spiral(i, nsR * 1.15);
      ws.sort((a, b) => a.label.localeCompare(b.label)).forEach((w, j) => {
        const [dx, dy] = spiral(j, WORKLOAD_SPACING);
        local.set(w.id, [cx + dx, cy + dy]);
        cr = Math.max(cr, Math.hypot(cx + dx, cy + dy));
      });
    });
    clusterRadius.set(c, cr + 2);
  }
  // clusters side by side on a ring wide enough for the largest
  const maxR = Math.max(1, ...clusterRadius.values());
  const ring = clusters.length <= 1 ? 0 : Math.max((maxR * 1.2) / Math.sin(Math.PI / clusters.length), maxR * 1.8);
  clusters.forEach((c, i) => {
    const a = (2 * Math.PI * i) / Math.max(1, clusters.length) - Math.PI / 2;
    const [ox, oy] = [ring * Math.cos(a), ring * Math.sin(a)];
    for (const ns of byCluster.get(c)!.values()) for (const w of ns) {
      const [x, y] = local.get(w.id)!;
      pos.set(w.id, [ox + x, oy + y]);
    }
  });
  // the internet and unattributed peers talk to every cluster: in the ring's empty middle, or beside a lone cluster
  const [ix, iy, ux, uy] = clusters.length >= 2 ? [0, 0.3 * ring, 0, -0.3 * ring] : [maxR + 4, 0, -(maxR + 4), 0];
  for (const n of nodes) {
    if (n.kind === 'internet') pos.set(n.id, [ix, iy]);
    else if (n.kind === 'unattributed') pos.set(n.id, [ux, uy]);
  }
  return pos;
}

export function buildGraph(data: MapData): Graph {
  const g = new Graph({ type: 'directed', multi: false, allowSelfLoops: true });
  const clusters = [...new Set(data.nodes.map((n) => n.cluster).filter((c): c is string => c !== null))].sort();
  const pos = layout(data.nodes);
  const total = new Map<string, number>();
  for (const e of data.edges) {
    total.set(e.source, (total.get(e.source) ?? 0) + e.value);
    total.set(e.target, (total.get(e.target) ?? 0) + e.value);
  }
  const maxNode = Math.max(1, ...total.values());
  for (const n of data.nodes) {
    const [x, y] = pos.get(n.id) ?? [0, 0];
    const special = n.kind !== 'workload';
    g.addNode(n.id, {
      x,
      y,
      // the cluster is the colour (legend); the label names namespace/workload
      label: n.label,
      fullLabel: n.kind === 'workload' && n.workload !== null ? `${n.cluster}/${n.label}` : n.label,
      size: (special ? 8 : 3) + 9 * Math.sqrt((total.get(n.id) ?? 0) / maxNode),
      color: special ? SPECIAL_COLORS[n.kind as 'internet' | 'unattributed'] : clusterColor(clusters, n.cluster),
      kind: n.kind,
      cluster: n.cluster,
      namespace: n.namespace,
    });
  }
  const maxEdge = Math.max(1, ...data.edges.map((e) => e.value));
  for (const e of data.edges) {
    if (!g.hasNode(e.source) || !g.hasNode(e.target)) continue;
    g.addDirectedEdge(e.source, e.target, { size: 0.5 + 4.5 * Math.sqrt(e.value / maxEdge), color: '#b8c2cc', value: e.value });
  }
  return g;
}

/** The clusters on the map and their colours, for the legend. */
export function legend(data: MapData): { cluster: string; color: string }[] {
  const clusters = [...new Set(data.nodes.map((n) => n.cluster).filter((c): c is string => c !== null))].sort();
  return clusters.map((c) => ({ cluster: c, color: clusterColor(clusters, c) }));
}

export function renderMap(container: HTMLElement, data: MapData, on: { select(sel: Selection): void }): MapController {
  const graph = buildGraph(data);
  let selected: Selection = null;
  let matches: Set<string> | null = null;
  const sigma = new Sigma(graph, container, {
    renderEdgeLabels: false,
    // arrow heads cost a second WebGL program and are illegible in a dense map: plain lines there
    defaultEdgeType: graph.size > 2000 ? 'line' : 'arrow',
    // edge picking renders every edge a second time; a dense map's edges are chosen from the list and a node's details
    enableEdgeEvents: graph.size <= 2000,
    // every label on a small map; on a large one only the big nodes' (the others on hover)
    labelRenderedSizeThreshold: graph.order <= 60 ? 0 : 9,
    labelDensity: graph.order <= 60 ? 4 : 1,
    zIndex: true,
    nodeReducer: (node, attrs) => {
      const near = selected?.kind === 'node' ? node === selected.id || graph.areNeighbors(node, selected.id) : selected?.kind === 'edge' ? node === selected.source || node === selected.target : true;
      const hit = matches === null || matches.has(node);
      if (near && hit) return selected && (selected.kind === 'node' ? node === selected.id : true) ? { ...attrs, highlighted: true, zIndex: 2 } : attrs;
      return { ...attrs, color: '#e3e7ea', label: '', zIndex: 0 };
    },
    edgeReducer: (edge, attrs) => {
      if (selected === null) return attrs;
      const [s, t] = graph.extremities(edge);
      const on = selected.kind === 'node' ? s === selected.id || t === selected.id : s === selected.source && t === selected.target;
      return on ? { ...attrs, color: '#2a6fdb', zIndex: 2 } : { ...attrs, hidden: selected.kind === 'edge', color: '#eef0f2', zIndex: 0 };
    },
  });
  const select = (sel: Selection) => {
    selected = sel;
    sigma.refresh({ skipIndexation: true });
  };
  sigma.on('clickNode', ({ node }) => {
    select({ kind: 'node', id: node });
    on.select(selected);
  });
  sigma.on('clickEdge', ({ edge }) => {
    const [source, target] = graph.extremities(edge);
    select({ kind: 'edge', source, target });
    on.select(selected);
  });
  sigma.on('clickStage', () => {
    select(null);
    on.select(null);
  });
  return {
    sigma,
    graph,
    select,
    search(q: string) {
      const s = q.trim().toLowerCase();
      matches = s === '' ? null : new Set(graph.filterNodes((n, a) => n.toLowerCase().includes(s) || String(a.fullLabel ?? a.label ?? '').toLowerCase().includes(s)));
      sigma.refresh({ skipIndexation: true });
      return matches === null ? graph.order : matches.size;
    },
    destroy() {
      sigma.kill();
    },
  };
}
