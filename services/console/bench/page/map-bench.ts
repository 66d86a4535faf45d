import { specialNode, workloadNode, type MapData, type MapNode } from '../../src/graph-data.js';
import { renderMap, type MapController } from '../../src/map-render.js';

/**
 * The map benchmark's page: a synthetic service map as the API's answer text, timed from the
 * moment the text is in hand (parse, graph, layout, WebGL) until a click on a node has been
 * handled, i.e. until the map answers the user.
 */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `workloads` workloads in 5 clusters of up to 12 namespaces, and `edges` distinct edges, some to the internet and unattributed. */
export function syntheticMap(workloads: number, edges: number, seed = 7): MapData {
  const r = rng(seed);
  const nodes: MapNode[] = [];
  for (let i = 0; i < workloads; i++) nodes.push(workloadNode(`cluster-${i % 5}`, `ns-${Math.floor(i / 5) % 12}`, `workload-${i}`));
  nodes.push(specialNode('internet'), specialNode('unattributed'));
  const seen = new Set<string>();
  const out: MapData['edges'] = [];
  while (out.length < edges) {
    const a = nodes[Math.floor(r() * nodes.length)]!;
    const b = nodes[Math.floor(r() * nodes.length)]!;
    const k = `${a.id}>${b.id}`;
    if (a === b || seen.has(k)) continue;
    seen.add(k);
    out.push({ source: a.id, target: b.id, value: Math.floor(1e3 + r() * r() * 1e9) });
  }
  return { metric: 'bytes', nodes, edges: out };
}

const frame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

let current: MapController | null = null;

async function run(workloads: number, edges: number): Promise<{ ms: number; nodes: number; edges: number; parts: Record<string, number> }> {
  current?.destroy();
  const box = document.getElementById('map')!;
  box.replaceChildren();
  const text = JSON.stringify(syntheticMap(workloads, edges));
  await frame();
  // the data has arrived: from here to a handled click
  const t0 = performance.now();
  const data = JSON.parse(text) as MapData;
  let clicked: () => void = () => undefined;
  const handled = new Promise<void>((resolve) => (clicked = resolve));
  const t1 = performance.now();
  const ctl = renderMap(box, data, { select: (s) => s?.kind === 'node' && clicked() });
  current = ctl;
  const t2 = performance.now();
  await frame();
  const t3 = performance.now();
  // the biggest node, where it is drawn now
  const id = ctl.graph.nodes().sort((a, b) => (ctl.graph.getNodeAttribute(b, 'size') as number) - (ctl.graph.getNodeAttribute(a, 'size') as number))[0]!;
  const d = ctl.sigma.getNodeDisplayData(id)!;
  const p = ctl.sigma.framedGraphToViewport({ x: d.x, y: d.y });
  const target = box.querySelector('canvas.sigma-mouse') ?? box;
  const rect = box.getBoundingClientRect();
  const at = { clientX: rect.left + p.x, clientY: rect.top + p.y, bubbles: true, cancelable: true, button: 0 };
  target.dispatchEvent(new MouseEvent('mousedown', at));
  target.dispatchEvent(new MouseEvent('mouseup', at));
  target.dispatchEvent(new MouseEvent('click', at));
  await handled;
  const t4 = performance.now();
  return { ms: t4 - t0, nodes: ctl.graph.order, edges: ctl.graph.size, parts: { parse: t1 - t0, render: t2 - t1, frame: t3 - t2, click: t4 - t3 } };
}

(window as unknown as { runMap: typeof run }).runMap = run;
document.title = 'ready';
